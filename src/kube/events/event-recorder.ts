/**
 * Records core/v1 Events about our objects, as client-go's `record.EventRecorder` + `EventBroadcaster` do:
 * - `event()` is fire-and-forget: it builds the Event synchronously, puts it on a bounded queue (1000, like the
 *   broadcaster's; when full the event is dropped and counted) and returns. It never throws and never waits on I/O:
 *   events are diagnostics, and a reconcile must not fail or stall because the events API is slow or down.
 * - one background loop takes the queue in order, asks the `EventCorrelator` whether to create, patch (a repeat:
 *   `count`, `lastTimestamp`, `message` by merge patch) or drop (spam filter), and writes. One loop, not a pool:
 *   the correlator's state must see each write's result before the next event is correlated.
 * - a write that fails in transport (no HTTP answer) is retried up to 12 times, 10 s apart with the first wait
 *   randomised so recorders do not stampede a recovering API server (client-go `recordToSink`); one the server
 *   answered with an error (403, 422, AlreadyExists, ...) is dropped and logged. A PATCH of a repeat whose Event is
 *   gone (404: the API server's event TTL) falls back to a create.
 * - `close()` refuses new events and resolves once the queued ones are written (transport retries stop: each
 *   queued event gets its current attempt); `destroy()` also aborts in-flight writes and drops the queue.
 * Event names are `<involved name>.<hex nanoseconds>` (client-go `makeEvent`), strictly increasing per recorder
 * so two events in one millisecond cannot collide. Cluster-scoped objects (NodeImage, SidecarSet) get their Events
 * in namespace `default`, as upstream.
 * Known gaps: messages are not truncated (keep them short; events.k8s.io/v1 caps notes at 1 kB); no
 * `eventf`-style formatting, no `related` object, no events.k8s.io/v1 API (Kruise v0.9 writes core/v1 Events);
 * the spam filter's and aggregator's state is per recorder, so one recorder per process is expected.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isNotFound, KubeApiError } from '../kube-api-error.js';
import type { KubeClient } from '../kube-client.js';
import { resources } from '../resource-ref.js';
import type { Clock } from '../token-bucket.js';
import { EventCorrelator, formatTime, type CoreEvent, type CorrelateResult, type EventCorrelatorOptions } from './event-correlator.js';
import type { EventType } from './reasons.js';

/** The calls a recorder makes; narrower than KubeClient so tests can wrap it. */
export type EventClient = Pick<KubeClient, 'create' | 'patch'>;

/** What an Event can be about: any object with its kind and apiVersion set (cache objects are, habit 14). */
export interface InvolvedObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: { readonly name?: string; readonly namespace?: string; readonly uid?: string; readonly resourceVersion?: string };
}

export interface EventRecorderOptions {
  client: EventClient;
  /** `source.component` and `reportingComponent`, e.g. `kruise-ts-coordinator`. */
  component: string;
  /** `source.host` and `reportingInstance`: the node name for the agent, the pod name for the coordinator. */
  host?: string;
  /** Epoch milliseconds. @default Date.now */
  clock?: Clock;
  logger?: Logger;
  /** Events waiting to be written; more are dropped. @default 1000 */
  queueSize?: number;
  /** Attempts per event on transport errors. @default 12 */
  maxAttempts?: number;
  /** @default 10000 */
  retryIntervalMs?: number;
  /** Per-attempt timeout of one write. @default 10000 */
  writeTimeoutMs?: number;
  /** @default Math.random */
  random?: () => number;
  /** Spam filter and aggregation parameters (client-go's defaults otherwise). */
  correlator?: Omit<EventCorrelatorOptions, 'clock'>;
}

interface Pending { event: CoreEvent }

export interface EventRecorderStats {
  /** Dropped because the queue was full or the recorder closed. */
  dropped: number;
  /** Dropped by the spam filter. */
  filtered: number;
  /** Not written after all attempts, or rejected by the server. */
  failed: number;
  written: number;
}

export class EventRecorder {
  private readonly client: EventClient;
  private readonly component: string;
  private readonly host: string | undefined;
  private readonly clock: Clock;
  private readonly log: Logger | undefined;
  private readonly queueSize: number;
  private readonly maxAttempts: number;
  private readonly retryIntervalMs: number;
  private readonly writeTimeoutMs: number;
  private readonly random: () => number;
  private readonly correlator: EventCorrelator;

  private readonly queue: Pending[] = [];
  private draining = false;
  private closed = false;
  private readonly closing = new AbortController();
  private readonly destroyed = new AbortController();
  private idleWaiters: (() => void)[] = [];
  private lastNanos = 0n;
  private readonly counters: EventRecorderStats = { dropped: 0, filtered: 0, failed: 0, written: 0 };

  constructor(o: EventRecorderOptions) {
    if (!o.component) throw new RangeError('an event recorder needs a component');
    this.client = o.client;
    this.component = o.component;
    this.host = o.host || undefined;
    this.clock = o.clock ?? { now: () => Date.now() };
    this.log = o.logger?.child({ component: 'event-recorder' });
    this.queueSize = o.queueSize ?? 1000;
    this.maxAttempts = o.maxAttempts ?? 12;
    this.retryIntervalMs = o.retryIntervalMs ?? 10_000;
    this.writeTimeoutMs = o.writeTimeoutMs ?? 10_000;
    this.random = o.random ?? Math.random;
    this.correlator = new EventCorrelator({ ...o.correlator, clock: this.clock });
  }

