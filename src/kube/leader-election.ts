/**
 * Leader election on a `coordination.k8s.io/v1` Lease, with client-go's `leaderelection` semantics (read for facts:
 * `tools/leaderelection/leaderelection.go`, `resourcelock/leaselock.go`):
 * - acquire: every `retryPeriod` jittered by up to 1.2x (`JitterFactor`), create the Lease if absent, or take it when
 *   its holder is empty or has not changed it for `leaseDurationSeconds` as measured on OUR clock from when we
 *   first saw its current record (client-go's `observedTime`; no comparison of clocks across machines, so a
 *   freshly started elector waits one full lease duration before taking over a stale lease). A take-over bumps
 *   `leaseTransitions` and sets `acquireTime`. Every write is a PUT carrying the resourceVersion just read, so two
 *   electors racing for an expired lease cannot both win (the loser gets 409 Conflict).
 * - renew: every `retryPeriod` (not jittered); failed attempts are retried every `retryPeriod` until the renew
 *   deadline. Deliberately stricter than client-go, the deadline is `renewDeadline` after the last SUCCESSFUL renew
 *   (client-go counts from the start of the failing round, so it may keep leading for retryPeriod + renewDeadline),
 *   and in-flight requests are aborted at the deadline: we step down before anyone else can see the lease expire
 *   (renewDeadline < leaseDuration).
 * - losing leadership aborts the signal given to `onStartedLeading` at once (the coordinator stops reconciling),
 *   then calls `onStoppedLeading`; `run` resolves. Unlike client-go, `onStoppedLeading` is only called if we led.
 * - clean shutdown (`run`'s signal aborted while leading): abort the leading signal, wait (at most until the lease
 *   would have expired anyway) for `onStartedLeading`'s promise to settle so no write of ours overlaps the next
 *   leader's, then release as client-go's `ReleaseOnCancel` does: holderIdentity "", leaseDurationSeconds 1,
 *   acquireTime = renewTime = now, leaseTransitions kept, written against the last lease we wrote. A follower then
 *   takes over on its next retry instead of waiting out the lease.
 * Known gaps: no leader-side fast path (client-go renews without a GET when its cached record is current); the
 * `Coordinated Leader Election` fields (`strategy`, `preferredHolder`) are ignored.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { KruiseError } from '../api/errors.js';
import type { KubeObject } from '../api/meta.js';
import { isNotFound } from './kube-api-error.js';
import type { KubeClient } from './kube-client.js';
import { resources } from './resource-ref.js';

/** client-go `JitterFactor`: acquire retries wait retryPeriod * [1, 2.2). */
export const JITTER_FACTOR = 1.2;

/** The Lease calls an elector makes; a narrower type than KubeClient so tests can wrap it. */
export type LeaseClient = Pick<KubeClient, 'get' | 'create' | 'update'>;

/** Wall clock in epoch milliseconds (the Lease's timestamps are wall-clock MicroTimes). */
export interface WallClock { now(): number }

/** Timer functions; the default unrefs its timers so an elector never keeps the process alive. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS)).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface LeaderElectorOptions {
  client: LeaseClient;
  namespace: string;
  name: string;
  /** Unique per process, e.g. `<pod name>_<uuid>`. */
  identity: string;
  /** How long a follower waits, after it last saw the lease change, before taking it. Written in whole seconds, rounded up. @default 15000 */
  leaseDurationMs?: number;
  /** The leader steps down when it could not renew for this long. @default 10000 */
  renewDeadlineMs?: number;
  /** Between acquire attempts (jittered x[1, 2.2)) and between renewals. @default 2000 */
  retryPeriodMs?: number;
  /** Release the lease when `run`'s signal is aborted while leading. @default true */
  releaseOnCancel?: boolean;
  clock?: WallClock;
  timers?: Timers;
  /** @default Math.random */
  random?: () => number;
  logger?: Logger;
  /** Called when we become leader; `signal` aborts the moment leadership ends. May return the work's promise. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Called once leadership has ended (lost, or released on shutdown). */
  onStoppedLeading(): void;
  /** Called whenever the observed holder changes to a non-empty identity (ours included). */
  onNewLeader?(identity: string): void;
}

export interface CompiledLeaderElectorOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly releaseOnCancel: boolean;
}

