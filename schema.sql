-- Nano Banana Gateway D1 schema, in full, for reading. Databases are built from migrations/: every change is a
-- new numbered migration AND the same change here (test/integration/migrations.test.ts proves they agree).
-- The KeyAccount Durable Object is the source of truth for a key's status; this table
-- is the operator's listing. Keys are never stored, only their SHA-256.

CREATE TABLE IF NOT EXISTS api_keys (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  key_hash    TEXT NOT NULL UNIQUE,
  key_prefix  TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_at  TEXT NOT NULL,
  revoked_at  TEXT
);

CREATE INDEX IF NOT EXISTS api_keys_created ON api_keys (created_at, id);

-- One row per request that reached admission (admitted or refused). Written by each
-- key's KeyAccount through its outbox, so a D1 outage delays rows but loses none;
-- request_id is the primary key, so a retried flush never duplicates a row.
CREATE TABLE IF NOT EXISTS usage (
  request_id        TEXT PRIMARY KEY,
  key_id            TEXT NOT NULL,
  endpoint          TEXT NOT NULL,
  model             TEXT NOT NULL,
  upstream_model    TEXT,
  mode              TEXT NOT NULL,
  n_requested       INTEGER NOT NULL,
  images_delivered  INTEGER NOT NULL DEFAULT 0,
  aspect_ratio      TEXT,
  image_size        TEXT,
  credits_reserved  INTEGER NOT NULL DEFAULT 0,
  credits_charged   INTEGER NOT NULL DEFAULT 0,
  prompt_tokens     INTEGER NOT NULL DEFAULT 0,
  output_tokens     INTEGER NOT NULL DEFAULT 0,
  total_tokens      INTEGER NOT NULL DEFAULT 0,
  upstream_ms       INTEGER,
  total_ms          INTEGER,
  status            INTEGER NOT NULL,
  error_code        TEXT,
  finish_reason     TEXT,
  r2_keys           TEXT NOT NULL DEFAULT '[]',
  created_at        TEXT NOT NULL,
  day               TEXT NOT NULL,
  -- JSON array: the upstream (pool member id) that served each delivered image, in r2_keys order.
  upstreams         TEXT NOT NULL DEFAULT '[]',
  google_cost       REAL NOT NULL DEFAULT 0,
  metered           TEXT NOT NULL DEFAULT '{}',
  -- The request's prompt, its first 1,000 characters (NULL before migration 0007).
  prompt            TEXT
);

CREATE INDEX IF NOT EXISTS usage_key_created ON usage (key_id, created_at, request_id);
CREATE INDEX IF NOT EXISTS usage_created ON usage (created_at);

-- Every change to a key's balance, with the balance after it. SUM(amount) per key
-- equals the key's balance. Kinds: grant, adjustment, reserve, release, charge.
CREATE TABLE IF NOT EXISTS credit_ledger (
  id             TEXT PRIMARY KEY,
  seq            INTEGER NOT NULL,
  key_id         TEXT NOT NULL,
  request_id     TEXT,
  kind           TEXT NOT NULL,
  amount         INTEGER NOT NULL,
  -- May be below zero: a delivered image is charged even after its hold expired (0005).
  balance_after  INTEGER NOT NULL,
  reason         TEXT,
  created_at     TEXT NOT NULL
);

-- The prune finds the oldest hour with rows by created_at (src/storage/archive.ts).
CREATE INDEX IF NOT EXISTS credit_ledger_created ON credit_ledger (created_at);

