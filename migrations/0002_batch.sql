-- The Batch lane: async jobs and pipelines may run through Gemini's Batch API at the
-- batch price. Jobs remember their tier and their batch; batches are a new table.
ALTER TABLE jobs ADD COLUMN service_tier TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE jobs ADD COLUMN batch_id TEXT;
ALTER TABLE jobs ADD COLUMN batch_state TEXT;
CREATE INDEX IF NOT EXISTS jobs_batch_waiting ON jobs (service_tier, status, batch_id, created_at);
CREATE INDEX IF NOT EXISTS jobs_batch ON jobs (batch_id);

ALTER TABLE pipelines ADD COLUMN service_tier TEXT NOT NULL DEFAULT 'standard';

CREATE TABLE IF NOT EXISTS batches (
  id              TEXT PRIMARY KEY,
  model           TEXT NOT NULL,
  upstream_model  TEXT,
  upstream_name   TEXT,
  state           TEXT NOT NULL,
  settled         INTEGER NOT NULL DEFAULT 0,
  jobs            INTEGER NOT NULL DEFAULT 0,
  requests        INTEGER NOT NULL DEFAULT 0,
  bytes           INTEGER NOT NULL DEFAULT 0,
  polls           INTEGER NOT NULL DEFAULT 0,
  lease_until     INTEGER,
  next_poll_at    TEXT,
  error           TEXT,
  created_at      TEXT NOT NULL,
  submitted_at    TEXT,
  finished_at     TEXT,
  updated_at      TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS batches_open ON batches (settled, next_poll_at);
