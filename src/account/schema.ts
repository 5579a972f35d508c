/**
 * KeyAccount's SQLite schema as numbered migrations; each entry runs once, in order,
 * inside one transaction. Never edit a shipped entry: append a new one.
 */
export const MIGRATIONS: readonly (readonly string[])[] = [
	[
		`CREATE TABLE account (
			singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
			key_id TEXT NOT NULL,
			name TEXT NOT NULL,
			status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
			created_at TEXT NOT NULL,
			revoked_at TEXT
		)`,
	],
	[
		"ALTER TABLE account ADD COLUMN balance INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0)",
		"ALTER TABLE account ADD COLUMN limits TEXT NOT NULL DEFAULT '{}'",
		// Open reservations: worst-case credits held for an in-flight request.
		`CREATE TABLE reservations (
			id TEXT PRIMARY KEY,
			request_id TEXT NOT NULL,
			credits INTEGER NOT NULL,
			images INTEGER NOT NULL,
			day TEXT NOT NULL,
			month TEXT NOT NULL,
			usage TEXT NOT NULL,
			idem_key TEXT,
			created_at INTEGER NOT NULL,
			expires_at INTEGER NOT NULL
		)`,
		"CREATE INDEX reservations_expiry ON reservations (expires_at)",
		// Admitted requests of the last minute (sliding-window log for requests_per_minute).
		"CREATE TABLE request_log (at INTEGER NOT NULL)",
		"CREATE INDEX request_log_at ON request_log (at)",
		// Per-period totals: 'd:2026-11-22' and 'm:2026-11'.
		`CREATE TABLE counters (
			period TEXT PRIMARY KEY,
			requests INTEGER NOT NULL DEFAULT 0,
			images INTEGER NOT NULL DEFAULT 0,
			credits INTEGER NOT NULL DEFAULT 0
		)`,
		`CREATE TABLE idempotency (
			key TEXT PRIMARY KEY,
			body_hash TEXT NOT NULL,
			state TEXT NOT NULL CHECK (state IN ('running', 'done')),
			response TEXT,
			expires_at INTEGER NOT NULL
		)`,
		// Usage and ledger rows waiting for D1.
		`CREATE TABLE outbox (
			seq INTEGER PRIMARY KEY AUTOINCREMENT,
			kind TEXT NOT NULL CHECK (kind IN ('usage', 'ledger')),
			payload TEXT NOT NULL,
			created_at INTEGER NOT NULL
		)`,
	],
	[
		// requests_per_minute from per-second buckets: O(60) per admission instead of a
		// scan of every request in the last minute.
		"DROP TABLE request_log",
		"CREATE TABLE rate_buckets (second INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
	],
	[
		// Settled or released holds, so settling twice (a redelivered queue message) never
		// charges twice: the second settle returns the first one's result.
		"CREATE TABLE closed_reservations (id TEXT PRIMARY KEY, charged INTEGER NOT NULL, balance INTEGER NOT NULL, at INTEGER NOT NULL)",
		// Standard Webhooks signing secret for this key (whsec_ + base64).
		"ALTER TABLE account ADD COLUMN webhook_secret TEXT",
	],
	[
		// Fewer statements per call: the current periods' counters and the per-minute window
		// live in one JSON column of the account row, saved with the balance; a settled hold
		// is closed in its own row. The old tables' contents move over once.
		"ALTER TABLE account ADD COLUMN state TEXT NOT NULL DEFAULT '{}'",
		`UPDATE account SET state = json_object(
			'periods', json((SELECT COALESCE(json_group_object(period, json_object('requests', requests, 'images', images, 'credits', credits)), '{}') FROM counters)),
			'buckets', json((SELECT COALESCE(json_group_object(CAST(second AS TEXT), n), '{}') FROM rate_buckets)))`,
		"ALTER TABLE reservations ADD COLUMN closed_at INTEGER",
		"ALTER TABLE reservations ADD COLUMN charged INTEGER",
		"ALTER TABLE reservations ADD COLUMN balance_after INTEGER",
		`INSERT INTO reservations (id, request_id, credits, images, day, month, usage, idem_key, created_at, expires_at, closed_at, charged, balance_after)
		 SELECT id, '', 0, 0, '', '', '{}', NULL, at, at, at, charged, balance FROM closed_reservations`,
		"CREATE INDEX reservations_closed ON reservations (closed_at)",
		"DROP TABLE closed_reservations",
		"DROP TABLE counters",
		"DROP TABLE rate_buckets",
	],
	[
		// Fewer pages per commit: every index on reservations is written by each admission and
		// each settlement. Open holds live in memory (loaded once, through this partial index,
		// which holds only open rows); closed ones are found by id and pruned oldest-first by
		// rowid, so neither needs an index of its own.
		"DROP INDEX reservations_expiry",
		"DROP INDEX reservations_closed",
		"CREATE INDEX reservations_open ON reservations (expires_at) WHERE closed_at IS NULL",
	],
	[
		// The holds table is the journal: an admission is one INSERT, a settlement one UPDATE of
		// the same row (the row id is the primary key, so no index is written), and the ledger
		// and usage rows they imply are derived from it at the next checkpoint (store.ts). Old
		// holds keep their ids as tokens and count as checkpointed (their reserve rows are
		// already queued; settle_seq 0 for closed ones). The account's balance becomes the
		// checkpoint's, which does not take open holds off; ledger seqs continue the outbox's.
		`CREATE TABLE holds (
			id INTEGER PRIMARY KEY,
			token TEXT NOT NULL,
			credits INTEGER NOT NULL,
			images INTEGER NOT NULL,
			usage TEXT NOT NULL,
			idem_key TEXT,
			created_at INTEGER NOT NULL,
			expires_at INTEGER NOT NULL,
			reserve_seq INTEGER,
			reserve_balance INTEGER,
			closed_at INTEGER,
			settle_seq INTEGER,
			charged INTEGER,
			balance_after INTEGER,
			outcome TEXT
		)`,
		`INSERT INTO holds (token, credits, images, usage, idem_key, created_at, expires_at, closed_at, settle_seq, charged, balance_after)
		 SELECT id, credits, images, usage, idem_key, created_at, expires_at, closed_at, CASE WHEN closed_at IS NULL THEN NULL ELSE 0 END, charged, balance_after
		 FROM reservations ORDER BY rowid`,
		`UPDATE account SET
			balance = balance + (SELECT COALESCE(SUM(credits), 0) FROM holds WHERE closed_at IS NULL),
			state = json_set(state, '$.cp', json_object(
				'rowid', (SELECT COALESCE(MAX(id), 0) FROM holds),
				'seq', COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0),
				'open', json((SELECT json_group_array(id) FROM holds WHERE closed_at IS NULL))))`,
		"DROP TABLE reservations",
	],
	[
		// Per-key spend controls (allowed models, sizes and features, spend caps, low-balance
		// webhook) as one JSON column: read with the row, written only by the operator.
		"ALTER TABLE account ADD COLUMN controls TEXT NOT NULL DEFAULT '{}'",
		// Key events (key.balance_low) waiting to be handed to the queue that delivers them:
		// written in the settlement that causes them, so none is lost to a restart.
		"CREATE TABLE events (id TEXT PRIMARY KEY, payload TEXT NOT NULL, created_at INTEGER NOT NULL)",
	],
	[
		// A delivered image is charged even when its hold expired first (KeyAccount.settle), which
		// can take the balance below zero (admissions refuse until grants pay it back). SQLite
		// cannot drop a column's CHECK, so the row moves to a table without `balance >= 0`.
		`CREATE TABLE account_next (
			singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
			key_id TEXT NOT NULL,
			name TEXT NOT NULL,
			status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
			created_at TEXT NOT NULL,
			revoked_at TEXT,
			balance INTEGER NOT NULL DEFAULT 0,
			limits TEXT NOT NULL DEFAULT '{}',
			webhook_secret TEXT,
			state TEXT NOT NULL DEFAULT '{}',
			controls TEXT NOT NULL DEFAULT '{}'
		)`,
		`INSERT INTO account_next (singleton, key_id, name, status, created_at, revoked_at, balance, limits, webhook_secret, state, controls)
		 SELECT singleton, key_id, name, status, created_at, revoked_at, balance, limits, webhook_secret, state, controls FROM account`,
		"DROP TABLE account",
		"ALTER TABLE account_next RENAME TO account",
	],
];
