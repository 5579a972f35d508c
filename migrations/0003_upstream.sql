-- The upstream pool: which upstream (pool member id) served each delivered image of a
-- request, as a JSON array in r2_keys order; `/admin/usage` groups by it. A batch is
-- polled and canceled at the upstream that accepted it (batch names belong to a project).
ALTER TABLE usage ADD COLUMN upstreams TEXT NOT NULL DEFAULT '[]';
ALTER TABLE batches ADD COLUMN upstream TEXT;
