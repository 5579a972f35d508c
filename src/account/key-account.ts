/**
 * KeyAccount: one Durable Object per API key, addressed by sha256(key). The source of
 * truth for the key's status, credit balance, limits, spend controls, open holds,
 * idempotency records, webhook secret, pending key events and the outbox of usage/ledger rows bound for D1 (see store.ts).
 *
 * Exactness comes from the runtime: a DO runs one call at a time, and every public
 * method below checks and writes without an `await` in between, inside one
 * transaction, so N concurrent admissions can never overspend. Native RPC: these public
 * methods are the whole surface; expected failures are tagged results.
 */
import { DurableObject } from "cloudflare:workers";
import { applyControls, type ControlledUse, type ControlsPatch, checkControls, checkSpend } from "../billing/controls";
import { applyPatch, isBatchWork, type LimitName, type Limits, type LimitsPatch } from "../billing/limits";
import { loadSettings } from "../config";
import {
	type AccountView,
	type AdmitResult,
	emptyOutcome,
	type GrantKey,
	type GrantResult,
	type StoredResponse,
	type UsageDraft,
	type UsageOutcome,
	usageRow,
} from "./records";
import { type AccountRow, AccountStore, dayOf, monthOf, secondsUntilNextDay, secondsUntilNextMonth } from "./store";

/** How long an Idempotency-Key's response is replayed (retention keeps replay bodies this long). */
export const IDEMPOTENCY_TTL = 24 * 60 * 60_000;
/** How soon after a write the outbox is flushed (batches bursts into one D1 call). */
const FLUSH_DELAY = 250;

