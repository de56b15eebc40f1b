/**
 * Decides, for each event to record, whether to create a new core/v1 Event, PATCH an existing one, or drop it, as
 * client-go's `EventCorrelator` does (`tools/record/events_cache.go`, read for facts):
 * 1. Similar-event aggregation: events that differ only in message (same source, involved object, type, reason,
 *    reporting component/instance) are tracked per key; once `maxSimilarEvents` (10) distinct messages were seen
 *    with no gap longer than `similarWindowMs` (10 min), each further one becomes a single
 *    "(combined from similar events): <latest message>" Event whose count grows.
 * 2. Exact-duplicate aggregation: an event equal to one already written (same source, involved object incl.
 *    fieldPath, type, reason, message) within `duplicateWindowMs` (10 min) PATCHes that Event's `count`,
 *    `lastTimestamp` and `message` instead of creating another. client-go has no window here (only its LRU);
 *    ours lets an Event garbage-collected by the API server's event TTL (1 h) be re-created cleanly.
 * 3. Spam filter: a token bucket per (source, involved object): burst 25, refilled 1 per 5 min. It applies after
 *    1-2, so repeats of one event are limited too. Dropped events are gone (client-go does the same).
 * All caches are LRUs of 4096 entries. The correlator is synchronous and single-threaded: the recorder calls
 * `correlate` and then, after the write succeeded, `updateState`, from its one background loop.
 */
import type { ObjectReference } from '../../api/object-reference.js';
import type { KubeObject } from '../../api/meta.js';
import { TokenBucket, type Clock } from '../token-bucket.js';
import { LruCache } from './lru-cache.js';
import type { EventType } from './reasons.js';

/** core/v1 Event, the fields we write. */
export interface CoreEvent extends KubeObject {
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  type: EventType;
  source: { component: string; host?: string };
  /** metav1.Time, RFC 3339 seconds. */
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  eventTime: null;
  reportingComponent: string;
  reportingInstance: string;
}

export interface EventCorrelatorOptions {
  /** Epoch milliseconds. */
  clock: Clock;
  /** @default 4096 */
  lruSize?: number;
  /** Events allowed at once per source and object. @default 25 */
  spamBurst?: number;
  /** Refill of that bucket, per second. @default 1/300 (one per 5 minutes) */
  spamQps?: number;
  /** Distinct messages of one (object, type, reason) before they are combined. @default 10 */
  maxSimilarEvents?: number;
  /** @default 600000 */
  similarWindowMs?: number;
  /** @default 600000 */
  duplicateWindowMs?: number;
}

/** The merge patch client-go sends for a repeat. */
export interface EventRepeatPatch { count: number; lastTimestamp: string; message: string }

export type CorrelateResult =
  | { skip: true; reason: 'spam' }
  | { skip: false; event: CoreEvent; key: string; patch?: EventRepeatPatch };

interface SimilarRecord { messages: Set<string>; lastAt: number }
interface ObservedRecord { count: number; firstTimestamp: string; name: string; resourceVersion: string | undefined; lastAt: number }

export const COMBINED_PREFIX = '(combined from similar events): ';

function sourceAndObject(e: CoreEvent): string[] {
  const o = e.involvedObject;
  return [e.source.component, e.source.host ?? '', o.kind ?? '', o.namespace ?? '', o.name ?? '', o.uid ?? '', o.apiVersion ?? ''];
}

/** Keys are joined with NUL, which no Kubernetes name or reason contains (client-go joins with "": ambiguous). */
const join = (parts: readonly string[]): string => parts.join('\u0000');

export function spamKey(e: CoreEvent): string {
  return join(sourceAndObject(e));
}

export function eventKey(e: CoreEvent): string {
  return join(['event', ...sourceAndObject(e), e.involvedObject.fieldPath ?? '', e.type, e.reason, e.message]);
}

function similarKey(e: CoreEvent): string {
  return join(['similar', ...sourceAndObject(e), e.type, e.reason, e.reportingComponent, e.reportingInstance]);
}

/** metav1.Time on the wire (seconds precision). */
export function formatTime(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class EventCorrelator {
  private readonly clock: Clock;
  private readonly spam: LruCache<string, TokenBucket>;
  private readonly similar: LruCache<string, SimilarRecord>;
  private readonly observed: LruCache<string, ObservedRecord>;
  private readonly spamBurst: number;
  private readonly spamQps: number;
  private readonly maxSimilar: number;
  private readonly similarWindowMs: number;
  private readonly duplicateWindowMs: number;

  constructor(o: EventCorrelatorOptions) {
    const lru = o.lruSize ?? 4096;
    this.clock = o.clock;
    this.spam = new LruCache(lru);
    this.similar = new LruCache(lru);
    this.observed = new LruCache(lru);
    this.spamBurst = o.spamBurst ?? 25;
    this.spamQps = o.spamQps ?? 1 / 300;
    this.maxSimilar = o.maxSimilarEvents ?? 10;
    this.similarWindowMs = o.similarWindowMs ?? 600_000;
    this.duplicateWindowMs = o.duplicateWindowMs ?? 600_000;
  }

  /**
   * `event` is a fresh Event (count 1) named `<object>.<hex nanos>`; `combinedName` names a combined Event should
   * this one start one. Returns what to write.
   */
  correlate(event: CoreEvent, combinedName: string): CorrelateResult {
    const now = this.clock.now();
    const { event: aggregated, key } = this.aggregate(event, combinedName, now);
    const result = this.observe(aggregated, key, now);
    if (!this.allow(aggregated)) return { skip: true, reason: 'spam' };
    return result;
  }

  /** Records the Event as the server returned it, so the next repeat patches it. */
  updateState(written: CoreEvent, key: string): void {
    this.observed.set(key, {
      count: written.count ?? 1,
      firstTimestamp: written.firstTimestamp,
      name: written.metadata.name ?? '',
      resourceVersion: written.metadata.resourceVersion,
      lastAt: this.clock.now(),
    });
  }

  /** Forgets an Event the server no longer has. */
  forget(key: string): void {
    this.observed.delete(key);
  }

  private aggregate(event: CoreEvent, combinedName: string, now: number): { event: CoreEvent; key: string } {
    const sKey = similarKey(event);
    let rec = this.similar.get(sKey);
    if (!rec || now - rec.lastAt > this.similarWindowMs) rec = { messages: new Set(), lastAt: now };
    rec.messages.add(event.message);
    rec.lastAt = now;
    this.similar.set(sKey, rec);
    if (rec.messages.size < this.maxSimilar) return { event, key: eventKey(event) };
    const combined: CoreEvent = {
      ...event,
      metadata: { name: combinedName, namespace: event.metadata.namespace },
      message: COMBINED_PREFIX + event.message,
    };
    return { event: combined, key: sKey };
  }

  private observe(event: CoreEvent, key: string, now: number): CorrelateResult {
    const last = this.observed.get(key);
    if (!last || now - last.lastAt > this.duplicateWindowMs) return { skip: false, event, key };
    const count = last.count + 1;
    const repeat: CoreEvent = {
      ...event,
      metadata: { ...event.metadata, name: last.name, ...(last.resourceVersion ? { resourceVersion: last.resourceVersion } : {}) },
      count,
      firstTimestamp: last.firstTimestamp,
    };
    return { skip: false, event: repeat, key, patch: { count, lastTimestamp: event.lastTimestamp, message: event.message } };
  }

  private allow(event: CoreEvent): boolean {
    const key = spamKey(event);
    let bucket = this.spam.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.spamQps, this.spamBurst, this.clock);
      this.spam.set(key, bucket);
    }
    return bucket.tryTake();
  }
}
