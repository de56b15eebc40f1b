/**
 * Retry delays for a work queue, as small composable strategies (A2): a per-key exponential backoff, an overall
 * token bucket, and a max-of combinator. `defaultControllerRateLimiter` is the combination Kubernetes controllers
 * use: 5 ms doubling per failure up to 1000 s for each key, and no more than 10 retries a second overall (burst 100),
 * so a storm of failing keys cannot hammer the API server.
 */
import { TokenBucket } from '../token-bucket.js';
import type { Clock } from './clock.js';

export interface RateLimiter<T = string> {
  /** Records one more failure of `item` and returns how long (ms) to wait before it is processed again. */
  when(item: T): number;
  /** Clears the failure history of `item` (it succeeded, or was given up). */
  forget(item: T): void;
  /** How many failures of `item` are on record. */
  numRequeues(item: T): number;
}

export interface ExponentialBackoffOptions {
  /** Delay after the first failure. @default 5 */
  baseDelayMs?: number;
  /** Upper bound of the delay. @default 1_000_000 (1000 s) */
  maxDelayMs?: number;
}

/** Delay `base · 2^(failures−1)`, capped at `max`, counted per item. */
export class ItemExponentialFailureRateLimiter<T = string> implements RateLimiter<T> {
  private readonly failures = new Map<T, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(o: ExponentialBackoffOptions = {}) {
    this.baseDelayMs = o.baseDelayMs ?? 5;
    this.maxDelayMs = o.maxDelayMs ?? 1_000_000;
    if (!(this.baseDelayMs > 0) || !Number.isFinite(this.baseDelayMs)) throw new RangeError(`baseDelayMs must be a positive number, got ${this.baseDelayMs}`);
    if (!(this.maxDelayMs >= this.baseDelayMs)) throw new RangeError(`maxDelayMs must be at least baseDelayMs, got ${this.maxDelayMs}`);
  }

  when(item: T): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    // 2^n overflows to Infinity near n = 1024; the cap is reached long before, so the comparison stays exact.
    const delay = this.baseDelayMs * 2 ** n;
    return delay > this.maxDelayMs || !Number.isFinite(delay) ? this.maxDelayMs : delay;
  }

  forget(item: T): void { this.failures.delete(item); }

  numRequeues(item: T): number { return this.failures.get(item) ?? 0; }
}

export interface BucketOptions {
  /** Sustained retries per second. @default 10 */
  qps?: number;
  /** Retries allowed at once above the sustained rate. @default 100 */
  burst?: number;
  clock?: Clock;
}

/**
 * One token bucket for all items: each `when` reserves a token and returns the wait until it is available, so
 * retries are spread at `qps` once the burst is spent. Per-item history is not kept.
 */
export class BucketRateLimiter<T = string> implements RateLimiter<T> {
  private readonly bucket: TokenBucket;

  constructor(o: BucketOptions = {}) {
    this.bucket = new TokenBucket(o.qps ?? 10, o.burst ?? 100, ...(o.clock ? [o.clock] : []));
  }

  when(_item: T): number { return this.bucket.reserve(); }

  forget(_item: T): void { /* no per-item state */ }

  numRequeues(_item: T): number { return 0; }
}

/** The longest delay any of its limiters asks for; `forget` reaches all of them. */
export class MaxOfRateLimiter<T = string> implements RateLimiter<T> {
  private readonly limiters: readonly RateLimiter<T>[];

  constructor(...limiters: RateLimiter<T>[]) {
    if (limiters.length === 0) throw new RangeError('MaxOfRateLimiter needs at least one limiter');
    this.limiters = limiters;
  }

  when(item: T): number {
    // Every limiter must see the failure (each keeps its own count or reserves its own token).
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(item));
    return max;
  }

  forget(item: T): void { for (const l of this.limiters) l.forget(item); }

  numRequeues(item: T): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(item));
    return max;
  }
}

/** Per-key 5 ms → 1000 s exponential backoff combined with an overall 10 qps / burst 100 bucket. */
export function defaultControllerRateLimiter<T = string>(clock?: Clock): RateLimiter<T> {
  return new MaxOfRateLimiter<T>(
    new ItemExponentialFailureRateLimiter<T>({ baseDelayMs: 5, maxDelayMs: 1_000_000 }),
    new BucketRateLimiter<T>({ qps: 10, burst: 100, ...(clock ? { clock } : {}) }),
  );
}
