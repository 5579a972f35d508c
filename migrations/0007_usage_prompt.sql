-- The prompt of each request (its first 1,000 characters), so a key's gallery can show what
-- each image was asked for (issue 28). Rows written before this have NULL. Pruned with the
-- rest of the row after USAGE_RETENTION_DAYS (the exported NDJSON keeps it).
ALTER TABLE usage ADD COLUMN prompt TEXT;