-- Row-level usage and ledger rows are kept for USAGE_RETENTION_DAYS: the cron trigger exports
-- each closed hour to R2 (NDJSON, gzip), then folds its rows into these rollups and deletes
-- them, one D1 transaction per batch, so rollups + remaining rows always sum to everything.
-- Per key, model, day and error code ('' for none); kept forever.
CREATE TABLE IF NOT EXISTS usage_daily (
  day          TEXT NOT NULL,
  key_id       TEXT NOT NULL,
  model        TEXT NOT NULL,
  error_code   TEXT NOT NULL,
  requests     INTEGER NOT NULL,
  images       INTEGER NOT NULL,
  credits      INTEGER NOT NULL,
  failed       INTEGER NOT NULL,
  google_cost  REAL NOT NULL,
  PRIMARY KEY (key_id, day, model, error_code)
) WITHOUT ROWID;

-- /admin/usage over a range of days for every key (the primary key serves one key's).
CREATE INDEX IF NOT EXISTS usage_daily_day ON usage_daily (day);

-- Per key, day and kind: SUM(amount) over credit_ledger and this table is the key's balance.
CREATE TABLE IF NOT EXISTS credit_ledger_daily (
  key_id   TEXT NOT NULL,
  day      TEXT NOT NULL,
  kind     TEXT NOT NULL,
  entries  INTEGER NOT NULL,
  amount   INTEGER NOT NULL,
  PRIMARY KEY (key_id, day, kind)
) WITHOUT ROWID;

-- The export manifest: one row per R2 object, written once (tbl usage | credit_ledger; hour
-- yyyy-mm-ddThh; part > 0 for rows of an exported hour that arrived late). rows and sha256
-- (of the uncompressed NDJSON) are also the object's customMetadata; pruned_at is set once
-- every row in the object has been folded and deleted.
CREATE TABLE IF NOT EXISTS usage_exports (
  tbl          TEXT NOT NULL,
  hour         TEXT NOT NULL,
  part         INTEGER NOT NULL,
  object_key   TEXT NOT NULL,
  rows         INTEGER NOT NULL,
  sha256       TEXT NOT NULL,
  bytes        INTEGER NOT NULL,
  exported_at  TEXT NOT NULL,
  pruned_at    TEXT,
  PRIMARY KEY (tbl, hour, part)
) WITHOUT ROWID;

-- Conversational editing: the index. Each conversation's turns (whole Gemini contents,
-- thought signatures and images included) live in R2 at conversations/{key_id}/{id}.json.
CREATE TABLE IF NOT EXISTS conversations (
  id          TEXT PRIMARY KEY,
  key_id      TEXT NOT NULL,
  model       TEXT NOT NULL,
  turns       INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS conversations_key ON conversations (key_id, created_at);

-- Async jobs (from `async: true` / `Prefer: respond-async`, and pipeline runs).
-- status: CREATED -> RUNNING -> STORING -> SUCCEEDED | FAILED, or CREATED -> CANCELED.
-- service_tier 'batch': the job waits (CREATED) to be grouped into a Gemini batch
-- (batch_id), is RUNNING while the batch is (batch_state: Gemini's last seen state).
CREATE TABLE IF NOT EXISTS jobs (
  id              TEXT PRIMARY KEY,
  key_id          TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('request', 'pipeline')),
  status          TEXT NOT NULL CHECK (status IN ('CREATED', 'RUNNING', 'STORING', 'SUCCEEDED', 'FAILED', 'CANCELED')),
  spec            TEXT NOT NULL,
  reservation_id  TEXT,
  price           INTEGER NOT NULL DEFAULT 0,
  webhook_url     TEXT,
  attempts        INTEGER NOT NULL DEFAULT 0,
  lease_until     INTEGER,
  result          TEXT,
  error           TEXT,
  credits_charged INTEGER NOT NULL DEFAULT 0,
  pipeline_run_id TEXT,
  webhook_status  TEXT,
  created_at      TEXT NOT NULL,
  started_at      TEXT,
  storing_at      TEXT,
  finished_at     TEXT,
  updated_at      TEXT NOT NULL,
  service_tier    TEXT NOT NULL DEFAULT 'standard',
  batch_id        TEXT,
  batch_state     TEXT
);

CREATE INDEX IF NOT EXISTS jobs_key ON jobs (key_id, created_at, id);
CREATE INDEX IF NOT EXISTS jobs_batch_waiting ON jobs (service_tier, status, batch_id, created_at);
CREATE INDEX IF NOT EXISTS jobs_batch ON jobs (batch_id);

-- Content pipelines: a schedule (5-field cron, in the pipeline's IANA time zone) and a prompt template.
CREATE TABLE IF NOT EXISTS pipelines (
  id               TEXT PRIMARY KEY,
  key_id           TEXT NOT NULL,
  name             TEXT NOT NULL,
  schedule         TEXT NOT NULL,
  prompt_template  TEXT NOT NULL,
  variables        TEXT NOT NULL DEFAULT '{}',
  model            TEXT NOT NULL,
  aspect_ratio     TEXT,
  image_size       TEXT,
  n                INTEGER NOT NULL DEFAULT 1,
  reference_images TEXT NOT NULL DEFAULT '[]',
  output_prefix    TEXT,
  webhook_url      TEXT,
  origin           TEXT NOT NULL,
  enabled          INTEGER NOT NULL DEFAULT 1,
  runs             INTEGER NOT NULL DEFAULT 0,
  next_run_at      TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  service_tier     TEXT NOT NULL DEFAULT 'standard',
  timezone         TEXT NOT NULL DEFAULT 'UTC'
);

CREATE INDEX IF NOT EXISTS pipelines_due ON pipelines (enabled, next_run_at);
CREATE INDEX IF NOT EXISTS pipelines_key ON pipelines (key_id, created_at);

-- One row per pipeline slot; UNIQUE (pipeline_id, slot) makes a slot run at most once.
CREATE TABLE IF NOT EXISTS pipeline_runs (
  id              TEXT PRIMARY KEY,
  pipeline_id     TEXT NOT NULL,
  key_id          TEXT NOT NULL,
  slot            TEXT NOT NULL,
  sequence        INTEGER NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'skipped')),
  prompt          TEXT NOT NULL,
  job_id          TEXT,
  images          TEXT NOT NULL DEFAULT '[]',
  credits_charged INTEGER NOT NULL DEFAULT 0,
  reason          TEXT,
  created_at      TEXT NOT NULL,
  finished_at     TEXT,
  UNIQUE (pipeline_id, slot)
);

