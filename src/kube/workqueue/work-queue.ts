/**
 * The work queue of a controller (A2; client-go's queue, delaying queue and rate-limited queue in one class).
 *
 * - De-duplicating: a key added any number of times before a worker takes it is handed out once (`dirty` set).
 * - Never twice at once: a key being processed (`processing` set) is not handed to another worker; adding it
 *   meanwhile marks it dirty, and `done` puts it back in the queue, so the change is not lost.
 * - Delaying: `addAfter` keeps the earliest requested time per key and one timer for the earliest of all keys.
 * - Rate limited: `addRateLimited` asks the RateLimiter how long to wait; `forget` clears the key's backoff.
 *
 * Unlike client-go, once shut down `get` hands out nothing more: keys still queued are dropped, because a
 * controller reconciles by level and a restarted (or newly elected) instance lists every object again. Only keys
 * already being processed are drained (`shutDownWithDrain`).
 */
import { clampDelayMs, systemSchedulingClock, type CancelTimer, type SchedulingClock } from './clock.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiters.js';

/** What `get` yields: the next key, or the news that the queue was shut down. */
export type GetResult<T> = { shutdown: false; item: T } | { shutdown: true };

/** Hooks for metrics (`KubeMetrics.workqueue(name)` gives one); durations in ms. */
export interface WorkQueueMetrics {
  /** A key was added that was not already waiting. */
  added(): void;
  /** Keys waiting to be handed out. */
  depth(n: number): void;
  /** How long a key waited between its add and being handed out. */
  queued(durationMs: number): void;
  /** How long a key was held between `get` and `done`. */
  worked(durationMs: number): void;
  /** A key was re-added through `addRateLimited`. */
  retried(): void;
}

export interface WorkQueueOptions<T> {
  /** Used in metrics and error messages. @default 'workqueue' */
  name?: string;
  /** @default systemSchedulingClock */
  clock?: SchedulingClock;
  /** @default defaultControllerRateLimiter(clock) */
  rateLimiter?: RateLimiter<T>;
  metrics?: WorkQueueMetrics;
}

interface Getter<T> { resolve(r: GetResult<T>): void; detach(): void }
interface Delayed<T> { at: number; seq: number; item: T }

/** FIFO with O(1) shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number { return this.items.length - this.head; }
  push(item: T): void { this.items.push(item); }
  shift(): T {
    const item = this.items[this.head] as T;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) { this.items = this.items.slice(this.head); this.head = 0; }
    return item;
  }
  clear(): T[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}

/** Binary min-heap on (at, seq), so equal due times keep insertion order. */
class DelayHeap<T> {
  private readonly a: Delayed<T>[] = [];
  get size(): number { return this.a.length; }
  peek(): Delayed<T> | undefined { return this.a[0]; }
  clear(): void { this.a.length = 0; }
  push(e: Delayed<T>): void {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i] as Delayed<T>, a[p] as Delayed<T>)) break;
      [a[i], a[p]] = [a[p] as Delayed<T>, a[i] as Delayed<T>];
      i = p;
    }
  }
  pop(): Delayed<T> | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l] as Delayed<T>, a[m] as Delayed<T>)) m = l;
        if (r < a.length && less(a[r] as Delayed<T>, a[m] as Delayed<T>)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as Delayed<T>, a[i] as Delayed<T>];
        i = m;
      }
    }
    return top;
  }
}

function less<T>(x: Delayed<T>, y: Delayed<T>): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

export class WorkQueue<T = string> {
  readonly name: string;
  private readonly clock: SchedulingClock;
  private readonly rateLimiter: RateLimiter<T>;
  private readonly metrics: WorkQueueMetrics | undefined;

  private readonly queue = new Fifo<T>();
  /** Keys that need processing: queued, or re-added while being processed. */
  private readonly dirty = new Set<T>();
  /** Keys handed out and not yet `done`. */
  private readonly processing = new Set<T>();
  private readonly addedAt = new Map<T, number>();
  private readonly startedAt = new Map<T, number>();
  private readonly getters: Getter<T>[] = [];
  private readonly drainWaiters = new Set<() => void>();
  private shuttingDown = false;

  /** The live delay of each delayed key; heap entries that no longer match are stale and skipped. */
  private readonly delayed = new Map<T, Delayed<T>>();
  private readonly heap = new DelayHeap<T>();
  private seq = 0;
  private timer: { at: number; cancel: CancelTimer } | undefined;

  constructor(o: WorkQueueOptions<T> = {}) {
    this.name = o.name ?? 'workqueue';
    this.clock = o.clock ?? systemSchedulingClock;
    this.rateLimiter = o.rateLimiter ?? defaultControllerRateLimiter<T>(this.clock);
    this.metrics = o.metrics;
  }

  /** Marks `item` as needing processing. Ignored after shutdown. */
  add(item: T): void {
    if (this.shuttingDown || this.dirty.has(item)) return;
    this.metrics?.added();
    this.dirty.add(item);
    this.addedAt.set(item, this.clock.now());
    if (this.processing.has(item)) return; // `done` re-queues it
    this.enqueue(item);
  }

