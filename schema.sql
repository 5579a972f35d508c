-- Nano Banana Gateway D1 schema. Idempotent: `npm run dev` and the tests apply it as is.
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
