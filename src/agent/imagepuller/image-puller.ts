/**
 * The executor of pull tasks (spec §4.6, "Per-node concurrency"): it runs each `PullTask` through its states and
 * does the I/O, within these bounds:
 *
 * - **One image at a time**: a per-image lock keyed by the normalised reference (`nginx:1.25` and
 *   `docker.io/library/nginx:1.25` are one image; two tags of one repository are two). It is held for the whole task,
 *   backoff included, so a second task for the same image waits and then finds it present.
 * - **At most `maxConcurrentPulls` PullImage calls at once** (a p-limit). A slot is held only for the PullImage call,
 *   not for the presence check or the backoff, so a present image never waits behind slow downloads.
 * - **Three clocks**: a per-attempt timeout (`timeoutSeconds`), the overall deadline (`activeDeadlineSeconds` from
 *   the status `startTime`, queueing included, as the coordinator's supervision counts from `createdAt`), and — not
 *   possible here — a no-progress watchdog: CRI PullImage is unary and reports nothing while it runs (see
 *   `cri-client.ts`). Known gap, documented where it lives.
 * - **Every wait abortable**: the lock, the slot, the CRI runtime, the calls and the backoff sleeps all take the
 *   task's signal (unlike upstream's `pullWorker.Run`, STYLE A3). Stopping a task records nothing.
 *
 * Each attempt: unless the tag asks for `imagePullPolicy: Always`, an image already present succeeds without a
 * pull (§4.6); otherwise PullImage with each matching pull-secret credential, then anonymously
 * (`pullImageWithCredentials`), then ImageStatus for the image id and size. Failures are scrubbed of the attempt's
 * credentials before they reach the status, events or logs.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import { KruiseError } from '../../api/errors.js';
import type { ReferenceObject } from '../../api/nodeimage-types.js';
import { pullImageWithCredentials } from '../../cri/authenticated-pull.js';
import { CriError } from '../../cri/cri-error.js';
import { ImageReferenceError, parseImageReference, type ParsedReference } from '../../cri/image-reference.js';
import { authConfigSecrets, createRedactor, type Redactor } from '../../cri/redact.js';
import {
  pullAuthAttempts, toAuthConfig, type RegistryCredential, type RegistryKeyring,
} from '../../cri/registry-credentials.js';
import type { SchedulingClock } from '../../kube/workqueue/clock.js';
import type { CriSource } from '../cri-connector.js';
import type { ImagePullerMetrics, PullResult } from './agent-metrics.js';
import { KeyedMutex } from './keyed-mutex.js';
import { wallClock } from './wall-clock.js';
import {
  DEADLINE_MESSAGE, DEFAULT_PULL_BACKOFF, attemptBudgetMs, decideAfterFailure, type PullBackoff, type PullTask,
} from './pull-task.js';

/** Credentials for an image's pull secrets (see `PullSecretReader`). */
export type CredentialSource = (refs: readonly ReferenceObject[], signal: AbortSignal) => Promise<RegistryKeyring>;

export interface ImagePullerOptions {
  cri: CriSource;
  credentials: CredentialSource;
  /** PullImage calls at once on this node (`--max-concurrent-pulls`). @default 2 */
  maxConcurrentPulls?: number;
  /** Waits between attempts: base doubling to cap. @default 1000 → 30000 ms */
  backoff?: Partial<PullBackoff>;
  /** Each wait is lengthened by up to this fraction, at random, then capped. @default 0.1 */
  jitter?: number;
  /** Epoch-ms `now()` and timers (a FakeClock in tests). @default Date.now and unref'd timers */
  clock?: SchedulingClock;
  random?: () => number;
  metrics?: ImagePullerMetrics;
  logger?: Logger;
  /** Called after every state change of a task (status write-back, events). */
  onChange?: (task: PullTask) => void;
}

export interface CompiledImagePullerOptions {
  readonly maxConcurrentPulls: number;
  readonly backoff: PullBackoff;
  readonly jitter: number;
}