/** Validates as client-go's `NewLeaderElector` does, plus: the lease is at least 1 s (it is written in seconds). */
export function compileLeaderElectorOptions(o: LeaderElectorOptions): CompiledLeaderElectorOptions {
  const c = {
    namespace: o.namespace,
    name: o.name,
    identity: o.identity,
    leaseDurationMs: o.leaseDurationMs ?? 15_000,
    renewDeadlineMs: o.renewDeadlineMs ?? 10_000,
    retryPeriodMs: o.retryPeriodMs ?? 2_000,
    releaseOnCancel: o.releaseOnCancel ?? true,
  };
  const invalid = (message: string, fieldPath: string): KruiseError => new KruiseError(message, { reason: 'Invalid', fieldPath });
  if (!c.identity) throw invalid('leader election identity must not be empty', 'identity');
  if (!c.name || !c.namespace) throw invalid('leader election lease name and namespace are required', 'name');
  for (const k of ['leaseDurationMs', 'renewDeadlineMs', 'retryPeriodMs'] as const) {
    if (!Number.isFinite(c[k]) || c[k] <= 0) throw invalid(`${k} must be a positive number, got ${c[k]}`, k);
  }
  if (c.leaseDurationMs < 1000) throw invalid(`leaseDurationMs must be at least 1000, got ${c.leaseDurationMs}`, 'leaseDurationMs');
  if (c.leaseDurationMs <= c.renewDeadlineMs) throw invalid('leaseDurationMs must be greater than renewDeadlineMs', 'leaseDurationMs');
  if (c.renewDeadlineMs <= JITTER_FACTOR * c.retryPeriodMs) throw invalid(`renewDeadlineMs must be greater than retryPeriodMs*${JITTER_FACTOR}`, 'renewDeadlineMs');
  return Object.freeze(c);
}

/** coordination.k8s.io/v1 LeaseSpec fields we use. Times are MicroTime strings. */
export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}

export interface Lease extends KubeObject { spec?: LeaseSpec }

