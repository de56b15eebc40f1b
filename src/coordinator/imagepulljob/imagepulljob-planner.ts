/**
 * The ImagePullJob controller's decisions (spec §4.5), pure: from the job, its target NodeImages (in order), the
 * NodeImages where it owns tags and `now`, the new status, which NodeImages to sync now, which to refresh or
 * release, whether to delete the job, and when to look again. Messages are upstream's.
 *
 * Deviation (spec README: the better behaviour where v0.9.0 has a bug): upstream counts a node nowhere when its
 * image has a status but none for this tag yet, which frees a slot and lets more than `parallelism` nodes pull at
 * once. We count it as pulling.
 */
import type { ImagePullJob, ImagePullJobStatus } from '../../api/imagepulljob-types.js';
import { intValue } from '../../api/int-or-string.js';
import type { NodeImage } from '../../api/nodeimage-types.js';
import { formatTime, parseTime } from '../nodeimage/rfc3339.js';
import { deepEqualJson } from '../nodeimage/nodeimage-planner.js';
import {
  ownsOtherTags, ownsTag, refreshJobTag, type DesiredJobTag, type JobImage,
} from './nodeimage-tag-sync.js';

export const MESSAGE_COMPLETED = 'job has completed';
export const MESSAGE_EXCEEDS_DEADLINE = 'job exceeds activeDeadlineSeconds';
export const MESSAGE_NO_PROGRESS = 'job is running, no progress';

/** `job is running, progress X.Y%` (§4.5 step 6). */
export function progressMessage(done: number, desired: number): string {
  return `job is running, progress ${formatOneDecimal(100 * done, desired)}%`;
}

/**
 * `num/den` with one decimal, rounding half to even like Go's `%.1f` (upstream formats the float64 quotient; the
 * exact rational gives the same digits, ties included: 49/400 → 12.2, not JavaScript's 12.3).
 */
export function formatOneDecimal(num: number, den: number): string {
  const n = BigInt(Math.round(num)) * 10n;
  const d = BigInt(den);
  let q = n / d;
  const r = n - q * d;
  if (2n * r > d || (2n * r === d && q % 2n === 1n)) q += 1n;
  return `${q / 10n}.${q % 10n}`;
}

/** How the job stands on one node (§4.5 step 4). */
export type NodeClass = 'notSynced' | 'pulling' | 'succeeded' | 'failed';

export function classifyNode(ni: NodeImage, image: JobImage, uid: string): NodeClass {
  const tag = ni.spec?.images?.[image.name]?.tags?.find((t) => t.tag === image.tag);
  if (!tag || !ownsTag(tag, uid)) return 'notSynced';
  const st = ni.status?.imageStatuses?.[image.name]?.tags?.find((t) => t.tag === image.tag);
  // Upstream counts `st === undefined` with an image status present nowhere; see the module comment.
  if (!st || (st.version ?? 0) !== (tag.version ?? 0)) return 'pulling';
  if (st.phase === 'Succeeded') return 'succeeded';
  if (st.phase === 'Failed') return 'failed';
  return 'pulling';
}

/** `parallelism`: nil → 1; read with IntValue, so `"50%"` → 0, a paused job (§0.2). */
export function parallelismOf(job: Pick<ImagePullJob, 'spec'>): number {
  const p = job.spec.parallelism;
  return p === undefined || p === null ? 1 : intValue(p);
}

export interface ImagePullJobPlanInput {
  job: ImagePullJob;
  /** What the job contributes to a NodeImage (image key, owner ref, policies, Secret copies). */
  desired: DesiredJobTag;
  /** The target NodeImages in target order (`targetNodeNames`). */
  targets: readonly NodeImage[];
  /** NodeImages where the job owns some tag (the owner-uid index); for releasing tags of an edited image. */
  owned?: readonly NodeImage[];
  /** Epoch ms. */
  now: number;
}

export interface ImagePullJobPlan {
  status: ImagePullJobStatus;
  statusChanged: boolean;
  /** `ttlSecondsAfterFinished` has passed since completion. */
  deleteJob: boolean;
  /** NodeImages to add the job to now, in target order (at most the free slots). */
  sync: string[];
  /** NodeImages with a tag of the job that must follow an edit of the job (policies, Secrets). */
  refresh: string[];
  /** NodeImages where the job still owns tags of an image it no longer pulls. */
  release: string[];
  requeueAfterMs?: number;
}

const NO_RANDOM = (): number => 0;