  /** Adds `item` once `delayMs` has passed; of several pending delays for one key the earliest wins. */
  addAfter(item: T, delayMs: number): void {
    if (this.shuttingDown) return;
    if (!(delayMs > 0)) { this.add(item); return; }
    const at = this.clock.now() + delayMs;
    const current = this.delayed.get(item);
    if (current && current.at <= at) return;
    const entry: Delayed<T> = { at, seq: this.seq++, item };
    this.delayed.set(item, entry);
    this.heap.push(entry);
    this.armTimer();
  }

  /** Adds `item` after the delay its rate limiter gives for one more failure. */
  addRateLimited(item: T): void {
    if (this.shuttingDown) return;
    this.metrics?.retried();
    this.addAfter(item, this.rateLimiter.when(item));
  }

  /** Clears the backoff of `item`; it does not remove the key from the queue. */
  forget(item: T): void { this.rateLimiter.forget(item); }

  numRequeues(item: T): number { return this.rateLimiter.numRequeues(item); }

  /**
   * Waits for the next key. The caller owns it until `done(item)`. Resolves `{ shutdown: true }` once the queue is
   * shut down; rejects with the signal's reason if `signal` aborts first.
   */
  get(signal?: AbortSignal): Promise<GetResult<T>> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.shuttingDown) return Promise.resolve({ shutdown: true });
    if (this.queue.length > 0) return Promise.resolve({ shutdown: false, item: this.start(this.queue.shift()) });
    return new Promise<GetResult<T>>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.getters.indexOf(getter);
        if (i >= 0) this.getters.splice(i, 1);
        reject(signal?.reason);
      };
      const getter: Getter<T> = {
        resolve,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.getters.push(getter);
    });
  }

  /** Ends the processing of `item`; if it was added meanwhile it goes back in the queue. */
  done(item: T): void {
    if (!this.processing.delete(item)) return;
    const started = this.startedAt.get(item);
    this.startedAt.delete(item);
    if (started !== undefined) this.metrics?.worked(this.clock.now() - started);
    if (this.dirty.has(item)) {
      if (this.shuttingDown) { this.dirty.delete(item); this.addedAt.delete(item); } else this.enqueue(item);
    }
    if (this.shuttingDown && this.processing.size === 0) this.notifyDrained();
  }

  /** Keys waiting to be handed out (not counting delayed or in-flight ones). */
  len(): number { return this.queue.length; }

  /** Keys handed out and not yet done. */
  inFlight(): number { return this.processing.size; }

  isShuttingDown(): boolean { return this.shuttingDown; }

  /**
   * Stops handing out keys: waiting and later `get` calls resolve `{ shutdown: true }`, adds are ignored, queued
   * and delayed keys are dropped. In-flight keys may still be `done`.
   */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.heap.clear();
    this.delayed.clear();
    for (const item of this.queue.clear()) { this.dirty.delete(item); this.addedAt.delete(item); }
    this.metrics?.depth(0);
    for (const g of this.getters.splice(0)) { g.detach(); g.resolve({ shutdown: true }); }
    if (this.processing.size === 0) this.notifyDrained();
  }

  /**
   * Shuts down and resolves once every in-flight key is `done`. Rejects with the signal's reason if `signal` aborts
   * first (the queue stays shut down).
   */
  shutDownWithDrain(signal?: AbortSignal): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { this.drainWaiters.delete(waiter); reject(signal?.reason); };
      const waiter = (): void => { signal?.removeEventListener('abort', onAbort); resolve(); };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.drainWaiters.add(waiter);
    });
  }

  private enqueue(item: T): void {
    const getter = this.getters.shift();
    if (getter) {
      getter.detach();
      getter.resolve({ shutdown: false, item: this.start(item) });
      return;
    }
    this.queue.push(item);
    this.metrics?.depth(this.queue.length);
  }

  /** Moves a key from waiting to processing. */
  private start(item: T): T {
    const now = this.clock.now();
    this.dirty.delete(item);
    this.processing.add(item);
    const added = this.addedAt.get(item);
    this.addedAt.delete(item);
    if (added !== undefined) this.metrics?.queued(now - added);
    this.startedAt.set(item, now);
    this.metrics?.depth(this.queue.length);
    return item;
  }

  private notifyDrained(): void {
    const waiters = [...this.drainWaiters];
    this.drainWaiters.clear();
    for (const w of waiters) w();
  }

  /** Keeps exactly one timer, due at the earliest live delay. */
  private armTimer(): void {
    let top = this.heap.peek();
    while (top && this.delayed.get(top.item) !== top) { this.heap.pop(); top = this.heap.peek(); }
    if (!top) {
      this.timer?.cancel();
      this.timer = undefined;
      return;
    }
    if (this.timer && this.timer.at === top.at) return;
    this.timer?.cancel();
    const at = top.at;
    // The scheduler clamps to 2^31−1 ms; a timer that wakes early just finds nothing due and re-arms.
    const cancel = this.clock.schedule(() => { this.timer = undefined; this.fireDue(); }, clampDelayMs(at - this.clock.now()));
    this.timer = { at, cancel };
  }

  private fireDue(): void {
    const now = this.clock.now();
    for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      if (this.delayed.get(top.item) !== top) continue;
      this.delayed.delete(top.item);
      this.add(top.item);
    }
    if (!this.shuttingDown) this.armTimer();
  }
}
