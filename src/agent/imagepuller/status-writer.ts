/**
 * Writes the node's NodeImage status, event-driven (spec "NodeImage status": each phase change reaches the API
 * within about a second, where upstream polls every 3–5 s; time to warm N nodes is bounded by this latency).
 *
 * - `set(status)` records the status the agent wants and returns at once. The first change after a quiet period is
 *   written at once (on the next timer turn, so changes made in the same tick go out together); later changes are
 *   coalesced into one write at most every `minIntervalMs`, carrying the latest status.
 * - On top, a token bucket (`qps`, `burst`) bounds the node's status writes (STYLE habit 13: rate-limited on the
 *   agent), so a flapping pull cannot flood the API server.
 * - The whole status goes through `/status` with the resourceVersion last seen (the cache's, or our last write's
 *   when newer): a concurrent change is a 409, never a lost update. On a 409 the object is read again and the same
 *   status written on the new version (the agent owns its node's status); after `maxConflictRetries` it backs off.
 * - A status deep-equal to the one already stored is not written (counted `unchanged`).
 * - Other failures back off (`retryInitialMs` doubling to `retryMaxMs`) and retry with the latest status.
 * - `close()` writes what is pending (one last try, bounded by `closeTimeoutMs`); `destroy()` drops it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { NodeImage, NodeImageStatus } from '../../api/nodeimage-types.js';
import { compareResourceVersions } from '../../kube/expectations.js';
import { isConflict, isNotFound } from '../../kube/kube-api-error.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { resources } from '../../kube/resource-ref.js';
import { TokenBucket } from '../../kube/token-bucket.js';
import type { CancelTimer, SchedulingClock } from '../../kube/workqueue/clock.js';
import type { ImagePullerMetrics } from './agent-metrics.js';
import { wallClock } from './wall-clock.js';

export interface StatusWriterOptions {
  nodeName: string;
  client: Pick<KubeClient, 'get' | 'updateStatus'>;
  /** The freshest NodeImage the informer has (read-only). */
  observed: () => NodeImage | undefined;
  /** Least time between two writes. @default 500 */
  minIntervalMs?: number;
  /** Sustained writes per second. @default 1 */
  qps?: number;
  /** Writes allowed at once above `qps`. @default 5 */
  burst?: number;
  /** Re-reads and rewrites after a 409 before backing off. @default 5 */
  maxConflictRetries?: number;
  /** @default 500 */
  retryInitialMs?: number;
  /** @default 30000 */
  retryMaxMs?: number;
  /** Per-request timeout. @default 10000 */
  requestTimeoutMs?: number;
  /** How long `close()` waits for the last write. @default 5000 */
  closeTimeoutMs?: number;
  /** @default wall clock with unref'd timers */
  clock?: SchedulingClock;
  metrics?: Pick<ImagePullerMetrics, 'statusWrite'>;
  logger?: Logger;
}

/** JSON form: what the server stores (undefined fields vanish), for equality checks. */
function normalise(status: NodeImageStatus | undefined): unknown {
  return status === undefined ? undefined : JSON.parse(JSON.stringify(status)) as unknown;
}

function isEmpty(status: NodeImageStatus): boolean {
  return status.desired === 0 && status.succeeded === 0 && status.failed === 0 && status.pulling === 0
    && status.imageStatuses === undefined && status.firstSyncStatus === undefined;
}

export class NodeImageStatusWriter {
  private readonly clock: SchedulingClock;
  private readonly bucket: TokenBucket;
  private readonly log: Logger | undefined;
  private readonly minIntervalMs: number;
  private readonly lifetime = new AbortController();
  private desired: NodeImageStatus | undefined;
  private dirty = false;
  private writing = false;
  private closing = false;
  private timer: CancelTimer | undefined;
  private tokenHeld = false;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private retryAt = Number.NEGATIVE_INFINITY;
  private failures = 0;
  private lastWritten: NodeImage | undefined;
  private idleWaiters: (() => void)[] = [];
  private writesDone = 0;

  constructor(private readonly o: StatusWriterOptions) {
    this.clock = o.clock ?? wallClock;
    this.minIntervalMs = o.minIntervalMs ?? 500;
    this.bucket = new TokenBucket(o.qps ?? 1, o.burst ?? 5, this.clock);
    this.log = o.logger?.child({ component: 'nodeimage-status-writer', node: o.nodeName });
  }

  /** Successful writes so far (tests). */
  get writes(): number { return this.writesDone; }

  /** True while a status is waiting to be written or being written. */
  get pending(): boolean { return this.dirty || this.writing; }

  /** The status the agent wants; written soon, coalesced with later calls. */
  set(status: NodeImageStatus): void {
    if (this.lifetime.signal.aborted) return;
    this.desired = status;
    this.dirty = true;
    this.kick();
  }

  /** Nothing to write any more (the NodeImage is gone). */
  forget(): void {
    this.dirty = false;
    this.desired = undefined;
    this.cancelTimer();
    this.settleIdle();
  }