CREATE INDEX IF NOT EXISTS pipeline_runs_pipeline ON pipeline_runs (pipeline_id, slot);

-- What is known about each upstream model id, per upstream endpoint: seen in Gemini's
-- models.list (discovery, at most hourly), missing from it, or answering 404 NOT_FOUND.
-- A row with gone_at set sends requests straight to the id's successor.
CREATE TABLE IF NOT EXISTS upstream_models (
  upstream       TEXT NOT NULL,
  model          TEXT NOT NULL,
  listed         INTEGER,
  display_name   TEXT,
  gone_at        TEXT,
  gone_reason    TEXT,
  first_seen_at  TEXT,
  last_seen_at   TEXT,
  checked_at     TEXT,
  PRIMARY KEY (upstream, model)
);

-- The last discovery run per upstream endpoint.
CREATE TABLE IF NOT EXISTS catalog_checks (
  upstream    TEXT PRIMARY KEY,
  checked_at  TEXT NOT NULL,
  ok          INTEGER NOT NULL,
  models      INTEGER NOT NULL DEFAULT 0,
  error       TEXT
);

-- Gemini batches of the Batch lane: one per model and window, holding the inline requests
-- of its jobs (each request keyed `{jobId}:{i}`). state: SUBMITTING, then Gemini's
-- BATCH_STATE_*; settled = 1 once every job in it is settled.
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
  updated_at      TEXT NOT NULL,
  -- The upstream (pool member id) that accepted the batch: polls and cancels go there.
  upstream        TEXT
);

CREATE INDEX IF NOT EXISTS batches_open ON batches (settled, next_poll_at);
