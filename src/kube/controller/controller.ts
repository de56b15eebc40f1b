/**
 * The controller loop (A1): one de-duplicating work queue, N workers, each taking a key and running the
 * Reconciler on it with a timeout, a child logger and an abort signal. Outcomes:
 *
 * | reconcile                        | queue                       | counted as                               |
 * |----------------------------------|-----------------------------|------------------------------------------|
 * | resolves, no requeueAfterMs      | forget                      | result=success                           |
 * | resolves, requeueAfterMs > 0     | forget, addAfter            | result=requeue_after                     |
 * | throws TerminalError             | nothing (not retried)       | result=terminal_error, errors{reason}    |
 * | throws KruiseError / times out   | addRateLimited              | result=error, errors{reason}             |
 * | throws anything else (a bug)     | addRateLimited              | result=exception, exceptions, errors{Exception} |
 *
 * Nothing a reconcile throws leaves the loop: the process keeps running and the key is retried with backoff.
 *
 * Shutdown (abort of `start`'s signal, or `close()`): the queue stops handing out keys, in-flight reconciles may
 * finish for `shutdownGraceMs`, then their signals are aborted; if they still have not settled after
 * `shutdownForceMs` more, `start` rejects with a GracefulShutdownPeriodExpired error (A7).
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { KruiseError } from '../../api/errors.js';
import { systemSchedulingClock, type CancelTimer, type SchedulingClock } from '../workqueue/clock.js';
import type { RateLimiter } from '../workqueue/rate-limiters.js';
import { WorkQueue, type WorkQueueMetrics } from '../workqueue/work-queue.js';
import { TerminalError, type Reconciler } from './reconciler.js';

export type ReconcileOutcome = 'success' | 'requeue_after' | 'error' | 'terminal_error' | 'exception';

/** Metric hooks of one controller (`KubeMetrics.controller(name)` gives one). */
export interface ControllerMetrics {
  reconciled(outcome: ReconcileOutcome, durationMs: number): void;
  reconcileError(reason: string): void;
  reconcileException(): void;
}

export interface ControllerMetricsProvider {
  controller(name: string): ControllerMetrics;
  workqueue(name: string): WorkQueueMetrics;
}

export interface ControllerOptions {
  /** Unique per process; names the work queue, the log field `controller` and the metric label. */
  name: string;
  reconciler: Reconciler;
  /** Keys reconciled at once (never the same key twice). @default 1 */
  workers?: number;
  logger: Logger;
  metrics?: ControllerMetricsProvider;
  /** Each reconcile's signal aborts after this long. @default 300_000 (5 min) */
  reconcileTimeoutMs?: number;
  /** After shutdown begins, how long in-flight reconciles may run before their signals abort. @default 30_000 */
  shutdownGraceMs?: number;
  /** After the grace, how long aborted reconciles may take to settle before `start` gives up. @default 5_000 */
  shutdownForceMs?: number;
  /** @default per-key 5 ms → 1000 s, overall 10 qps / burst 100 */
  rateLimiter?: RateLimiter<string>;
  /** @default systemSchedulingClock */
  clock?: SchedulingClock;
}

export interface CompiledControllerOptions {
  readonly name: string;
  readonly reconciler: Reconciler;
  readonly workers: number;
  readonly logger: Logger;
  readonly metrics: ControllerMetricsProvider | undefined;
  readonly reconcileTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly shutdownForceMs: number;
  readonly rateLimiter: RateLimiter<string> | undefined;
  readonly clock: SchedulingClock;
}

function invalid(fieldPath: string, message: string): KruiseError {
  return new KruiseError(`invalid controller options: ${fieldPath} ${message}`, { reason: 'Invalid', fieldPath });
}

function nonNegativeMs(value: number | undefined, fallback: number, fieldPath: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw invalid(fieldPath, `must be a non-negative number of ms, got ${v}`);
  return v;
}

/** Validates once and fills defaults (STYLE habit 11). */
export function compileControllerOptions(o: ControllerOptions): Readonly<CompiledControllerOptions> {
  if (typeof o.name !== 'string' || o.name === '') throw invalid('name', 'must be a non-empty string');
  const workers = o.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw invalid('workers', `must be a positive integer, got ${workers}`);
  const reconcileTimeoutMs = nonNegativeMs(o.reconcileTimeoutMs, 300_000, 'reconcileTimeoutMs');
  if (reconcileTimeoutMs === 0) throw invalid('reconcileTimeoutMs', 'must be positive');
  return Object.freeze({
    name: o.name,
    reconciler: o.reconciler,
    workers,
    logger: o.logger,
    metrics: o.metrics,
    reconcileTimeoutMs,
    shutdownGraceMs: nonNegativeMs(o.shutdownGraceMs, 30_000, 'shutdownGraceMs'),
    shutdownForceMs: nonNegativeMs(o.shutdownForceMs, 5_000, 'shutdownForceMs'),
    rateLimiter: o.rateLimiter,
    clock: o.clock ?? systemSchedulingClock,
  });
}

