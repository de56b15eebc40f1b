/**
 * A tiny keyed queue for the API server's own controllers (GC, namespaces, CRDs): work for a key runs once even if
 * queued many times, never twice at once, and failures retry with capped exponential backoff. The controller
 * runtime in src/kube is the general version; this one must live below it, inside the server.
 */
export interface RetryQueueOptions {
  /** @default 50 */
  initialBackoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
  onError?: (key: string, error: unknown) => void;
}

export class RetryQueue {
  private readonly pending = new Set<string>();
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly work: (key: string) => Promise<void>, private readonly opts: RetryQueueOptions = {}) {}

  add(key: string): void {
    if (this.closed) return;
    if (this.running.has(key)) { this.again.add(key); return; }
    if (this.pending.has(key)) return;
    this.pending.add(key);
    setImmediate(() => { void this.run(key); });
  }

  private async run(key: string): Promise<void> {
    this.pending.delete(key);
    if (this.closed || this.running.has(key)) return;
    this.running.add(key);
    try {
      await this.work(key);
      this.failures.delete(key);
    } catch (e) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.opts.onError?.(key, e);
      const delay = Math.min((this.opts.initialBackoffMs ?? 50) * 2 ** (n - 1), this.opts.maxBackoffMs ?? 30000);
      const timer = setTimeout(() => { this.timers.delete(timer); this.add(key); }, delay);
      timer.unref();
      this.timers.add(timer);
    } finally {
      this.running.delete(key);
      if (this.again.delete(key)) this.add(key);
      this.notifyIdle();
    }
  }

  /** Resolves when nothing is pending or running (timers for retries do not count). */
  idle(): Promise<void> {
    if (this.pending.size === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private notifyIdle(): void {
    if (this.pending.size === 0 && this.running.size === 0) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pending.clear();
  }
}