  /** Resolves when nothing is pending or in flight. */
  idle(): Promise<void> {
    if (!this.pending) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Writes what is pending now, without waiting for the interval or a token, then stops. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.dirty && !this.writing) {
      this.cancelTimer();
      void this.flush();
    }
    let timeout: CancelTimer | undefined;
    await Promise.race([
      this.idle(),
      new Promise<void>((resolve) => { timeout = this.clock.schedule(resolve, this.o.closeTimeoutMs ?? 5000); }),
    ]);
    timeout?.();
    if (this.pending) this.log?.warn('status write still pending at shutdown; dropping it');
    this.destroy();
  }

  /** Drops pending work and aborts a write in flight. */
  destroy(): void {
    this.lifetime.abort(new Error('status writer stopped'));
    this.cancelTimer();
    this.dirty = false;
    this.settleIdle();
  }

  private cancelTimer(): void {
    this.timer?.();
    this.timer = undefined;
  }

  private settleIdle(): void {
    if (this.pending) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private kick(): void {
    if (this.writing || this.timer !== undefined || !this.dirty || this.lifetime.signal.aborted) return;
    const now = this.clock.now();
    const dueAt = this.closing ? now : Math.max(now, this.lastWriteAt + this.minIntervalMs, this.retryAt);
    this.timer = this.clock.schedule(() => {
      this.timer = undefined;
      void this.flush();
    }, dueAt - now);
  }

  private async flush(): Promise<void> {
    if (this.writing || !this.dirty || this.lifetime.signal.aborted) return;
    if (this.desired === undefined || this.alreadyStored(this.desired)) {
      // Nothing to send (e.g. a change and its undo within one interval): no request, no token spent.
      this.dirty = false;
      this.o.metrics?.statusWrite('unchanged');
      this.settleIdle();
      return;
    }
    if (!this.closing && !this.tokenHeld) {
      const waitMs = this.bucket.reserve();
      this.tokenHeld = true;
      if (waitMs > 0) {
        this.timer = this.clock.schedule(() => {
          this.timer = undefined;
          void this.flush();
        }, waitMs);
        return;
      }
    }
    this.tokenHeld = false;
    const snapshot = this.desired;
    this.dirty = false;
    this.writing = true;
    try {
      if (snapshot !== undefined) await this.write(snapshot);
      this.failures = 0;
      this.retryAt = Number.NEGATIVE_INFINITY;
    } catch (e) {
      if (!this.lifetime.signal.aborted) {
        this.failures++;
        const backoff = Math.min(this.o.retryMaxMs ?? 30_000, (this.o.retryInitialMs ?? 500) * 2 ** (this.failures - 1));
        this.retryAt = this.clock.now() + backoff;
        // The status was not written: unless a newer one came meanwhile, write this one again.
        if (!this.dirty) this.dirty = true;
        this.log?.warn({ err: e instanceof Error ? e.message : String(e), retryInMs: backoff }, 'NodeImage status write failed; retrying');
      }
    } finally {
      this.writing = false;
      this.lastWriteAt = this.clock.now();
      this.kick();
      this.settleIdle();
    }
  }

  /** The freshest object we know: the cache's, or the one our last write returned if that is newer. */
  private base(): NodeImage | undefined {
    const cached = this.o.observed();
    const ours = this.lastWritten;
    if (cached === undefined) return undefined;
    if (ours === undefined || ours.metadata.uid !== cached.metadata.uid) return cached;
    const c = compareResourceVersions(ours.metadata.resourceVersion ?? '', cached.metadata.resourceVersion ?? '');
    return c === 1 ? ours : cached;
  }

  /** True when the freshest known object already has this status (or has none and this one is empty). */
  private alreadyStored(status: NodeImageStatus, base: NodeImage | undefined = this.base()): boolean {
    if (base === undefined) return false;
    return isDeepStrictEqual(normalise(base.status), normalise(status)) || (base.status === undefined && isEmpty(status));
  }

  private async write(status: NodeImageStatus): Promise<void> {
    let base = this.base();
    if (base === undefined) {
      // Not in the cache (not created yet, or deleted): the next reconcile sets the status again when it exists.
      return;
    }
    const attempts = Math.max(1, this.o.maxConflictRetries ?? 5);
    for (let attempt = 1; ; attempt++) {
      if (this.alreadyStored(status, base)) {
        this.o.metrics?.statusWrite('unchanged');
        return;
      }
      const signal = AbortSignal.any([this.lifetime.signal, AbortSignal.timeout(this.o.requestTimeoutMs ?? 10_000)]);
      try {
        const body: NodeImage = { ...base, metadata: { ...base.metadata }, status };
        const written = await this.o.client.updateStatus<NodeImage>(resources.nodeImages, body, signal);
        this.lastWritten = written;
        this.writesDone++;
        this.o.metrics?.statusWrite('success');
        return;
      } catch (e) {
        if (isNotFound(e)) {
          this.o.metrics?.statusWrite('error');
          this.log?.info('NodeImage is gone; status not written');
          return;
        }
        if (!isConflict(e)) {
          this.o.metrics?.statusWrite('error');
          throw e;
        }
        this.o.metrics?.statusWrite('conflict');
        if (attempt >= attempts) throw e;
        base = await this.o.client.get<NodeImage>(resources.nodeImages, '', this.o.nodeName, signal);
        this.lastWritten = base;
      }
    }
  }
}