/** metav1.MicroTime on the wire: `2006-01-02T15:04:05.000000Z` (UTC, microseconds). */
export function formatMicroTime(epochMs: number): string {
  const wholeMs = Math.floor(epochMs);
  const micros = Math.floor((epochMs - wholeMs) * 1000);
  return new Date(wholeMs).toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}${String(micros).padStart(3, '0')}Z`);
}

/**
 * - `idle`: constructed, `run` not called (or returned).
 * - `acquiring`: trying to create or take the lease.
 * - `leading`: holding it and renewing.
 * - `stepping-down`: leadership ended; waiting for the leading work and releasing.
 */
export type ElectorState = 'idle' | 'acquiring' | 'leading' | 'stepping-down';

const ALLOWED: Record<ElectorState, readonly ElectorState[]> = {
  idle: ['acquiring'],
  acquiring: ['leading', 'idle'],
  leading: ['stepping-down'],
  'stepping-down': ['idle'],
};

export interface LeaderElectionHealth {
  ok: boolean;
  message: string;
}

export class LeaderElector {
  readonly options: CompiledLeaderElectorOptions;
  private readonly client: LeaseClient;
  private readonly clock: WallClock;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly log: Logger | undefined;
  private readonly callbacks: Pick<LeaderElectorOptions, 'onStartedLeading' | 'onStoppedLeading' | 'onNewLeader'>;

  private state: ElectorState = 'idle';
  /** The last lease spec we read or wrote, and when (our clock) it last changed. */
  private observedSpec: LeaseSpec | undefined;
  private observedAt = 0;
  /** The lease object as last written by us, for the release. */
  private ownLease: Lease | undefined;
  private lastRenewAt = 0;
  private reportedLeader = '';

  constructor(o: LeaderElectorOptions) {
    this.options = compileLeaderElectorOptions(o);
    this.client = o.client;
    this.clock = o.clock ?? { now: () => Date.now() };
    this.timers = o.timers ?? systemTimers;
    this.random = o.random ?? Math.random;
    this.log = o.logger?.child({ component: 'leader-election', lease: `${o.namespace}/${o.name}`, identity: o.identity });
    this.callbacks = { onStartedLeading: o.onStartedLeading, onStoppedLeading: o.onStoppedLeading, ...(o.onNewLeader ? { onNewLeader: o.onNewLeader } : {}) };
  }

  /** True only while leading: false from the moment leadership is lost or given up. */
  isLeader(): boolean {
    return this.state === 'leading';
  }

  /** The holder we last observed ('' when none or unknown). */
  leader(): string {
    return this.observedSpec?.holderIdentity ?? '';
  }

  getState(): ElectorState {
    return this.state;
  }

  /**
   * For a liveness/readiness endpoint, like client-go's `HealthzAdaptor`: a follower is always healthy; a leader is
   * unhealthy when its last successful renewal is older than the lease duration plus `toleranceMs`, i.e. the renew
   * loop is wedged while others may already lead.
   */
  healthCheck(toleranceMs = 0): LeaderElectionHealth {
    if (this.state !== 'leading') return { ok: true, message: this.state === 'acquiring' ? `following ${this.leader() || '(no leader)'}` : this.state };
    const sinceRenewMs = this.clock.now() - this.lastRenewAt;
    if (sinceRenewMs > this.options.leaseDurationMs + toleranceMs) {
      return { ok: false, message: `leader has not renewed lease ${this.options.namespace}/${this.options.name} for ${Math.round(sinceRenewMs)} ms` };
    }
    return { ok: true, message: 'leading' };
  }

  /**
   * The same check in the health server's `ReadinessCheck` shape (`true`, or why not): a standby replica is ready,
   * a leader whose renewals are wedged is not.
   */
  readinessCheck(toleranceMs = 0): () => true | string {
    return () => {
      const h = this.healthCheck(toleranceMs);
      return h.ok ? true : h.message;
    };
  }

  /**
   * Acquires, leads and renews until leadership is lost or `signal` aborts; resolves after stepping down (and
   * releasing on a clean shutdown). Never rejects for API errors: they are logged and retried.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.state !== 'idle') throw new KruiseError('LeaderElector.run is already running', { reason: 'AlreadyRunning' });
    this.transition(['idle'], 'acquiring');
    const acquired = await this.acquire(signal);
    if (!acquired) {
      this.transition(['acquiring'], 'idle');
      return;
    }
    this.transition(['acquiring'], 'leading');
    this.log?.info('became leader');
    const leading = new AbortController();
    const work = this.startLeading(leading.signal);

    const outcome = await this.renewLoop(signal);
    this.transition(['leading'], 'stepping-down');
    leading.abort(outcome === 'lost'
      ? new KruiseError(`lost lease ${this.options.namespace}/${this.options.name}`, { reason: 'LeaderElectionLost' })
      : signal.reason);
    if (outcome === 'lost') {
      this.log?.error({ renewDeadlineMs: this.options.renewDeadlineMs }, 'leadership lost: could not renew the lease within the renew deadline');
      this.stopped();
      await this.settle(work);
    } else {
      const drained = await this.settle(work);
      if (this.options.releaseOnCancel && drained) await this.release();
      else if (this.options.releaseOnCancel) this.log?.warn('leading work did not finish before the lease would expire; not releasing the lease');
      this.stopped();
    }
    this.transition(['stepping-down'], 'idle');
  }

  private transition(from: readonly ElectorState[], to: ElectorState): void {
    if (!from.includes(this.state) || !ALLOWED[this.state].includes(to)) {
      this.log?.warn({ from: this.state, to }, 'ignored illegal leader election state transition');
      return;
    }
    this.log?.debug({ from: this.state, to }, 'leader election state transition');
    this.state = to;
  }

  private startLeading(signal: AbortSignal): Promise<unknown> {
    try {
      return Promise.resolve(this.callbacks.onStartedLeading(signal)).catch((e: unknown) => {
        this.log?.error({ err: e }, 'onStartedLeading failed');
      });
    } catch (e) {
      this.log?.error({ err: e }, 'onStartedLeading failed');
      return Promise.resolve();
    }
  }

  private stopped(): void {
    try {
      this.callbacks.onStoppedLeading();
    } catch (e) {
      this.log?.error({ err: e }, 'onStoppedLeading failed');
    }
  }

  /** Waits for the leading work, at most until our lease would expire anyway. True when it settled. */
  private async settle(work: Promise<unknown>): Promise<boolean> {
    const remaining = this.lastRenewAt + this.options.leaseDurationMs - this.clock.now();
    if (remaining <= 0) return false;
    let handle: unknown;
    const timedOut = new Promise<boolean>((resolve) => { handle = this.timers.setTimeout(() => resolve(false), remaining); });
    try {
      return await Promise.race([work.then(() => true), timedOut]);
    } finally {
      this.timers.clearTimeout(handle);
    }
  }

  /** Resolves true after `ms`, false as soon as `signal` aborts. */
  private wait(ms: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => { this.timers.clearTimeout(handle); resolve(false); };
      const handle = this.timers.setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(true); }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    const { retryPeriodMs } = this.options;
    this.log?.info('attempting to acquire the leader lease');
    while (!signal.aborted) {
      const attemptStart = this.clock.now();
      // A hung request must not stall acquisition: one attempt is bounded by the renew deadline.
      if (await this.withDeadline(signal, this.options.renewDeadlineMs, (s) => this.tryAcquireOrRenew(s, attemptStart))) return true;
      if (!(await this.wait(retryPeriodMs + this.random() * JITTER_FACTOR * retryPeriodMs, signal))) break;
    }
    return false;
  }

  private async renewLoop(signal: AbortSignal): Promise<'lost' | 'cancelled'> {
    const { retryPeriodMs, renewDeadlineMs } = this.options;
    for (;;) {
      if (!(await this.wait(retryPeriodMs, signal))) return 'cancelled';
      for (;;) {
        const remaining = this.lastRenewAt + renewDeadlineMs - this.clock.now();
        if (remaining <= 0) return 'lost';
        const attemptStart = this.clock.now();
        if (await this.withDeadline(signal, remaining, (s) => this.tryAcquireOrRenew(s, attemptStart))) break;
        if (signal.aborted) return 'cancelled';
        // Retry within the deadline; the check at the top of the loop ends it.
        const left = this.lastRenewAt + renewDeadlineMs - this.clock.now();
        if (left <= 0) return 'lost';
        if (!(await this.wait(Math.min(retryPeriodMs, left), signal))) return 'cancelled';
      }
    }
  }

  /** Runs `fn` with a signal that aborts with `signal` or after `ms`; false if it threw or timed out. */
  private async withDeadline(signal: AbortSignal, ms: number, fn: (s: AbortSignal) => Promise<boolean>): Promise<boolean> {
    const ctl = new AbortController();
    const onAbort = (): void => ctl.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const handle = this.timers.setTimeout(() => ctl.abort(new KruiseError('lease request exceeded the renew deadline', { reason: 'Timeout' })), ms);
    try {
      return await fn(ctl.signal);
    } catch (e) {
      if (!signal.aborted) this.log?.warn({ err: e }, 'lease request failed');
      return false;
    } finally {
      this.timers.clearTimeout(handle);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** One round of client-go's `tryAcquireOrRenew`. `now` is taken before any request is sent. */
  private async tryAcquireOrRenew(signal: AbortSignal, now: number): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs } = this.options;
    const nowTime = formatMicroTime(now);
    const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>(resources.leases, namespace, name, signal);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const created = await this.client.create<Lease>(resources.leases, {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: nowTime, renewTime: nowTime, leaseTransitions: 0 },
      }, signal);
      this.observe(created, now);
      this.wrote(created, now);
      return true;
    }

    const old = lease.spec ?? {};
    this.observe(lease, now);
    const holder = old.holderIdentity ?? '';
    const ours = holder === identity;
    if (holder !== '' && !ours && this.observedAt + (old.leaseDurationSeconds ?? 0) * 1000 > now) {
      this.log?.debug({ holder }, 'lease is held by another identity and has not expired');
      return false;
    }
    const spec: LeaseSpec = {
      ...old,
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: nowTime,
      acquireTime: ours ? old.acquireTime ?? nowTime : nowTime,
      leaseTransitions: ours ? old.leaseTransitions ?? 0 : (old.leaseTransitions ?? 0) + 1,
    };
    // A PUT with the resourceVersion we read: a concurrent writer makes this a 409, never a double leader.
    const updated = await this.client.update<Lease>(resources.leases, { ...lease, spec }, signal);
    if (!ours) this.log?.info({ previousHolder: holder || undefined, leaseTransitions: spec.leaseTransitions }, 'took over the lease');
    this.observe(updated, now);
    this.wrote(updated, now);
    return true;
  }

  private wrote(lease: Lease, at: number): void {
    this.ownLease = lease;
    this.lastRenewAt = at;
  }

  private observe(lease: Lease, now: number): void {
    const spec = lease.spec ?? {};
    if (this.observedSpec === undefined || !isDeepStrictEqual(spec, this.observedSpec)) {
      this.observedSpec = spec;
      this.observedAt = now;
    }
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      if (holder !== '') {
        this.log?.info({ leader: holder }, 'new leader observed');
        const cb = this.callbacks.onNewLeader;
        // Off this call stack, as client-go runs it in a goroutine: a slow callback must not delay renewals.
        if (cb) queueMicrotask(() => { try { cb(holder); } catch (e) { this.log?.error({ err: e }, 'onNewLeader failed'); } });
      }
    }
  }

  /** client-go `release()`: one attempt against the lease we last wrote; a conflict means someone else has it. */
  private async release(): Promise<void> {
    const lease = this.ownLease;
    if (!lease || (lease.spec?.holderIdentity ?? '') !== this.options.identity) return;
    const nowTime = formatMicroTime(this.clock.now());
    const spec: LeaseSpec = {
      ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: nowTime, renewTime: nowTime,
      leaseTransitions: lease.spec?.leaseTransitions ?? 0,
    };
    const never = new AbortController().signal;
    const ok = await this.withDeadline(never, this.options.renewDeadlineMs, async (s) => {
      const released = await this.client.update<Lease>(resources.leases, { ...lease, spec }, s);
      this.ownLease = undefined;
      this.observe(released, this.clock.now());
      return true;
    });
    if (ok) this.log?.info('released the leader lease');
    else this.log?.warn('could not release the leader lease; followers will take it when it expires');
  }
}