  stats(): Readonly<EventRecorderStats> {
    return { ...this.counters };
  }

  /** Records an event about `involved`. Returns at once; never throws. */
  event(involved: InvolvedObject, type: EventType, reason: string, message: string): void {
    try {
      if (type !== 'Normal' && type !== 'Warning') {
        this.log?.error({ type, reason }, 'unsupported event type; event dropped');
        return;
      }
      if (this.closed) {
        this.counters.dropped++;
        this.log?.debug({ reason }, 'event recorder is closed; event dropped');
        return;
      }
      if (this.queue.length >= this.queueSize) {
        this.counters.dropped++;
        this.log?.warn({ reason, queueSize: this.queueSize }, 'event queue full; event dropped');
        return;
      }
      this.queue.push({ event: this.makeEvent(involved, type, reason, message) });
      this.kick();
    } catch (e) {
      this.log?.error({ err: e }, 'could not record event');
    }
  }

  /** Refuses new events and resolves when the queued ones have been written (or given up). */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    await this.idle();
  }

  /** Aborts in-flight writes and drops queued events. */
  destroy(): void {
    this.closed = true;
    this.counters.dropped += this.queue.length;
    this.queue.length = 0;
    this.closing.abort();
    this.destroyed.abort();
  }

  /** Resolves when nothing is queued or being written. */
  idle(): Promise<void> {
    if (!this.draining && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private makeEvent(involved: InvolvedObject, type: EventType, reason: string, message: string): CoreEvent {
    const m = involved.metadata;
    const now = this.clock.now();
    const t = formatTime(now);
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: this.eventName(m.name ?? '', now), namespace: m.namespace || 'default' },
      involvedObject: {
        kind: involved.kind ?? '', apiVersion: involved.apiVersion ?? '', name: m.name ?? '',
        ...(m.namespace ? { namespace: m.namespace } : {}), ...(m.uid ? { uid: m.uid } : {}),
        ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
      },
      reason,
      message,
      type,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      firstTimestamp: t,
      lastTimestamp: t,
      count: 1,
      eventTime: null,
      reportingComponent: this.component,
      reportingInstance: this.host ?? '',
    };
  }

  private eventName(objectName: string, nowMs: number): string {
    let nanos = BigInt(Math.floor(nowMs)) * 1_000_000n;
    if (nanos <= this.lastNanos) nanos = this.lastNanos + 1n;
    this.lastNanos = nanos;
    return `${objectName}.${nanos.toString(16)}`;
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        try {
          await this.process(next);
        } catch (e) {
          this.counters.failed++;
          this.log?.error({ err: e }, 'unexpected error writing an event');
        }
      }
    } finally {
      // Set synchronously with the empty-queue check above, so an event() racing the loop's end starts a new one.
      this.draining = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async process(p: Pending): Promise<void> {
    const ns = p.event.metadata.namespace ?? 'default';
    const r = this.correlator.correlate(p.event, this.eventName(p.event.involvedObject.name ?? '', this.clock.now()));
    if (r.skip) {
      this.counters.filtered++;
      this.log?.debug({ reason: p.event.reason, object: `${ns}/${p.event.involvedObject.name ?? ''}` }, 'event dropped by the spam filter');
      return;
    }
    for (let attempt = 1; ; attempt++) {
      if (this.destroyed.signal.aborted) return;
      try {
        const written = await this.write(r);
        this.correlator.updateState(written, r.key);
        this.counters.written++;
        return;
      } catch (e) {
        const answered = KubeApiError.is(e) && e.code !== 0;
        if (answered || this.destroyed.signal.aborted) {
          this.counters.failed++;
          if (!this.destroyed.signal.aborted) this.log?.error({ err: e, reason: r.event.reason, name: r.event.metadata.name }, 'server rejected event (will not retry)');
          return;
        }
        if (attempt >= this.maxAttempts || this.closing.signal.aborted) {
          this.counters.failed++;
          this.log?.error({ err: e, reason: r.event.reason, attempts: attempt }, 'unable to write event; giving up');
          return;
        }
        this.log?.debug({ err: e, attempt }, 'event write failed; will retry');
      }
      const waitMs = attempt === 1 ? this.random() * this.retryIntervalMs : this.retryIntervalMs;
      try {
        await sleep(waitMs, undefined, { ref: false, signal: this.closing.signal });
      } catch {
        // Closing: one last attempt for this event, then the next.
      }
    }
  }

  private async write(r: Extract<CorrelateResult, { skip: false }>): Promise<CoreEvent> {
    const signal = AbortSignal.any([this.destroyed.signal, AbortSignal.timeout(this.writeTimeoutMs)]);
    const { namespace = 'default', name = '' } = r.event.metadata;
    if (r.patch) {
      try {
        return await this.client.patch<CoreEvent>(resources.events, namespace, name, 'merge', r.patch, { signal });
      } catch (e) {
        if (!isNotFound(e)) throw e;
        // Gone (event TTL, or deleted): recreate it under the same name, as client-go does.
        this.correlator.forget(r.key);
      }
    }
    const { resourceVersion: _rv, ...metadata } = r.event.metadata;
    return this.client.create<CoreEvent>(resources.events, { ...r.event, metadata }, signal);
  }
}
