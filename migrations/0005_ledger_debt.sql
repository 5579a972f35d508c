-- A delivered image is charged even when its hold expired first (issue 25), which can take a
-- key's balance below zero until grants pay it back: a ledger row's balance_after may be
-- negative. SQLite cannot drop a column's CHECK, so the table is rebuilt, rows and index kept.
CREATE TABLE credit_ledger_next (
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
INSERT INTO credit_ledger_next (id, seq, key_id, request_id, kind, amount, balance_after, reason, created_at)
  SELECT id, seq, key_id, request_id, kind, amount, balance_after, reason, created_at FROM credit_ledger;
DROP TABLE credit_ledger;
ALTER TABLE credit_ledger_next RENAME TO credit_ledger;
CREATE INDEX IF NOT EXISTS credit_ledger_key ON credit_ledger (key_id, seq);
