/**
 * KeyAccount: one Durable Object per API key, addressed by sha256(key). The source of
 * truth for the key's status, credit balance, limits, open reservations, idempotency
 * records and the outbox of usage/ledger rows bound for D1.
 *
 * Exactness comes from the runtime: a DO runs one call at a time, and every public
 * method below checks and writes without an `await` in between, inside one
 * `transactionSync`, so N concurrent admissions can never overspend. Native RPC: these
 * public methods are the whole surface; expected failures are tagged results.
 */
import { DurableObject } from "cloudflare:workers";
import { applyPatch, defaultLimits, type LimitName, type LimitOverrides, type Limits, type LimitsPatch } from "../billing/limits";
import { flushOutbox } from "./outbox";
import {
	type AccountView,
	type AdmitResult,
	emptyOutcome,
	type LedgerKind,
	type LedgerRow,
	type PeriodUsage,
	type StoredResponse,
	type UsageDraft,
	type UsageOutcome,
	type UsageRow,
} from "./records";
import { MIGRATIONS } from "./schema";

const IDEMPOTENCY_TTL = 24 * 60 * 60_000;
/** How soon after a write the outbox is flushed (batches bursts into one D1 call). */
const FLUSH_DELAY = 250;

interface AccountRow extends Record<string, SqlStorageValue> {
	key_id: string;
	name: string;
	status: string;
	created_at: string;
	revoked_at: string | null;
	balance: number;
	limits: string;
}

interface ReservationRow extends Record<string, SqlStorageValue> {
	id: string;
	request_id: string;
	credits: number;
	images: number;
	day: string;
	month: string;
	usage: string;
	idem_key: string | null;
	expires_at: number;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const monthOf = (ms: number) => new Date(ms).toISOString().slice(0, 7);

function secondsUntilNextDay(now: number): number {
	const d = new Date(now);
	return Math.ceil((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - now) / 1000);
}

function secondsUntilNextMonth(now: number): number {
	const d = new Date(now);
	return Math.ceil((Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - now) / 1000);
}

export class KeyAccount extends DurableObject<Env> {
	private readonly sql: SqlStorage;
	/** Time of the scheduled alarm as far as this instance knows (null: none). */
	private alarmAt: number | null = null;
	private flushFailures = 0;
	private flushing: Promise<{ flushed: number; pending: number }> | null = null;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql = ctx.storage.sql;
		ctx.blockConcurrencyWhile(async () => {
			this.migrate();
			this.alarmAt = await ctx.storage.getAlarm();
		});
	}