/**
 * - `new`: constructed; keys may be enqueued already.
 * - `running`: workers take keys.
 * - `draining`: shutdown began; no new keys are handed out, in-flight reconciles finish (or are aborted).
 * - `stopped`: every worker returned (or `start` gave up waiting).
 */
export type ControllerState = 'new' | 'running' | 'draining' | 'stopped';

export class Controller {
  readonly name: string;
  private readonly o: Readonly<CompiledControllerOptions>;
  private readonly logger: Logger;
  private readonly queue: WorkQueue<string>;
  private readonly metrics: ControllerMetrics | undefined;
  private readonly clock: SchedulingClock;
  /** Aborts the signals of in-flight reconciles when the grace runs out, or on `destroy`. */
  private readonly hardStop = new AbortController();
  private current: ControllerState = 'new';
  private readonly timers: CancelTimer[] = [];
  private forceExpired: ((e: Error) => void) | undefined;
  private readonly stopped: Promise<void>;
  private markStopped!: () => void;

  constructor(options: ControllerOptions) {
    this.o = compileControllerOptions(options);
    this.name = this.o.name;
    this.clock = this.o.clock;
    this.logger = this.o.logger.child({ controller: this.name });
    this.metrics = this.o.metrics?.controller(this.name);
    this.queue = new WorkQueue<string>({
      name: this.name,
      clock: this.clock,
      ...(this.o.rateLimiter ? { rateLimiter: this.o.rateLimiter } : {}),
      ...(this.o.metrics ? { metrics: this.o.metrics.workqueue(this.name) } : {}),
    });
    this.stopped = new Promise<void>((resolve) => { this.markStopped = resolve; });
  }

  get state(): ControllerState { return this.current; }

  /** Keys waiting to be reconciled (not counting delayed or in-flight ones). */
  queueLength(): number { return this.queue.len(); }

  /** Asks for `key` to be reconciled. Synchronous and cheap: meant for informer event handlers (STYLE habit 2). */
  enqueue(key: string): void { this.queue.add(key); }

  /** Asks for `key` to be reconciled after `delayMs`. */
  enqueueAfter(key: string, delayMs: number): void { this.queue.addAfter(key, delayMs); }

  /**
   * Runs the workers until `signal` aborts (or `close`/`destroy`), then drains; resolves only after every worker
   * has returned. Can be called once.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.current !== 'new') {
      throw new KruiseError(`controller ${this.name} cannot start in state ${this.current}`, { reason: 'AlreadyStarted' });
    }
    this.transition(['new'], 'running');
    const onAbort = (): void => this.beginDrain();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) this.beginDrain();
    const force = new Promise<never>((_, reject) => { this.forceExpired = reject; });
    try {
      this.logger.info({ workers: this.o.workers }, 'starting workers');
      // Bounded: `workers` comes from validated options.
      const workers = Array.from({ length: this.o.workers }, () => this.runWorker());
      await Promise.race([Promise.all(workers), force]);
      this.logger.info('all workers finished');
    } finally {
      signal.removeEventListener('abort', onAbort);
      for (const cancel of this.timers.splice(0)) cancel();
      this.forceExpired = undefined;
      this.transition(['running', 'draining'], 'stopped');
      this.markStopped();
    }
  }

  /** Begins a graceful shutdown and resolves when `start` has returned (at once if it never ran). */
  close(): Promise<void> {
    if (this.current === 'new') {
      this.queue.shutDown();
      this.transition(['new'], 'stopped');
      this.markStopped();
    } else {
      this.beginDrain();
    }
    return this.stopped;
  }

  /** Shuts down and aborts in-flight reconciles at once; resolves when `start` has returned. */
  destroy(reason: unknown = new KruiseError(`controller ${this.name} destroyed`, { reason: 'Aborted' })): Promise<void> {
    if (!this.hardStop.signal.aborted) this.hardStop.abort(reason);
    return this.close();
  }

  private transition(from: readonly ControllerState[], to: ControllerState): boolean {
    if (!from.includes(this.current)) {
      this.logger.debug({ from: this.current, to }, 'ignored illegal controller state change');
      return false;
    }
    this.logger.debug({ from: this.current, to }, 'controller state change');
    this.current = to;
    return true;
  }

