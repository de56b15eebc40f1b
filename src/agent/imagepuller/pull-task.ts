/**
 * One pull of one NodeImage tag at one spec version, as an explicit state machine, plus the pure decisions around
 * it (spec §4.6): which tags to start, stop, adopt or drop (`planPulls`), how many attempts and how long to wait
 * between them, when the active deadline has passed, and what the NodeImage status says (`buildNodeImageStatus`).
 * Nothing here does I/O or reads a clock: `now` is always passed in (STYLE habit 1).
 *
 *   Waiting ──► Pulling ──► Succeeded
 *      │           │   └──► Failed
 *      │           └──────► Stopped
 *      ├──► Failed   (invalid reference, or the active deadline passed while queued)
 *      └──► Stopped  (tag left the spec, its version changed, or the agent is stopping)
 *
 * - `Waiting`: accepted, queued behind the per-image lock, a concurrency slot or the CRI runtime. Written to the
 *   status as phase `Waiting` (declared upstream, unused there) so the coordinator sees the node has answered: its
 *   supervision fails a tag that has no status 60 s after `createdAt` (§4.4). The coordinator counts it as pulling.
 * - `Pulling`: attempts running, or the backoff between them.
 * - `Succeeded` / `Failed`: final; the status gets `completionTime`.
 * - `Stopped`: final; records nothing (§4.6 "a stopped worker records nothing").
 */
import type {
  ImagePullPhase, ImageTagSpec, ImageTagStatus, NodeImageSpec, NodeImageStatus, ReferenceObject,
} from '../../api/nodeimage-types.js';
import { DEFAULT_IMAGE_PULL_BACKOFF_LIMIT, DEFAULT_IMAGE_PULL_TIMEOUT_SECONDS } from '../../api/defaults/imagepulljob-defaults.js';
import type { ObjectReference } from '../../api/object-reference.js';

export type PullTaskState = 'Waiting' | 'Pulling' | 'Succeeded' | 'Failed' | 'Stopped';

/** The moves the state machine allows; everything else is refused by `transition`. */
export const PULL_TASK_TRANSITIONS: Readonly<Record<PullTaskState, readonly PullTaskState[]>> = Object.freeze({
  Waiting: ['Pulling', 'Failed', 'Stopped'],
  Pulling: ['Succeeded', 'Failed', 'Stopped'],
  Succeeded: [],
  Failed: [],
  Stopped: [],
});

export function isFinished(state: PullTaskState): boolean {
  return state === 'Succeeded' || state === 'Failed' || state === 'Stopped';
}

/** Status message when `activeDeadlineSeconds` runs out (upstream's text, which users grep for). */
export const DEADLINE_MESSAGE = 'pulling exceeds the activeDeadlineSeconds';

/** `imagePullPolicy` of a tag: `Always` re-pulls an image already present (spec "Re-pull of moving tags"). */
export type TagImagePullPolicy = 'Always' | 'IfNotPresent';

/** A tag's pull policy, validated and in ms. */
export interface CompiledTagPolicy {
  /** Per-attempt timeout (`timeoutSeconds`, default 600; ≤ 0 falls back to the default, as upstream). */
  readonly attemptTimeoutMs: number;
  /** `backoffLimit + 1`; a negative (or absent) backoffLimit means 3, so 4 attempts. */
  readonly maxAttempts: number;
  /** `activeDeadlineSeconds` in ms, measured from the status `startTime`; undefined = no deadline. */
  readonly activeDeadlineMs: number | undefined;
  readonly imagePullPolicy: TagImagePullPolicy;
}

/** The tag's optional `imagePullPolicy` (our addition, set by the coordinator from the job); absent = IfNotPresent. */
export function tagImagePullPolicy(tag: ImageTagSpec): TagImagePullPolicy {
  return tag.imagePullPolicy === 'Always' ? 'Always' : 'IfNotPresent';
}