export class KeyAccount extends DurableObject<Env> {
	private readonly store: AccountStore;
	/** Time of the scheduled alarm as far as this instance knows (null: none). */
	private alarmAt: number | null = null;
	private flushFailures = 0;
	private flushing: Promise<{ flushed: number; pending: number }> | null = null;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.store = new AccountStore(ctx.storage);
		ctx.blockConcurrencyWhile(async () => {
			this.store.init();
			this.alarmAt = await ctx.storage.getAlarm();
		});
	}

	private limits(): Limits {
		return { ...loadSettings(this.env).defaultLimits, ...this.store.limitOverrides() };
	}

	private view(r: AccountRow, now = Date.now()): AccountView {
		return {
			keyId: r.key_id,
			name: r.name,
			status: r.status as "active" | "revoked",
			createdAt: r.created_at,
			revokedAt: r.revoked_at,
			credits: this.store.balance(),
			reservedCredits: this.store.heldCredits(),
			limits: this.limits(),
			limitOverrides: this.store.limitOverrides(),
			controls: this.store.controls(),
			usage: { today: { ...this.store.period(`d:${dayOf(now)}`) }, this_month: { ...this.store.period(`m:${monthOf(now)}`) } },
		};
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
		controls?: ControlsPatch;
	}): Promise<{ ok: true } | { ok: false; reason: "exists" }> {
		if (this.store.account()) return { ok: false, reason: "exists" };
		this.store.migrate(); // the object's tables are made for an issued key only
		this.store.transaction(() => {
			this.store.insertAccount(input.keyId, input.name, input.createdAt, JSON.stringify(applyPatch({}, input.limits ?? {})));
			if (input.controls) this.store.accountRow.setControls(JSON.stringify(applyControls({}, input.controls)));
			if (input.credits) this.store.adjust(input.credits, "grant", "initial grant");
		});
		if (input.credits) await this.ensureAlarm(Date.now() + FLUSH_DELAY);
		return { ok: true };
	}

	/** Is this key allowed to make a request right now? */
	async authorize(): Promise<{ ok: true; keyId: string; name: string } | { ok: false; reason: "unknown_key" | "key_revoked" }> {
		const r = this.store.account();
		if (!r) return { ok: false, reason: "unknown_key" };
		if (r.status !== "active") return { ok: false, reason: "key_revoked" };
		return { ok: true, keyId: r.key_id, name: r.name };
	}

	async describe(): Promise<AccountView | null> {
		const r = this.store.account();
		return r ? this.view(r) : null;
	}

	/** Revokes the key; every later call refuses it. Idempotent. */
	async revoke(): Promise<AccountView | null> {
		return this.update({ status: "revoked" });
	}

	/** Changes name, status, limit overrides and/or spend controls. */
	async update(patch: {
		name?: string;
		status?: "active" | "revoked";
		limits?: LimitsPatch;
		controls?: ControlsPatch;
	}): Promise<AccountView | null> {
		const r = this.store.account();
		if (!r) return null;
		if (patch.name !== undefined) this.store.accountRow.rename(patch.name);
		if (patch.status === "revoked") this.store.accountRow.revoke(new Date().toISOString());
		if (patch.status === "active") this.store.accountRow.reactivate();
		if (patch.limits) this.store.accountRow.setLimits(JSON.stringify(applyPatch(this.store.limitOverrides(), patch.limits)));
		if (patch.controls) this.store.accountRow.setControls(JSON.stringify(applyControls(this.store.controls(), patch.controls)));
		return this.describe();
	}

	/**
	 * Grants (amount > 0) or adjusts (either sign) the balance, with a ledger row; a cut is refused below zero. With the
	 * operator's Idempotency-Key a repeat applies nothing (another body is refused); the record is written with the grant.
	 */
	async adjustCredits(amount: number, reason: string, kind: "grant" | "adjustment", idempotency?: GrantKey): Promise<GrantResult> {
		if (!this.store.account()) return { ok: false, reason: "unknown_key", balance: 0 };
		const before = this.store.balance();
		const now = Date.now();
		const replay = idempotency && this.store.idempotency.replayGrant(idempotency, before, now);
		if (replay) return replay;
		const after = before + amount;
		// A late charge (settle) may leave the balance below zero: a grant still lands, and pays that first.
		if (amount < 0 && after < 0) return { ok: false, reason: "would_go_negative", balance: before };
		const settledBefore = this.store.settledBalance();
		this.store.transaction(() => {
			this.store.adjust(amount, kind, reason);
			this.store.noteLowBalance(settledBefore, now);
			if (idempotency) this.store.idempotency.recordGrant(idempotency, after, now + IDEMPOTENCY_TTL);
		});
		await this.ensureAlarm(Date.now() + FLUSH_DELAY);
		return { ok: true, balance: after };
	}

	/** The key's Standard Webhooks secret (`whsec_` + base64), created on first use. */
	async webhookSecret(): Promise<string | null> {
		const r = this.store.account();
		if (!r) return null;
		return r.webhook_secret ?? this.rotateWebhookSecret();
	}

	/** Replaces the webhook secret; deliveries from now on are signed with the new one. */
	async rotateWebhookSecret(): Promise<string | null> {
		if (!this.store.account()) return null;
		const secret = `whsec_${crypto.getRandomValues(new Uint8Array(32)).toBase64()}`;
		this.store.accountRow.setWebhookSecret(secret);
		return secret;
	}

	// ---- RPC: the request path -----------------------------------------------------------

	/**
	 * Admission, atomically: key active, idempotency, the key's controls (model, size,
	 * features), requests per minute, concurrency, daily and monthly image quotas, daily and
	 * monthly spend caps, then credits. Admitted: the worst case is held
	 * (balance debited, ledger `reserve`): one hold row written, two statements with an
	 * idempotency key. Refused: nothing is held; a usage row records it.
	 */
	async admit(input: {
		draft: UsageDraft;
		credits: number;
		images: number;
		ttlMs: number;
		/** `submission`: an async or batch 202, kept by keepSubmission (running for minutes), not at the job's settle. */
		idempotency?: { key: string; bodyHash: string; submission?: boolean };
		/** What the key's controls check (model names, size, features); absent: only the caps. */
		uses?: ControlledUse;
	}): Promise<AdmitResult> {
		const now = Date.now();
		const r = this.store.account();
		if (!r) return { ok: false, reason: "unknown_key" };
		if (r.status !== "active") return { ok: false, reason: "key_revoked" };
		const who = { keyId: r.key_id, name: r.name };
		this.releaseExpired(now);

		const idem = input.idempotency;
		if (idem) {
			const rec = this.store.idempotency.find(idem.key, now);
			if (rec) {
				if (rec.bodyHash !== idem.bodyHash) return { ok: false, reason: "idempotency_mismatch", ...who };
				if (!rec.response) return { ok: false, reason: "idempotency_in_flight", ...who };
				return { ok: false, reason: "replay", response: rec.response, ...who };
			}
		}

		const controls = this.store.controls();
		const denied = input.uses ? checkControls(controls, input.uses) : null;
		if (denied) {
			this.recordRefusal(r, input.draft, 403, "not_allowed_for_key", now);
			return { ok: false, reason: "not_allowed", ...denied, ...who };
		}
		const limits = this.limits();
		const refuse = (limit: LimitName, retryAfterSeconds: number): AdmitResult => {
			this.recordRefusal(r, input.draft, 429, "rate_limit_exceeded", now);
			return { ok: false, reason: "rate_limited", limit, value: limits[limit], retryAfterSeconds: Math.max(1, retryAfterSeconds), ...who };
		};
		const second = Math.floor(now / 1000);
		const recent = this.store.recentRequests(second);
		if (recent.n >= limits.requests_per_minute) return refuse("requests_per_minute", (recent.oldest ?? second) + 60 - second);
		// Batch-tier jobs (held for up to 72 h) have their own slots, so they never lock out sync calls.
		const batch = isBatchWork(input.draft);
		const lane = batch ? "concurrent_batch_jobs" : "concurrent_requests";
		const day = dayOf(now);
		const month = monthOf(now);
		const tally = this.store.heldTally(day, month);
		const inLane = batch ? tally.batch : this.store.openHolds() - tally.batch;
		if (inLane >= limits[lane]) return refuse(lane, batch ? 60 : 1);
		const held = tally.images;
		if (this.store.period(`d:${day}`).images + held.day + input.images > limits.images_per_day)
			return refuse("images_per_day", secondsUntilNextDay(now));
		if (this.store.period(`m:${month}`).images + held.month + input.images > limits.images_per_month)
			return refuse("images_per_month", secondsUntilNextMonth(now));
		const heldCredits = tally.credits;
		const day$ = { charged: this.store.period(`d:${day}`).credits, held: heldCredits.day };
		const month$ = { charged: this.store.period(`m:${month}`).credits, held: heldCredits.month };
		const over = checkSpend(controls, day$, month$, input.credits);
		if (over) {
			this.recordRefusal(r, input.draft, 429, "spend_limit_exceeded", now);
			const retryAfterSeconds = over.limit === "daily_spend_credits" ? secondsUntilNextDay(now) : secondsUntilNextMonth(now);
			return { ok: false, reason: "spend_limited", ...over, retryAfterSeconds, ...who };
		}
		const available = this.store.balance();
		if (available < input.credits) {
			this.recordRefusal(r, input.draft, 402, "insufficient_credits", now);
			return { ok: false, reason: "insufficient_credits", balance: available, required: input.credits, ...who };
		}

		const open = () =>
			this.store.open({
				credits: input.credits,
				images: input.images,
				draft: input.draft,
				idemKey: idem && !idem.submission ? idem.key : null,
				now,
				expiresAt: now + input.ttlMs,
			});
		const hold = idem
			? this.store.transaction(() => {
					this.store.idempotency.begin(idem.key, idem.bodyHash, now + (idem.submission ? 5 * 60_000 : IDEMPOTENCY_TTL));
					return open();
				})
			: open();
		await this.ensureAlarm(Math.min(now + FLUSH_DELAY, hold.expiresAt));
		return {
			ok: true,
			reservationId: hold.id,
			balance: this.store.balance(),
			...who,
			rateLimit: { limit: limits.requests_per_minute, remaining: Math.max(0, limits.requests_per_minute - recent.n - 1), resetSeconds: 60 },
		};
	}

	private recordRefusal(r: AccountRow, draft: UsageDraft, status: number, code: string, now: number): void {
		this.store.outbox.enqueue([["usage", usageRow(r.key_id, draft, 0, 0, emptyOutcome(status, code), now)]]);
		this.ctx.waitUntil(this.ensureAlarm(now + FLUSH_DELAY));
	}

	/**
	 * Settlement: releases the hold, charges `charge` (what the meter computed from the answers, src/pipeline/meter.ts;
	 * never more than was held: a charge above its hold means the hold was wrong, which is logged), and stores or forgets
	 * the idempotent response: one UPDATE of the hold row (two statements with an idempotency key); its ledger and usage
	 * rows follow at the checkpoint. Idempotent per hold: settling a hold that is already closed returns the first result
	 * and charges nothing more. A hold its expiry already released (the request outlived it) is charged all the same,
	 * once (store.chargeLate), even below a zero balance: a delivered image is paid for.
	 */
	async settle(input: {
		reservationId: string;
		/** Credits to charge (a whole number, at most the hold). */
		charge: number;
		outcome: UsageOutcome;
		response?: StoredResponse | null;
	}): Promise<{ charged: number; balance: number }> {
		const now = Date.now();
		const r = this.store.account();
		if (!r) return { charged: 0, balance: 0 };
		const wanted = Math.max(0, Math.ceil(input.charge));
		const closed = this.store.closed(input.reservationId);
		if (closed?.expired && wanted > 0) {
			// Delivered after the hold expired: charged all the same (store.chargeLate).
			const late = this.store.chargeLate(closed.expired, Math.min(wanted, closed.expired.credits), input.outcome, now);
			await this.ensureAlarm(now + FLUSH_DELAY);
			return late;
		}
		if (closed) return { charged: closed.charged, balance: closed.balance };
		const hold = this.store.hold(input.reservationId);
		if (!hold) {
			console.error(JSON.stringify({ event: "settle_without_hold", reservationId: input.reservationId }));
			return { charged: 0, balance: this.store.balance() };
		}
		if (wanted > hold.credits) {
			console.error(JSON.stringify({ event: "charge_above_hold", reservationId: input.reservationId, charge: wanted, held: hold.credits }));
		}
		const charged = Math.min(wanted, hold.credits);
		const idemKey = hold.idemKey;
		const settledBefore = this.store.settledBalance();
		const close = () => {
			const closed = this.store.close(hold, charged, input.outcome, now);
			this.store.noteLowBalance(settledBefore, now);
			return closed;
		};
		const result = idemKey
			? this.store.transaction(() => {
					if (input.response) this.store.idempotency.finish(idemKey, input.response);
					else this.store.idempotency.forget(idemKey);
					return close();
				})
			: close();
		await this.ensureAlarm(now + FLUSH_DELAY);
		return result;
	}

	/** Keeps a submission's 202 for its Idempotency-Key, or forgets the key (null: nothing was queued). */
	async keepSubmission(key: string, response: StoredResponse | null): Promise<void> {
		this.store.idempotency.keep(key, response, Date.now() + IDEMPOTENCY_TTL);
	}

	/** Releases holds past their expiry (a Worker died mid-request). */
	private releaseExpired(now: number): number {
		const stale = this.store.expiredHolds(now);
		if (stale.length === 0) return 0;
		this.store.transaction(() => {
			for (const hold of stale) {
				this.store.close(hold, 0, emptyOutcome(500, "reservation_expired"), now);
				if (hold.idemKey) this.store.idempotency.forgetRunning(hold.idemKey);
			}
		});
		return stale.length;
	}

	// ---- RPC: maintenance ----------------------------------------------------------------

	/** Sends pending rows (the journal's, via a checkpoint, and the outbox's) to D1. Safe to call concurrently and repeatedly. */
	async flush(): Promise<{ flushed: number; pending: number }> {
		if (this.store.pendingCheckpoint()) this.store.transaction(() => this.store.checkpoint());
		if (!this.flushing) {
			this.flushing = this.store.outbox.flush(this.env.DB).finally(() => {
				this.flushing = null;
			});
		}
		const result = await this.flushing;
		this.flushFailures = result.pending > 0 ? this.flushFailures + 1 : 0;
		return result;
	}

	/**
	 * Releases expired holds, prunes old records, flushes (which first writes the checkpoint:
	 * the journal's rows into the outbox), schedules the next run.
	 */
	async maintain(): Promise<{ released: number; flushed: number; pending: number }> {
		const now = Date.now();
		if (!this.store.account()) return { released: 0, flushed: 0, pending: 0 };
		const released = this.releaseExpired(now);
		this.store.pruneWindow(Math.floor(now / 1000));
		this.store.idempotency.prune(now);
		this.store.pruneClosed(now - 7 * 24 * 60 * 60_000);
		const { flushed, pending } = await this.flush();
		const queued = await this.store.events.send(this.env.JOBS, this.store.account()?.key_id ?? "");
		const next = this.store.earliestExpiry();
		// D1 (or queue) trouble: back off 2, 4, ... 64 s, then every minute.
		const retryAt = pending > 0 || !queued ? Date.now() + Math.min(60_000, 1000 * 2 ** this.flushFailures) : null;
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