  private beginDrain(): void {
    if (!this.transition(['running'], 'draining')) return;
    this.logger.info({ inFlight: this.queue.inFlight(), graceMs: this.o.shutdownGraceMs }, 'shutting down; draining in-flight reconciles');
    this.queue.shutDown();
    this.timers.push(this.clock.schedule(() => {
      if (this.queue.inFlight() === 0) return;
      this.logger.warn({ inFlight: this.queue.inFlight() }, 'shutdown grace expired; aborting in-flight reconciles');
      if (!this.hardStop.signal.aborted) {
        this.hardStop.abort(new KruiseError(`controller ${this.name}: shutdown grace of ${this.o.shutdownGraceMs} ms expired`, { reason: 'ShutdownGraceExpired' }));
      }
      this.timers.push(this.clock.schedule(() => {
        const err = new KruiseError(
          `controller ${this.name}: ${this.queue.inFlight()} reconciles ignored their abort signal for ${this.o.shutdownForceMs} ms`,
          { reason: 'GracefulShutdownPeriodExpired' },
        );
        this.logger.error({ err }, 'in-flight reconciles did not stop; giving up on them');
        this.forceExpired?.(err);
      }, this.o.shutdownForceMs));
    }, this.o.shutdownGraceMs));
  }

  private async runWorker(): Promise<void> {
    for (;;) {
      const next = await this.queue.get();
      if (next.shutdown) return;
      await this.process(next.item);
    }
  }

  /** Runs one reconcile; never throws. */
  private async process(key: string): Promise<void> {
    const reconcileId = randomUUID();
    const logger = this.logger.child({ key, reconcileId });
    // One controller per reconcile, aborted by its timeout or by a hard stop. (AbortSignal.any per reconcile
    // cost more than the reconcile itself in the runtime benchmark.)
    const abort = new AbortController();
    // A reconcile may run many requests at once on this signal (a scale-out's creates): each listens while in flight.
    setMaxListeners(0, abort.signal);
    let timedOut = false;
    const timeoutMs = this.o.reconcileTimeoutMs;
    const cancelTimeout = this.clock.schedule(() => {
      timedOut = true;
      abort.abort(new KruiseError(`reconcile of ${key} timed out after ${timeoutMs} ms`, { reason: 'Timeout', retryable: true }));
    }, timeoutMs);
    const stop = this.hardStop.signal;
    const onStop = (): void => abort.abort(stop.reason);
    if (stop.aborted) onStop(); else stop.addEventListener('abort', onStop, { once: true });
    const signal = abort.signal;
    const started = this.clock.now();
    let outcome: ReconcileOutcome = 'exception';
    try {
      const result = await this.o.reconciler.reconcile(key, { signal, logger, reconcileId });
      this.queue.forget(key);
      const after = result?.requeueAfterMs;
      if (after !== undefined && after > 0) {
        this.queue.addAfter(key, after);
        outcome = 'requeue_after';
      } else {
        outcome = 'success';
      }
    } catch (e) {
      outcome = this.failed(key, e, logger, timedOut);
    } finally {
      cancelTimeout();
      stop.removeEventListener('abort', onStop);
      this.metrics?.reconciled(outcome, this.clock.now() - started);
      this.queue.done(key);
    }
  }

  private failed(key: string, err: unknown, logger: Logger, timedOut: boolean): ReconcileOutcome {
    if (this.hardStop.signal.aborted) {
      // The queue is shut down: nothing to requeue; the next leader or restart reconciles the key again.
      logger.info({ err }, 'reconcile aborted by shutdown');
      this.metrics?.reconcileError('Aborted');
      return 'error';
    }
    if (timedOut) {
      logger.warn({ err, timeoutMs: this.o.reconcileTimeoutMs }, 'reconcile timed out; retrying with backoff');
      this.metrics?.reconcileError('Timeout');
      this.queue.addRateLimited(key);
      return 'error';
    }
    if (TerminalError.is(err)) {
      logger.error({ err, reason: err.reason }, 'reconcile failed with a terminal error; not retrying');
      this.metrics?.reconcileError(err.reason);
      return 'terminal_error';
    }
    if (KruiseError.is(err)) {
      logger.warn({ err, reason: err.reason, retries: this.queue.numRequeues(key) }, 'reconcile failed; retrying with backoff');
      this.metrics?.reconcileError(err.reason);
      this.queue.addRateLimited(key);
      return 'error';
    }
    // Not one of our errors: a bug (TypeError, a thrown string...). Counted apart, like a recovered panic.
    logger.error({ err, retries: this.queue.numRequeues(key) }, 'reconcile threw an unexpected exception; retrying with backoff');
    this.metrics?.reconcileException();
    this.metrics?.reconcileError('Exception');
    this.queue.addRateLimited(key);
    return 'exception';
  }
}