export function compileTagPolicy(tag: ImageTagSpec): CompiledTagPolicy {
  const p = tag.pullPolicy ?? {};
  const timeoutSeconds = typeof p.timeoutSeconds === 'number' && p.timeoutSeconds > 0
    ? p.timeoutSeconds : DEFAULT_IMAGE_PULL_TIMEOUT_SECONDS;
  const backoffLimit = typeof p.backoffLimit === 'number' && p.backoffLimit >= 0
    ? Math.floor(p.backoffLimit) : DEFAULT_IMAGE_PULL_BACKOFF_LIMIT;
  const deadline = typeof p.activeDeadlineSeconds === 'number' && Number.isFinite(p.activeDeadlineSeconds)
    ? Math.max(0, p.activeDeadlineSeconds) * 1000 : undefined;
  return Object.freeze({
    attemptTimeoutMs: timeoutSeconds * 1000,
    maxAttempts: backoffLimit + 1,
    activeDeadlineMs: deadline,
    imagePullPolicy: tagImagePullPolicy(tag),
  });
}

export interface PullBackoff {
  /** Wait after the first failed attempt. @default 1000 */
  readonly baseMs: number;
  /** Longest wait. @default 30000 */
  readonly capMs: number;
}

export const DEFAULT_PULL_BACKOFF: PullBackoff = Object.freeze({ baseMs: 1000, capMs: 30_000 });

/** The wait after the `failedAttempts`-th failed attempt (1-based): 1 s, 2 s, 4 s … capped at 30 s (§4.6). */
export function pullBackoffMs(failedAttempts: number, backoff: PullBackoff = DEFAULT_PULL_BACKOFF): number {
  const n = Math.max(1, Math.floor(failedAttempts));
  // 2^(n-1) overflows to Infinity for huge n; the cap still applies.
  return Math.min(backoff.capMs, backoff.baseMs * 2 ** (n - 1));
}

/** When the deadline falls, as epoch ms; undefined when there is none or `startTime` cannot be read. */
export function deadlineAt(startTime: string | undefined, policy: CompiledTagPolicy): number | undefined {
  if (policy.activeDeadlineMs === undefined || startTime === undefined) return undefined;
  const start = Date.parse(startTime);
  return Number.isNaN(start) ? undefined : start + policy.activeDeadlineMs;
}

/**
 * How long the next attempt may run: its own timeout, shortened so it ends at the deadline (§4.6: the deadline
 * "also shortens the last attempt"); `'deadline'` when the deadline has already passed.
 */
export function attemptBudgetMs(nowMs: number, policy: CompiledTagPolicy, deadlineAtMs: number | undefined): number | 'deadline' {
  if (deadlineAtMs === undefined) return policy.attemptTimeoutMs;
  const left = deadlineAtMs - nowMs;
  if (left <= 0) return 'deadline';
  return Math.min(policy.attemptTimeoutMs, left);
}

export type FailureDecision =
  | { readonly kind: 'retry'; readonly delayMs: number }
  | { readonly kind: 'fail'; readonly message: string };

export interface FailureInput {
  /** Attempts made so far, the failed one included. */
  readonly attempts: number;
  readonly policy: CompiledTagPolicy;
  readonly nowMs: number;
  readonly deadlineAtMs: number | undefined;
  /** The failed attempt's error text, already scrubbed. */
  readonly message: string;
  /** False for errors no retry can fix (an invalid image reference). */
  readonly retryable: boolean;
  readonly backoff?: PullBackoff;
}

/**
 * After a failed attempt: fail with the last error when attempts are used up or the error cannot be fixed by
 * retrying; fail with `DEADLINE_MESSAGE` when the deadline has passed; otherwise wait (never past the deadline) and
 * try again.
 */