export function compileImagePullerOptions(o: Pick<ImagePullerOptions, 'maxConcurrentPulls' | 'backoff' | 'jitter'>): CompiledImagePullerOptions {
  const invalid = (fieldPath: string, message: string) => new KruiseError(`${fieldPath} ${message}`, { reason: 'Invalid', fieldPath });
  const max = o.maxConcurrentPulls ?? 2;
  if (!Number.isInteger(max) || max < 1) throw invalid('maxConcurrentPulls', `must be a positive integer, got ${max}`);
  const baseMs = o.backoff?.baseMs ?? DEFAULT_PULL_BACKOFF.baseMs;
  const capMs = o.backoff?.capMs ?? DEFAULT_PULL_BACKOFF.capMs;
  if (!(baseMs > 0) || !(capMs >= baseMs)) throw invalid('backoff', `needs 0 < baseMs <= capMs, got ${baseMs} and ${capMs}`);
  const jitter = o.jitter ?? 0.1;
  if (!(jitter >= 0 && jitter < 1)) throw invalid('jitter', `must be in [0, 1), got ${jitter}`);
  return Object.freeze({ maxConcurrentPulls: max, backoff: Object.freeze({ baseMs, capMs }), jitter });
}

/** Why an attempt's signal fired. */
type AbortCause = 'stopped' | 'deadline' | 'timeout';

interface Running {
  task: PullTask;
  controller: AbortController;
  done: Promise<void>;
}

interface AttemptOutcome {
  imageId: string;
  pulled: boolean;
}

export class ImagePuller {
  readonly options: CompiledImagePullerOptions;
  private readonly limit: LimitFunction;
  private readonly mutex = new KeyedMutex();
  private readonly running = new Map<PullTask, Running>();
  private readonly clock: SchedulingClock;
  private readonly random: () => number;
  private readonly log: Logger | undefined;
  private waitingCount = 0;
  private inFlightCount = 0;
  private destroyed = false;

  constructor(private readonly o: ImagePullerOptions) {
    this.options = compileImagePullerOptions(o);
    this.limit = pLimit(this.options.maxConcurrentPulls);
    this.clock = o.clock ?? wallClock;
    this.random = o.random ?? Math.random;
    this.log = o.logger?.child({ component: 'image-puller' });
  }

  /** Tasks not finished yet. */
  get size(): number { return this.running.size; }

  /** PullImage calls in progress. */
  get inFlight(): number { return this.inFlightCount; }

  /** Tasks in state Waiting. */
  get waiting(): number { return this.waitingCount; }

  /** Starts running `task` (state Waiting); returns at once. */
  start(task: PullTask): void {
    if (this.destroyed) throw new KruiseError('the image puller is stopped', { reason: 'Aborted' });
    if (this.running.has(task) || task.state !== 'Waiting') return;
    const controller = new AbortController();
    const entry: Running = { task, controller, done: Promise.resolve() };
    this.running.set(task, entry);
    this.setWaiting(+1);
    let leftWaiting = false;
    const leaveWaiting = (): void => {
      if (leftWaiting) return;
      leftWaiting = true;
      this.setWaiting(-1);
    };
    entry.done = this.run(task, controller.signal, leaveWaiting).catch((e: unknown) => {
      this.log?.error({ err: e, image: task.reference }, 'pull task failed unexpectedly');
      if (task.fail(`internal error: ${e instanceof Error ? e.message : String(e)}`, this.clock.now())) this.changed(task);
    }).finally(() => {
      leaveWaiting();
      this.running.delete(task);
    });
  }

  /** Stops a task: it records nothing. Resolves when its work has ended (its lock and slot are free). */
  async stop(task: PullTask, reason = 'stopped'): Promise<void> {
    const entry = this.running.get(task);
    if (entry === undefined) {
      task.stop();
      return;
    }
    entry.controller.abort(new KruiseError(`pull of ${task.reference} ${reason}`, { reason: 'Aborted' }));
    await entry.done;
  }