/** One reconcile of one job. */
export function planImagePullJob(input: ImagePullJobPlanInput): ImagePullJobPlan {
  const { job, desired, now } = input;
  const old = job.status;
  const uid = job.metadata.uid ?? '';
  const base = { sync: [] as string[], refresh: [] as string[], release: [] as string[] };
  const release = (input.owned ?? []).filter((ni) => ownsOtherTags(ni, uid, desired.image)).map((ni) => ni.metadata.name ?? '');

  // Step 1: a completed job only waits for its TTL.
  const completedAt = parseTime(old?.completionTime);
  if (old && completedAt !== undefined) {
    const status = old;
    const ttl = job.spec.completionPolicy?.ttlSecondsAfterFinished;
    if (ttl === undefined || ttl === null) return { status, statusChanged: false, deleteJob: false, ...base, release };
    const remaining = completedAt + ttl * 1000 - now;
    if (remaining <= 0) return { status, statusChanged: false, deleteJob: true, ...base };
    return { status, statusChanged: false, deleteJob: false, ...base, release, requeueAfterMs: remaining };
  }

  // Step 4: classify.
  const notSynced: string[] = [];
  const pulling: string[] = [];
  const succeeded: string[] = [];
  const failed: string[] = [];
  const refresh: string[] = [];
  for (const ni of input.targets) {
    const name = ni.metadata.name ?? '';
    const c = classifyNode(ni, desired.image, uid);
    ({ notSynced, pulling, succeeded, failed })[c].push(name);
    if (c !== 'notSynced' && refreshJobTag(ni, desired, NO_RANDOM) !== undefined) refresh.push(name);
  }

  // Step 5: startTime on first sight; activeDeadline for jobs that can complete.
  const startText = old?.startTime ?? formatTime(now);
  const start = parseTime(startText) ?? now;
  const desiredCount = input.targets.length;
  const canComplete = desired.completionType !== 'Never';
  const ads = canComplete ? job.spec.completionPolicy?.activeDeadlineSeconds : undefined;
  const unfinished = desiredCount - succeeded.length - failed.length;
  if (ads !== undefined && ads !== null && unfinished > 0 && now - start >= ads * 1000) {
    const failedNodes = [...failed, ...pulling, ...notSynced];
    const status: ImagePullJobStatus = {
      startTime: startText, completionTime: formatTime(now), desired: desiredCount, active: 0,
      succeeded: succeeded.length, failed: failedNodes.length, message: MESSAGE_EXCEEDS_DEADLINE,
      ...(failedNodes.length > 0 ? { failedNodes } : {}),
    };
    return finish(job, status, { ...base, release }, now);
  }

  // Step 6: counts and message.
  const completed = canComplete && unfinished === 0;
  const failedNodes = [...failed].sort();
  const done = succeeded.length + failed.length;
  const status: ImagePullJobStatus = {
    startTime: startText,
    ...(completed ? { completionTime: formatTime(now) } : {}),
    desired: desiredCount, active: pulling.length, succeeded: succeeded.length, failed: failed.length,
    message: completed ? MESSAGE_COMPLETED : desiredCount === 0 ? MESSAGE_NO_PROGRESS : progressMessage(done, desiredCount),
    ...(failedNodes.length > 0 ? { failedNodes } : {}),
  };

  // Step 7: fill the free slots, in target order.
  const slots = parallelismOf(job) - pulling.length;
  const sync = slots > 0 ? notSynced.slice(0, slots) : [];
  const plan = finish(job, status, { sync, refresh, release }, now);
  if (!completed && ads !== undefined && ads !== null) {
    const remaining = Math.max(1000, start + ads * 1000 - now);
    plan.requeueAfterMs = plan.requeueAfterMs === undefined ? remaining : Math.min(plan.requeueAfterMs, remaining);
  }
  return plan;
}

function finish(job: ImagePullJob, status: ImagePullJobStatus, writes: Pick<ImagePullJobPlan, 'sync' | 'refresh' | 'release'>, now: number): ImagePullJobPlan {
  const plan: ImagePullJobPlan = { status, statusChanged: !deepEqualJson(status, job.status), deleteJob: false, ...writes };
  const ttl = job.spec.completionPolicy?.ttlSecondsAfterFinished;
  const completedAt = parseTime(status.completionTime);
  if (completedAt !== undefined && ttl !== undefined && ttl !== null) plan.requeueAfterMs = Math.max(1, completedAt + ttl * 1000 - now);
  return plan;
}