export function decideAfterFailure(f: FailureInput): FailureDecision {
  if (!f.retryable || f.attempts >= f.policy.maxAttempts) return { kind: 'fail', message: f.message };
  if (f.deadlineAtMs !== undefined && f.nowMs >= f.deadlineAtMs) return { kind: 'fail', message: DEADLINE_MESSAGE };
  const wait = pullBackoffMs(f.attempts, f.backoff);
  const delayMs = f.deadlineAtMs === undefined ? wait : Math.min(wait, f.deadlineAtMs - f.nowMs);
  return { kind: 'retry', delayMs };
}

// ---- references ------------------------------------------------------------------------------------------------

/** `sha256:<hex>`-style tags are digests (§4.3: "a digest like `sha256:…` is also stored here"). */
const DIGEST_TAG = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/** What to ask the runtime for: `name:tag`, or `name@digest` when the tag is a digest. */
export function pullReference(image: string, tag: string): string {
  return DIGEST_TAG.test(tag) ? `${image}@${tag}` : `${image}:${tag}`;
}

/** Identity of a tag entry within one NodeImage (`|` occurs in neither image names nor tags). */
export function tagKey(image: string, tag: string): string {
  return `${image}|${tag}`;
}

/** RFC 3339 with whole seconds, as metav1.Time serialises. */
export function formatTime(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---- the task --------------------------------------------------------------------------------------------------

export interface PullTaskInit {
  readonly image: string;
  readonly tag: string;
  readonly version: number;
  readonly policy: CompiledTagPolicy;
  readonly pullSecrets: readonly ReferenceObject[];
  readonly ownerReferences: readonly ObjectReference[];
  /** RFC 3339; the status's when resuming, else when the tag was accepted. */
  readonly startTime: string;
  /** True when continuing a pull a previous agent recorded as unfinished. */
  readonly resumed: boolean;
}

export type TransitionObserver = (task: PullTask, from: PullTaskState, to: PullTaskState, accepted: boolean) => void;

/**
 * Bookkeeping of one pull: state, attempts, and what its status says. Mutated only by the executor, through
 * `transition` and the `record*` methods.
 */
export class PullTask {
  readonly image: string;
  readonly tag: string;
  readonly version: number;
  readonly key: string;
  /** `name:tag` or `name@digest` as written in the NodeImage (not normalised). */
  readonly reference: string;
  readonly policy: CompiledTagPolicy;
  readonly pullSecrets: readonly ReferenceObject[];
  readonly ownerReferences: readonly ObjectReference[];
  readonly startTime: string;
  readonly resumed: boolean;
  private current: PullTaskState = 'Waiting';
  private attemptCount = 0;
  private completion: string | undefined;
  private runtimeImageId: string | undefined;
  private lastMessage: string | undefined;

  constructor(init: PullTaskInit, private readonly observe?: TransitionObserver) {
    this.image = init.image;
    this.tag = init.tag;
    this.version = init.version;
    this.key = tagKey(init.image, init.tag);
    this.reference = pullReference(init.image, init.tag);
    this.policy = init.policy;
    this.pullSecrets = init.pullSecrets;
    this.ownerReferences = init.ownerReferences;
    this.startTime = init.startTime;
    this.resumed = init.resumed;
  }

  get state(): PullTaskState { return this.current; }
  get attempts(): number { return this.attemptCount; }
  get message(): string | undefined { return this.lastMessage; }
  get imageId(): string | undefined { return this.runtimeImageId; }
  get completionTime(): string | undefined { return this.completion; }
  get finished(): boolean { return isFinished(this.current); }
  get deadlineAtMs(): number | undefined { return deadlineAt(this.startTime, this.policy); }

  /** Moves to `to` if the current state is in `from` and the move is legal; returns whether it moved. */
  transition(from: readonly PullTaskState[], to: PullTaskState): boolean {
    const prev = this.current;
    const accepted = from.includes(prev) && PULL_TASK_TRANSITIONS[prev].includes(to);
    if (accepted) this.current = to;
    this.observe?.(this, prev, to, accepted);
    return accepted;
  }

  /** Counts an attempt about to start; refused unless Pulling and attempts remain. */
  beginAttempt(): boolean {
    if (this.current !== 'Pulling' || this.attemptCount >= this.policy.maxAttempts) return false;
    this.attemptCount++;
    return true;
  }

  /** A failed attempt that will be retried: its error shows in the status while Pulling. */
  recordRetry(message: string): void {
    if (this.current === 'Pulling') this.lastMessage = message;
  }

  succeed(runtimeImageId: string, nowMs: number): boolean {
    if (!this.transition(['Pulling'], 'Succeeded')) return false;
    this.runtimeImageId = runtimeImageId;
    this.lastMessage = undefined;
    this.completion = formatTime(nowMs);
    return true;
  }

  fail(message: string, nowMs: number): boolean {
    if (!this.transition(['Waiting', 'Pulling'], 'Failed')) return false;
    this.lastMessage = message;
    this.completion = formatTime(nowMs);
    return true;
  }

  stop(): boolean {
    return this.transition(['Waiting', 'Pulling'], 'Stopped');
  }

  /** The status entry, or undefined for a stopped task (it records nothing). */
  toStatus(): ImageTagStatus | undefined {
    if (this.current === 'Stopped') return undefined;
    const phase: ImagePullPhase = this.current;
    const status: ImageTagStatus = {
      tag: this.tag,
      phase,
      // Honest progress (spec "Progress"): CRI PullImage is unary, so 0 until done and 100 after.
      progress: phase === 'Succeeded' ? 100 : 0,
      startTime: this.startTime,
      version: this.version,
    };
    if (this.completion !== undefined) status.completionTime = this.completion;
    if (phase === 'Succeeded' && this.runtimeImageId !== undefined) status.imageID = `${this.image}@${this.runtimeImageId}`;
    if (this.lastMessage !== undefined && phase !== 'Succeeded') status.message = this.lastMessage;
    return status;
  }
}

// ---- the planner -----------------------------------------------------------------------------------------------

/** What the executor holds for a tag: running, or finished with a result that may not be written yet. */
export interface KnownTask {
  readonly image: string;
  readonly tag: string;
  readonly version: number;
  readonly finished: boolean;
}

export interface StartPull {
  readonly image: string;
  readonly tag: string;
  readonly version: number;
  readonly spec: ImageTagSpec;
  readonly pullSecrets: readonly ReferenceObject[];
  /** Set when the status shows this version unfinished: a previous agent was pulling it; keep its startTime. */
  readonly resumeStartTime?: string;
}

export type StopReason = 'TagRemoved' | 'VersionChanged' | 'CompletedElsewhere';

export interface StopPull {
  readonly key: string;
  readonly reason: StopReason;
}

export interface AdoptStatus {
  readonly image: string;
  readonly tag: string;
  readonly status: ImageTagStatus;
}

export interface PullPlan {
  /** Tags to pull. */
  readonly start: readonly StartPull[];
  /** Tasks to stop; they record nothing. */
  readonly stop: readonly StopPull[];
  /** Finished statuses of this version, taken as they are (§4.6). */
  readonly adopt: readonly AdoptStatus[];
  /** Status entries of tags no longer in spec (not carried into the next status). */
  readonly drop: readonly { readonly image: string; readonly tag: string }[];
}

function statusOf(status: NodeImageStatus | undefined, image: string, tag: string): ImageTagStatus | undefined {
  return status?.imageStatuses?.[image]?.tags?.find((t) => t.tag === tag);
}

/**
 * The §4.6 rules, level-based: a spec tag is *active* unless the status already has that tag and version with a
 * `completionTime` (adopted as is). A known task of another version, or whose tag left the spec, is stopped; a
 * known unfinished task whose version someone else completed (the coordinator's supervision) is stopped and the
 * status adopted. An active tag without a task of its version gets one; when the status shows that version
 * unfinished, the new task resumes it (same startTime, so the active deadline still counts from the first start).
 */
export function planPulls(
  spec: NodeImageSpec | undefined,
  status: NodeImageStatus | undefined,
  known: ReadonlyMap<string, KnownTask>,
): PullPlan {
  const start: StartPull[] = [];
  const stop: StopPull[] = [];
  const adopt: AdoptStatus[] = [];
  const drop: { image: string; tag: string }[] = [];
  const inSpec = new Set<string>();

  for (const [image, imageSpec] of Object.entries(spec?.images ?? {})) {
    for (const tagSpec of imageSpec.tags ?? []) {
      const key = tagKey(image, tagSpec.tag);
      if (inSpec.has(key)) continue; // validation forbids duplicates; never start two tasks for one key
      inSpec.add(key);
      const version = tagSpec.version ?? 0;
      const observed = statusOf(status, image, tagSpec.tag);
      const observedDone = observed !== undefined && (observed.version ?? 0) === version && observed.completionTime !== undefined;
      const task = known.get(key);
      let haveTask = false;
      if (task !== undefined) {
        if (task.version !== version) stop.push({ key, reason: 'VersionChanged' });
        else if (!task.finished && observedDone) stop.push({ key, reason: 'CompletedElsewhere' });
        else haveTask = true;
      }
      if (haveTask) continue;
      if (observedDone) {
        adopt.push({ image, tag: tagSpec.tag, status: observed });
        continue;
      }
      const resumable = observed !== undefined && (observed.version ?? 0) === version && observed.startTime !== undefined;
      start.push({
        image, tag: tagSpec.tag, version, spec: tagSpec, pullSecrets: imageSpec.pullSecrets ?? [],
        ...(resumable ? { resumeStartTime: observed.startTime } : {}),
      });
    }
  }
  for (const key of known.keys()) {
    if (!inSpec.has(key)) stop.push({ key, reason: 'TagRemoved' });
  }
  for (const [image, imageStatus] of Object.entries(status?.imageStatuses ?? {})) {
    for (const t of imageStatus.tags ?? []) {
      if (!inSpec.has(tagKey(image, t.tag))) drop.push({ image, tag: t.tag });
    }
  }
  return { start, stop, adopt, drop };
}

/** Go's sort by `tag <`; equal to JS string order for ASCII tags. */
function byTag(a: { tag: string }, b: { tag: string }): number {
  return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
}

/**
 * The whole NodeImage status from the spec and the entry of each tag (keyed by `tagKey`): entries only for tags in
 * spec, tags sorted, `desired` = tags in spec, `succeeded`/`failed` by phase, `pulling` = every other entry
 * (Pulling and Waiting: unfinished). `firstSyncStatus` is carried over untouched.
 */
export function buildNodeImageStatus(
  spec: NodeImageSpec | undefined,
  entries: ReadonlyMap<string, ImageTagStatus>,
  previous?: NodeImageStatus,
): NodeImageStatus {
  let desired = 0;
  let succeeded = 0;
  let failed = 0;
  let pulling = 0;
  const imageStatuses: Record<string, { tags: ImageTagStatus[] }> = {};
  for (const image of Object.keys(spec?.images ?? {}).sort()) {
    const tags: ImageTagStatus[] = [];
    const seen = new Set<string>();
    for (const t of spec?.images?.[image]?.tags ?? []) {
      if (seen.has(t.tag)) continue;
      seen.add(t.tag);
      desired++;
      const entry = entries.get(tagKey(image, t.tag));
      if (entry === undefined) continue;
      tags.push(entry);
      if (entry.phase === 'Succeeded') succeeded++;
      else if (entry.phase === 'Failed') failed++;
      else pulling++;
    }
    if (tags.length > 0) imageStatuses[image] = { tags: tags.sort(byTag) };
  }
  const out: NodeImageStatus = { desired, succeeded, failed, pulling };
  if (Object.keys(imageStatuses).length > 0) out.imageStatuses = imageStatuses;
  if (previous?.firstSyncStatus !== undefined) out.firstSyncStatus = previous.firstSyncStatus;
  return out;
}