  /** Waits for every task to finish on its own. */
  async close(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /** Stops every task (they record nothing: a restarted agent resumes them from the status) and waits for them. */
  async destroy(reason = 'the agent is stopping'): Promise<void> {
    this.destroyed = true;
    await Promise.all([...this.running.keys()].map((t) => this.stop(t, reason)));
  }

  private changed(task: PullTask): void {
    try {
      this.o.onChange?.(task);
    } catch (e) {
      this.log?.error({ err: e }, 'pull task observer threw');
    }
  }

  private setWaiting(delta: number): void {
    this.waitingCount += delta;
    this.o.metrics?.queueDepth(this.waitingCount);
  }

  private setInFlight(delta: number): void {
    this.inFlightCount += delta;
    this.o.metrics?.inFlight(this.inFlightCount);
  }

  private finish(task: PullTask, result: PullResult, startedAt: number): void {
    this.o.metrics?.pullFinished(result, this.clock.now() - startedAt);
  }

  /** Runs one task to its end; `leaveWaiting` is called (once is enough) when it leaves state Waiting. */
  private async run(task: PullTask, stopSignal: AbortSignal, leaveWaiting: () => void): Promise<void> {
    const log = this.log?.child({ image: task.image, tag: task.tag, version: task.version });
    const startedAt = this.clock.now();
    let ref: ParsedReference;
    try {
      ref = parseImageReference(task.reference);
    } catch (e) {
      if (!(e instanceof ImageReferenceError)) throw e;
      // No attempt can fix a malformed reference (upstream would retry it 4 times).
      leaveWaiting();
      if (task.fail(e.message, this.clock.now())) {
        this.finish(task, 'failed', startedAt);
        this.changed(task);
      }
      return;
    }

    // The overall deadline fires on the task's own clock; the per-attempt timeout is armed per attempt.
    const deadline = new AbortController();
    const deadlineAt = task.deadlineAtMs;
    const cancelDeadline = deadlineAt === undefined
      ? () => undefined
      : this.clock.schedule(() => deadline.abort(new KruiseError(DEADLINE_MESSAGE, { reason: 'DeadlineExceeded' })),
        deadlineAt - this.clock.now());
    const taskSignal = AbortSignal.any([stopSignal, deadline.signal]);
    const cause = (attemptTimeout?: AbortSignal): AbortCause | undefined => {
      if (stopSignal.aborted) return 'stopped';
      if (deadline.signal.aborted) return 'deadline';
      if (attemptTimeout?.aborted === true) return 'timeout';
      return undefined;
    };
    const failNow = (message: string): void => {
      leaveWaiting();
      if (task.fail(message, this.clock.now())) {
        log?.warn({ attempts: task.attempts, message }, 'image pull failed');
        this.finish(task, 'failed', startedAt);
        this.changed(task);
      }
    };
    const stopNow = (): void => {
      leaveWaiting();
      if (task.stop()) log?.info({ attempts: task.attempts }, 'image pull stopped');
    };

    let release: (() => void) | undefined;
    try {
      try {
        release = await this.mutex.acquire(ref.toString(), taskSignal);
        await this.o.cri.get(taskSignal);
      } catch (e) {
        if (cause() === 'stopped') return stopNow();
        if (cause() === 'deadline') return failNow(DEADLINE_MESSAGE);
        throw e;
      }
      if (attemptBudgetMs(this.clock.now(), task.policy, deadlineAt) === 'deadline') return failNow(DEADLINE_MESSAGE);
      leaveWaiting();
      if (!task.transition(['Waiting'], 'Pulling')) return;
      this.changed(task);
      log?.info({ resumed: task.resumed, maxAttempts: task.policy.maxAttempts }, 'image pull started');

      for (;;) {
        const budget = attemptBudgetMs(this.clock.now(), task.policy, deadlineAt);
        if (budget === 'deadline') return failNow(DEADLINE_MESSAGE);
        if (!task.beginAttempt()) return failNow(task.message ?? 'no attempts left');
        const attemptTimeout = new AbortController();
        const cancelTimeout = this.clock.schedule(() => attemptTimeout.abort(
          new KruiseError(`pull attempt timed out after ${Math.round(budget / 1000)}s`, { reason: 'DeadlineExceeded', retryable: true }),
        ), budget);
        const attemptSignal = AbortSignal.any([taskSignal, attemptTimeout.signal]);
        let outcome: AttemptOutcome | undefined;
        let failure: { message: string; retryable: boolean } | undefined;
        try {
          outcome = await this.attempt(task, ref, budget, attemptSignal);
        } catch (e) {
          const why = cause(attemptTimeout.signal);
          if (why === 'stopped') return stopNow();
          if (why === 'deadline') return failNow(DEADLINE_MESSAGE);
          failure = why === 'timeout'
            ? { message: `pull attempt timed out after ${Math.round(budget / 1000)}s`, retryable: true }
            : describeFailure(e);
        } finally {
          cancelTimeout();
        }
        if (outcome !== undefined) {
          if (task.succeed(outcome.imageId, this.clock.now())) {
            log?.info({ attempts: task.attempts, pulled: outcome.pulled, imageId: outcome.imageId }, 'image pull succeeded');
            this.finish(task, outcome.pulled ? 'succeeded' : 'already_present', startedAt);
            this.changed(task);
          }
          return;
        }
        const f = failure ?? { message: 'unknown error', retryable: true };
        const decision = decideAfterFailure({
          attempts: task.attempts, policy: task.policy, nowMs: this.clock.now(), deadlineAtMs: deadlineAt,
          message: f.message, retryable: f.retryable, backoff: this.options.backoff,
        });
        if (decision.kind === 'fail') return failNow(decision.message);
        const delayMs = this.jittered(decision.delayMs, deadlineAt);
        log?.info({ attempt: task.attempts, retryInMs: delayMs, error: f.message }, 'image pull attempt failed; backing off');
        task.recordRetry(f.message);
        this.changed(task);
        try {
          await this.sleep(delayMs, taskSignal);
        } catch (e) {
          if (cause() === 'stopped') return stopNow();
          if (cause() === 'deadline') return failNow(DEADLINE_MESSAGE);
          throw e;
        }
      }
    } finally {
      cancelDeadline();
      release?.();
    }
  }

  /** One attempt. Throws on failure; the caller decides what the failure means. */
  private async attempt(task: PullTask, ref: ParsedReference, budgetMs: number, signal: AbortSignal): Promise<AttemptOutcome> {
    const cri = await this.o.cri.get(signal);
    const image = ref.toString();
    if (task.policy.imagePullPolicy !== 'Always') {
      const present = await cri.imageStatus({ image: { image } }, { signal, timeoutMs: budgetMs });
      if (present.image !== null && present.image.id !== '') return { imageId: present.image.id, pulled: false };
    }
    const keyring = await this.o.credentials(task.pullSecrets, signal);
    const auths = pullAuthAttempts(keyring, ref);
    const redact = redactorFor(auths);
    try {
      const imageRef = await this.withSlot(signal, async () => {
        const res = await pullImageWithCredentials(cri, ref, auths, {
          signal, timeoutMs: budgetMs, ...(this.log !== undefined ? { logger: this.log } : {}),
        });
        return res.imageRef;
      });
      let imageId = imageRef;
      try {
        const after = await cri.imageStatus({ image: { image } }, { signal, timeoutMs: budgetMs });
        if (after.image !== null) {
          if (after.image.id !== '') imageId = after.image.id;
          this.o.metrics?.pulledBytes(Number(after.image.size));
        }
      } catch (e) {
        // The image was pulled; the id from PullImage will do.
        if (signal.aborted) throw e;
      }
      return { imageId, pulled: true };
    } catch (e) {
      throw scrubbed(e, redact);
    }
  }

  /**
   * Runs `fn` in one of the `maxConcurrentPulls` slots. Waiting for a slot is abortable; once `fn` has started, the
   * slot is given back only when `fn` settles (it takes the same signal), so the cap holds even while stopping.
   */
  private async withSlot<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    let started = false;
    const run = this.limit(async () => {
      if (signal.aborted) throw signal.reason;
      started = true;
      this.setInFlight(+1);
      try {
        return await fn();
      } finally {
        this.setInFlight(-1);
      }
    });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    run.catch(() => undefined);
    aborted.catch(() => undefined);
    try {
      return await Promise.race([run, aborted]);
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
      if (started) await run.catch(() => undefined);
    }
  }