	private migrate(): void {
		this.sql.exec("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
		const done = this.sql.exec<{ v: number | null }>("SELECT MAX(version) AS v FROM _migrations").one().v ?? 0;
		for (let v = done; v < MIGRATIONS.length; v++) {
			this.ctx.storage.transactionSync(() => {
				for (const stmt of MIGRATIONS[v]) this.sql.exec(stmt);
				this.sql.exec("INSERT INTO _migrations (version, applied_at) VALUES (?, ?)", v + 1, new Date().toISOString());
			});
		}
	}

	// ---- reads -------------------------------------------------------------------------

	private row(): AccountRow | undefined {
		return this.sql.exec<AccountRow>("SELECT * FROM account").toArray()[0];
	}

	private overrides(r: AccountRow): LimitOverrides {
		return JSON.parse(r.limits) as LimitOverrides;
	}

	private limits(r: AccountRow): Limits {
		return { ...defaultLimits(this.env.DEFAULT_LIMITS), ...this.overrides(r) };
	}

	private period(period: string): PeriodUsage {
		const c = this.sql
			.exec<{ requests: number; images: number; credits: number }>(
				"SELECT requests, images, credits FROM counters WHERE period = ?",
				period,
			)
			.toArray()[0];
		return c ? { requests: c.requests, images: c.images, credits: c.credits } : { requests: 0, images: 0, credits: 0 };
	}

	private heldImages(column: "day" | "month", value: string): number {
		return this.sql.exec<{ n: number }>(`SELECT COALESCE(SUM(images), 0) AS n FROM reservations WHERE ${column} = ?`, value).one().n;
	}

	private view(r: AccountRow, now = Date.now()): AccountView {
		return {
			keyId: r.key_id,
			name: r.name,
			status: r.status as "active" | "revoked",
			createdAt: r.created_at,
			revokedAt: r.revoked_at,
			credits: r.balance,
			reservedCredits: this.sql.exec<{ n: number }>("SELECT COALESCE(SUM(credits), 0) AS n FROM reservations").one().n,
			limits: this.limits(r),
			limitOverrides: this.overrides(r),
			usage: { today: this.period(`d:${dayOf(now)}`), this_month: this.period(`m:${monthOf(now)}`) },
		};
	}

	// ---- writes that feed D1 -------------------------------------------------------------

	private enqueue(kind: "usage" | "ledger", payload: UsageRow | LedgerRow): void {
		this.sql.exec("INSERT INTO outbox (kind, payload, created_at) VALUES (?, ?, ?)", kind, JSON.stringify(payload), Date.now());
	}

	/** Changes the balance and writes the ledger row; call inside a transaction. */
	private move(r: AccountRow, kind: LedgerKind, amount: number, requestId: string | null, reason: string | null): number {
		const after = this.sql.exec<{ balance: number }>("UPDATE account SET balance = balance + ? RETURNING balance", amount).one().balance;
		this.enqueue("ledger", {
			id: `led_${crypto.randomUUID().replaceAll("-", "")}`,
			key_id: r.key_id,
			request_id: requestId,
			kind,
			amount,
			balance_after: after,
			reason,
			created_at: new Date().toISOString(),
		});
		return after;
	}

	private usageRow(keyId: string, draft: UsageDraft, reserved: number, charged: number, o: UsageOutcome, now: number): UsageRow {
		return {
			request_id: draft.requestId,
			key_id: keyId,
			endpoint: draft.endpoint,
			model: draft.model,
			mode: draft.mode,
			n_requested: draft.n,
			images_delivered: o.imagesDelivered,
			aspect_ratio: draft.aspectRatio,
			image_size: draft.imageSize,
			credits_reserved: reserved,
			credits_charged: charged,
			prompt_tokens: o.promptTokens,
			output_tokens: o.outputTokens,
			total_tokens: o.totalTokens,
			upstream_ms: o.upstreamMs,
			total_ms: now - draft.startedAt,
			status: o.status,
			error_code: o.errorCode,
			finish_reason: o.finishReason,
			r2_keys: JSON.stringify(o.r2Keys),
			created_at: new Date(draft.startedAt).toISOString(),
			day: dayOf(draft.startedAt),
		};
	}

	private bump(period: string, requests: number, images: number, credits: number): void {
		this.sql.exec(
			`INSERT INTO counters (period, requests, images, credits) VALUES (?, ?, ?, ?)
			 ON CONFLICT (period) DO UPDATE SET requests = requests + excluded.requests, images = images + excluded.images, credits = credits + excluded.credits`,
			period,
			requests,
			images,
			credits,
		);
	}

	private async ensureAlarm(at: number): Promise<void> {
		if (this.alarmAt !== null && this.alarmAt <= at) return;
		this.alarmAt = at;
		await this.ctx.storage.setAlarm(at);
	}

	// ---- RPC: lifecycle ------------------------------------------------------------------

	/** Sets the account up for a freshly issued key. Refuses to overwrite an existing one. */
	async create(input: {
		keyId: string;
		name: string;
		createdAt: string;
		credits?: number;
		limits?: LimitsPatch;
	}): Promise<{ ok: true } | { ok: false; reason: "exists" }> {
		if (this.row()) return { ok: false, reason: "exists" };
		this.ctx.storage.transactionSync(() => {
			this.sql.exec(
				"INSERT INTO account (singleton, key_id, name, status, created_at, limits) VALUES (1, ?, ?, 'active', ?, ?)",
				input.keyId,
				input.name,
				input.createdAt,
				JSON.stringify(applyPatch({}, input.limits ?? {})),
			);
			const r = this.row() as AccountRow;
			if (input.credits) this.move(r, "grant", input.credits, null, "initial grant");
		});
		if (input.credits) await this.ensureAlarm(Date.now() + FLUSH_DELAY);
		return { ok: true };
	}

	/** Is this key allowed to make a request right now? */
	async authorize(): Promise<{ ok: true; keyId: string; name: string } | { ok: false; reason: "unknown_key" | "key_revoked" }> {
		const r = this.row();
		if (!r) return { ok: false, reason: "unknown_key" };
		if (r.status !== "active") return { ok: false, reason: "key_revoked" };
		return { ok: true, keyId: r.key_id, name: r.name };
	}

	async describe(): Promise<AccountView | null> {
		const r = this.row();
		return r ? this.view(r) : null;
	}

	/** Revokes the key; every later call refuses it. Idempotent. */
	async revoke(): Promise<AccountView | null> {
		return this.update({ status: "revoked" });
	}

	/** Changes name, status and/or limit overrides. */
	async update(patch: { name?: string; status?: "active" | "revoked"; limits?: LimitsPatch }): Promise<AccountView | null> {
		const r = this.row();
		if (!r) return null;
		if (patch.name !== undefined) this.sql.exec("UPDATE account SET name = ?", patch.name);
		if (patch.status === "revoked")
			this.sql.exec("UPDATE account SET status = 'revoked', revoked_at = COALESCE(revoked_at, ?)", new Date().toISOString());
		if (patch.status === "active") this.sql.exec("UPDATE account SET status = 'active', revoked_at = NULL");
		if (patch.limits) this.sql.exec("UPDATE account SET limits = ?", JSON.stringify(applyPatch(this.overrides(r), patch.limits)));
		return this.describe();
	}

	/**
	 * Grants (amount > 0) or adjusts (either sign) the balance, with a ledger row.
	 * Refused when it would take the balance below zero.
	 */
	async adjustCredits(
		amount: number,
		reason: string,
		kind: "grant" | "adjustment",
	): Promise<{ ok: true; balance: number } | { ok: false; reason: "unknown_key" | "would_go_negative"; balance: number }> {
		const r = this.row();
		if (!r) return { ok: false, reason: "unknown_key", balance: 0 };
		if (r.balance + amount < 0) return { ok: false, reason: "would_go_negative", balance: r.balance };
		const balance = this.ctx.storage.transactionSync(() => this.move(r, kind, amount, null, reason));
		await this.ensureAlarm(Date.now() + FLUSH_DELAY);
		return { ok: true, balance };
	}

	// ---- RPC: the request path -----------------------------------------------------------

	/**
	 * Admission, atomically: key active, idempotency, requests per minute, concurrency,
	 * daily and monthly image quotas, then credits. Admitted: the worst case is held
	 * (balance debited, ledger `reserve`). Refused: nothing is held; a usage row records it.
	 */
	async admit(input: {
		draft: UsageDraft;
		credits: number;
		images: number;
		ttlMs: number;
		idempotency?: { key: string; bodyHash: string };
	}): Promise<AdmitResult> {
		const now = Date.now();
		const r = this.row();
		if (!r) return { ok: false, reason: "unknown_key" };
		if (r.status !== "active") return { ok: false, reason: "key_revoked" };
		this.releaseExpired(now);

		const idem = input.idempotency;
		if (idem) {
			const rec = this.sql
				.exec<{ body_hash: string; state: string; response: string | null }>(
					"SELECT body_hash, state, response FROM idempotency WHERE key = ? AND expires_at > ?",
					idem.key,
					now,
				)
				.toArray()[0];
			if (rec) {
				if (rec.body_hash !== idem.bodyHash) return { ok: false, reason: "idempotency_mismatch" };
				if (rec.state === "running" || !rec.response) return { ok: false, reason: "idempotency_in_flight" };
				return { ok: false, reason: "replay", response: JSON.parse(rec.response) as StoredResponse };
			}
		}

		const limits = this.limits(r);
		const refuse = (limit: LimitName, retryAfterSeconds: number, status: 402 | 429, code: string): AdmitResult => {
			this.recordRefusal(r, input.draft, status, code, now);
			return { ok: false, reason: "rate_limited", limit, value: limits[limit], retryAfterSeconds: Math.max(1, retryAfterSeconds) };
		};

		const second = Math.floor(now / 1000);
		this.sql.exec("DELETE FROM rate_buckets WHERE second <= ?", second - 60);
		const recent = this.sql
			.exec<{ n: number; oldest: number | null }>("SELECT COALESCE(SUM(n), 0) AS n, MIN(second) AS oldest FROM rate_buckets")
			.one();
		if (recent.n >= limits.requests_per_minute) {
			return refuse("requests_per_minute", (recent.oldest ?? second) + 60 - second, 429, "rate_limit_exceeded");
		}
		const open = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM reservations").one().n;
		if (open >= limits.concurrent_requests) return refuse("concurrent_requests", 1, 429, "rate_limit_exceeded");
		const day = dayOf(now);
		const month = monthOf(now);
		if (this.period(`d:${day}`).images + this.heldImages("day", day) + input.images > limits.images_per_day) {
			return refuse("images_per_day", secondsUntilNextDay(now), 429, "rate_limit_exceeded");
		}
		if (this.period(`m:${month}`).images + this.heldImages("month", month) + input.images > limits.images_per_month) {
			return refuse("images_per_month", secondsUntilNextMonth(now), 429, "rate_limit_exceeded");
		}
		if (r.balance < input.credits) {
			this.recordRefusal(r, input.draft, 402, "insufficient_credits", now);
			return { ok: false, reason: "insufficient_credits", balance: r.balance, required: input.credits };
		}

		const reservationId = `res_${crypto.randomUUID().replaceAll("-", "")}`;
		const expiresAt = now + input.ttlMs;
		const balance = this.ctx.storage.transactionSync(() => {
			const after = this.move(r, "reserve", -input.credits, input.draft.requestId, null);
			this.sql.exec(
				"INSERT INTO reservations (id, request_id, credits, images, day, month, usage, idem_key, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
				reservationId,
				input.draft.requestId,
				input.credits,
				input.images,
				day,
				month,
				JSON.stringify(input.draft),
				idem?.key ?? null,
				now,
				expiresAt,
			);
			this.sql.exec("INSERT INTO rate_buckets (second, n) VALUES (?, 1) ON CONFLICT (second) DO UPDATE SET n = n + 1", second);
			this.bump(`d:${day}`, 1, 0, 0);
			this.bump(`m:${month}`, 1, 0, 0);
			if (idem) {
				this.sql.exec(
					"INSERT OR REPLACE INTO idempotency (key, body_hash, state, response, expires_at) VALUES (?, ?, 'running', NULL, ?)",
					idem.key,
					idem.bodyHash,
					now + IDEMPOTENCY_TTL,
				);
			}
			return after;
		});
		await this.ensureAlarm(Math.min(now + FLUSH_DELAY, expiresAt));
		return {
			ok: true,
			reservationId,
			balance,
			rateLimit: { limit: limits.requests_per_minute, remaining: Math.max(0, limits.requests_per_minute - recent.n - 1), resetSeconds: 60 },
		};
	}

	private recordRefusal(r: AccountRow, draft: UsageDraft, status: number, code: string, now: number): void {
		this.enqueue("usage", this.usageRow(r.key_id, draft, 0, 0, emptyOutcome(status, code), now));
		this.ctx.waitUntil(this.ensureAlarm(now + FLUSH_DELAY));
	}

	/**
	 * Settlement: releases the hold, charges `delivered x price` (never more than was
	 * held), writes the usage row, and stores or forgets the idempotent response.
	 * Idempotent per reservation: settling a hold that is already closed returns the
	 * first result and charges nothing more. A hold the alarm already released (the
	 * request outlived its expiry) is not charged: nothing may be taken without a hold.
	 */
	async settle(input: {
		reservationId: string;
		pricePerImage: number;
		outcome: UsageOutcome;
		response?: StoredResponse | null;
	}): Promise<{ charged: number; balance: number }> {
		const now = Date.now();
		const r = this.row();
		if (!r) return { charged: 0, balance: 0 };
		const closed = this.sql
			.exec<{ charged: number; balance: number }>("SELECT charged, balance FROM closed_reservations WHERE id = ?", input.reservationId)
			.toArray()[0];
		if (closed) return { charged: closed.charged, balance: closed.balance };
		const res = this.sql.exec<ReservationRow>("SELECT * FROM reservations WHERE id = ?", input.reservationId).toArray()[0];
		if (!res) {
			console.error(JSON.stringify({ event: "settle_without_hold", reservationId: input.reservationId }));
			return { charged: 0, balance: r.balance };
		}
		const delivered = input.outcome.imagesDelivered;
		const result = this.ctx.storage.transactionSync(() => {
			const draft = JSON.parse(res.usage) as UsageDraft;
			const charged = Math.min(delivered * input.pricePerImage, res.credits);
			let balance = this.move(r, "release", res.credits, draft.requestId, null);
			this.sql.exec("DELETE FROM reservations WHERE id = ?", res.id);
			if (charged > 0) balance = this.move(r, "charge", -charged, draft.requestId, null);
			this.sql.exec("INSERT INTO closed_reservations (id, charged, balance, at) VALUES (?, ?, ?, ?)", res.id, charged, balance, now);
			this.bump(`d:${res.day}`, 0, delivered, charged);
			this.bump(`m:${res.month}`, 0, delivered, charged);
			this.enqueue("usage", this.usageRow(r.key_id, draft, res.credits, charged, input.outcome, now));
			if (res.idem_key) {
				if (input.response) {
					this.sql.exec("UPDATE idempotency SET state = 'done', response = ? WHERE key = ?", JSON.stringify(input.response), res.idem_key);
				} else {
					this.sql.exec("DELETE FROM idempotency WHERE key = ?", res.idem_key);
				}
			}
			return { charged, balance };
		});
		await this.ensureAlarm(now + FLUSH_DELAY);
		return result;
	}

	/** The key's Standard Webhooks secret (`whsec_` + base64), created on first use. */
	async webhookSecret(): Promise<string | null> {
		const r = this.row();
		if (!r) return null;
		const current = this.sql.exec<{ s: string | null }>("SELECT webhook_secret AS s FROM account").one().s;
		return current ?? this.rotateWebhookSecret();
	}

	/** Replaces the webhook secret; deliveries from now on are signed with the new one. */
	async rotateWebhookSecret(): Promise<string | null> {
		if (!this.row()) return null;
		const secret = `whsec_${crypto.getRandomValues(new Uint8Array(32)).toBase64()}`;
		this.sql.exec("UPDATE account SET webhook_secret = ?", secret);
		return secret;
	}

	/** Releases reservations past their expiry (a Worker died mid-request). */
	private releaseExpired(now: number): number {
		const stale = this.sql.exec<ReservationRow>("SELECT * FROM reservations WHERE expires_at <= ?", now).toArray();
		if (stale.length === 0) return 0;
		const r = this.row() as AccountRow;
		this.ctx.storage.transactionSync(() => {
			for (const res of stale) {
				const draft = JSON.parse(res.usage) as UsageDraft;
				const balance = this.move(r, "release", res.credits, draft.requestId, "reservation expired");
				this.sql.exec("DELETE FROM reservations WHERE id = ?", res.id);
				this.sql.exec("INSERT INTO closed_reservations (id, charged, balance, at) VALUES (?, 0, ?, ?)", res.id, balance, now);
				if (res.idem_key) this.sql.exec("DELETE FROM idempotency WHERE key = ? AND state = 'running'", res.idem_key);
				this.enqueue("usage", this.usageRow(r.key_id, draft, res.credits, 0, emptyOutcome(500, "reservation_expired"), now));
			}
		});
		return stale.length;
	}

	// ---- RPC: maintenance ----------------------------------------------------------------

	/** Sends pending outbox rows to D1. Safe to call concurrently and repeatedly. */
	async flush(): Promise<{ flushed: number; pending: number }> {
		if (!this.flushing) {
			this.flushing = flushOutbox(this.sql, this.env.DB).finally(() => {
				this.flushing = null;
			});
		}
		const result = await this.flushing;
		this.flushFailures = result.pending > 0 ? this.flushFailures + 1 : 0;
		return result;
	}

	/** Releases expired reservations, flushes the outbox, and schedules the next run. */
	async maintain(): Promise<{ released: number; flushed: number; pending: number }> {
		const now = Date.now();
		if (!this.row()) return { released: 0, flushed: 0, pending: 0 };
		const released = this.releaseExpired(now);
		this.sql.exec("DELETE FROM idempotency WHERE expires_at <= ?", now);
		this.sql.exec("DELETE FROM closed_reservations WHERE at <= ?", now - 7 * 24 * 60 * 60_000);
		this.sql.exec("DELETE FROM rate_buckets WHERE second <= ?", Math.floor(now / 1000) - 60);
		const { flushed, pending } = await this.flush();
		const next = this.sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM reservations").one().at;
		// D1 trouble: back off 2, 4, ... 64 s, then every minute.
		const retryAt = pending > 0 ? Date.now() + Math.min(60_000, 1000 * 2 ** this.flushFailures) : null;
		const at = [next, retryAt].filter((t): t is number => t !== null);
		if (at.length > 0) await this.ensureAlarm(Math.min(...at));
		return { released, flushed, pending };
	}

	override async alarm(): Promise<void> {
		this.alarmAt = null;
		await this.maintain();
	}
}

export type KeyAccountStub = DurableObjectStub<KeyAccount>;

/** The KeyAccount for a key hash. */
export function accountFor(env: Env, keyHash: string): KeyAccountStub {
	return env.KEY_ACCOUNT.get(env.KEY_ACCOUNT.idFromName(keyHash));
}
