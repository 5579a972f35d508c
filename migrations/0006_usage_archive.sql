-- Usage and ledger at scale (issue 29). Row-level usage and ledger rows are kept for
-- USAGE_RETENTION_DAYS; the cron trigger exports each closed hour to R2 (NDJSON, gzip) and
-- then folds its rows into the daily rollups below and deletes them, one D1 transaction per
-- batch, so rollups + remaining rows always sum to everything ever written
-- (src/storage/archive.ts).

-- Per key, model, day and error code ('' for none): what the pruned usage rows held. Kept
-- forever. /v1/usage and /admin/usage totals read it beside the remaining rows.
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

-- Per key, day and kind: what the pruned ledger rows held, so SUM(amount) per key over
-- credit_ledger and this table still equals the key's balance.
CREATE TABLE IF NOT EXISTS credit_ledger_daily (
  key_id   TEXT NOT NULL,
  day      TEXT NOT NULL,
  kind     TEXT NOT NULL,
  entries  INTEGER NOT NULL,
  amount   INTEGER NOT NULL,
  PRIMARY KEY (key_id, day, kind)
) WITHOUT ROWID;

-- The manifest: one row per R2 export object, written once (tbl: usage | credit_ledger;
-- hour: yyyy-mm-ddThh; part 0, or more when rows of an exported hour arrived late).
-- rows and sha256 (of the uncompressed NDJSON) are also in the object's customMetadata.
-- pruned_at is set once every row of the object has been folded and deleted.
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

-- The prune finds the oldest hour with rows by created_at; nothing reads the ledger by key
-- and seq (the KeyAccount's journal answers balances), so that index goes.
DROP INDEX IF EXISTS credit_ledger_key;
CREATE INDEX IF NOT EXISTS credit_ledger_created ON credit_ledger (created_at);