  private jittered(delayMs: number, deadlineAt: number | undefined): number {
    const cap = Math.max(delayMs, this.options.backoff.capMs);
    let d = Math.min(cap, delayMs * (1 + this.options.jitter * this.random()));
    if (deadlineAt !== undefined) d = Math.min(d, Math.max(0, deadlineAt - this.clock.now()));
    return Math.round(d);
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        cancel();
        reject(signal.reason);
      };
      const cancel = this.clock.schedule(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** The secrets of every credential an attempt may send, in every form they could be echoed in. */
function redactorFor(auths: readonly (RegistryCredential | null)[]): Redactor {
  return createRedactor(auths.flatMap((a) => (a === null ? [] : authConfigSecrets(toAuthConfig(a)))));
}

/** Defence in depth: CriClient scrubs PullImage errors already; messages are scrubbed again before they travel. */
function scrubbed(e: unknown, redact: Redactor): unknown {
  if (CriError.is(e)) return new KruiseError(redact(e.message), { reason: e.reason, retryable: e.retryable });
  if (e instanceof Error) {
    return new KruiseError(redact(e.message), { reason: KruiseError.is(e) ? e.reason : 'Unknown', retryable: KruiseError.is(e) ? e.retryable : true });
  }
  return new KruiseError(redact(String(e)), { reason: 'Unknown', retryable: true });
}

/**
 * What a failed attempt means. Everything is retried as upstream does — a registry 404 may be a tag not pushed yet,
 * an UNAVAILABLE runtime may come back — except what no retry can change: an invalid reference or request.
 */
function describeFailure(e: unknown): { message: string; retryable: boolean } {
  const message = e instanceof Error ? e.message : String(e);
  if (KruiseError.is(e) && (e.reason === 'InvalidImageName' || e.reason === 'Invalid')) return { message, retryable: false };
  return { message, retryable: true };
}
