/**
 * What `kruise-ts get imagepulljob NAME --watch` shows and when it stops, as pure functions of the job and the
 * NodeImages (no clock except the `now` passed in, no I/O), so the view and the exit decision are unit-testable
 * and the live and one-shot outputs agree.
 *
 * The job's status is the controller's verdict (spec §4.5) and decides the outcome. The per-node rows come from the
 * NodeImages: a node belongs to the job when its NodeImage has a tag of the job's image whose ownerReferences carry
 * the job's uid (§4.3); its phase is that tag's status when the status is about the same spec version, else the
 * node is `Waiting` (the agent has not reported this round yet). Nodes the controller failed without ever syncing
 * them (`job exceeds activeDeadlineSeconds`, §4.5 step 5) appear from `status.failedNodes`.
 */
import type { ImagePullJob } from '../api/imagepulljob-types.js';
import type { ImagePullPhase, NodeImage } from '../api/nodeimage-types.js';
import { MESSAGE_EXCEEDS_DEADLINE } from '../coordinator/imagepulljob/imagepulljob-planner.js';
import type { JobImage } from '../coordinator/imagepulljob/nodeimage-tag-sync.js';
import { EXIT_FAILED, EXIT_SUCCEEDED } from './get-imagepulljob-exit-codes.js';

export interface NodeProgress {
  node: string;
  phase: ImagePullPhase;
  /**
   * 0–100. Waiting and Pulling report what the agent wrote, which over CRI is 0 until the pull ends: a CRI
   * PullImage call streams no progress (spec §8.2), so the bar stays empty rather than invent one.
   */
  progress: number;
  /** The agent's (or the NodeImage controller's) message; set for Failed nodes. */
  message?: string;
}

export interface JobProgressView {
  namespace: string;
  name: string;
  image: string;
  completionType: 'Always' | 'Never';
  desired: number;
  active: number;
  succeeded: number;
  failed: number;
  message: string;
  completed: boolean;
  /** Sorted by node name. */
  nodes: NodeProgress[];
}

/**
 * `running`: keep watching. `succeeded` / `failed`: the job (or, for a Never job, the current round on every target
 * node) is over; `failed` also when the job was deleted before it finished.
 */
export type JobOutcome =
  | { state: 'running' }
  | { state: 'succeeded'; reason: string }
  | { state: 'failed'; reason: string };

export { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_SUCCEEDED, EXIT_TIMEOUT, EXIT_USAGE } from './get-imagepulljob-exit-codes.js';

export function buildJobProgress(job: ImagePullJob, image: JobImage | undefined, nodeImages: Iterable<NodeImage>): JobProgressView {
  const uid = job.metadata.uid ?? '';
  const st = job.status;
  const nodes = new Map<string, NodeProgress>();
  if (image) {
    for (const ni of nodeImages) {
      const name = ni.metadata.name ?? '';
      const tag = ni.spec?.images?.[image.name]?.tags?.find((t) => t.tag === image.tag);
      if (!tag || !(tag.ownerReferences ?? []).some((r) => r.uid === uid)) continue;
      const ts = ni.status?.imageStatuses?.[image.name]?.tags?.find((t) => t.tag === image.tag);
      if (!ts || (ts.version ?? 0) !== (tag.version ?? 0)) {
        nodes.set(name, { node: name, phase: 'Waiting', progress: 0 });
        continue;
      }
      const progress = ts.phase === 'Succeeded' ? 100 : clampProgress(ts.progress);
      nodes.set(name, { node: name, phase: ts.phase, progress, ...(ts.message ? { message: ts.message } : {}) });
    }
  }
  for (const name of st?.failedNodes ?? []) {
    const known = nodes.get(name);
    if (!known) nodes.set(name, { node: name, phase: 'Failed', progress: 0, ...(st?.message ? { message: st.message } : {}) });
    else if (known.phase !== 'Failed') {
      // The controller gave up on the node (deadline) while its pull was still going.
      nodes.set(name, { ...known, phase: 'Failed', message: known.message ?? st?.message ?? 'failed' });
    }
  }
  return {
    namespace: job.metadata.namespace ?? '',
    name: job.metadata.name ?? '',
    image: job.spec?.image ?? '',
    completionType: job.spec?.completionPolicy?.type === 'Never' ? 'Never' : 'Always',
    desired: st?.desired ?? 0,
    active: st?.active ?? 0,
    succeeded: st?.succeeded ?? 0,
    failed: st?.failed ?? 0,
    message: st?.message ?? '',
    completed: Boolean(st?.completionTime),
    nodes: [...nodes.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)),
  };
}

function clampProgress(p: number | undefined): number {
  if (p === undefined || !Number.isFinite(p)) return 0;
  return Math.max(0, Math.min(100, Math.round(p)));
}

/**
 * When a watch ends, and how:
 * - Always jobs end when the controller sets `completionTime`: success iff `failed = 0` (and the deadline did not
 *   end it).
 * - Never jobs never complete (§4.5): we end once every target node has finished the current round, i.e. the same
 *   test the controller applies to Always jobs, `desired > 0 && succeeded + failed = desired` — success iff
 *   `failed = 0`. With no target node yet a Never job keeps being watched (a matching node may join).
 */
export function jobOutcome(view: JobProgressView): JobOutcome {
  if (view.completionType === 'Always') {
    if (!view.completed) return { state: 'running' };
    if (view.message === MESSAGE_EXCEEDS_DEADLINE) return { state: 'failed', reason: MESSAGE_EXCEEDS_DEADLINE };
    if (view.failed > 0) return { state: 'failed', reason: `${view.failed} of ${view.desired} node(s) failed` };
    return { state: 'succeeded', reason: `${view.succeeded} of ${view.desired} node(s) succeeded` };
  }
  if (view.desired === 0 || view.succeeded + view.failed < view.desired) return { state: 'running' };
  if (view.failed > 0) return { state: 'failed', reason: `${view.failed} of ${view.desired} node(s) failed this round (completionPolicy Never: the job keeps running)` };
  return { state: 'succeeded', reason: `all ${view.desired} node(s) succeeded (completionPolicy Never: the job keeps running)` };
}

/** The outcome when the job disappears: its last state decides if it had finished, else it failed. */
export function outcomeOnDelete(view: JobProgressView): JobOutcome {
  const last = jobOutcome(view);
  if (last.state !== 'running') return last;
  return { state: 'failed', reason: 'the job was deleted before it finished' };
}

export function exitCodeOf(outcome: JobOutcome): number {
  return outcome.state === 'succeeded' ? EXIT_SUCCEEDED : EXIT_FAILED;
}

/** `done/desired (succeeded S, failed F, active A): message` — the overall line of both renderers. */
export function overallLine(v: JobProgressView): string {
  return `${v.succeeded + v.failed}/${v.desired} done (succeeded ${v.succeeded}, failed ${v.failed}, active ${v.active})${v.message ? `: ${v.message}` : ''}`;
}

/** One node's line in the plain renderer and the one-shot summary. */
export function nodeLine(n: NodeProgress): string {
  return `${n.phase}${n.phase === 'Pulling' ? ` ${n.progress}%` : ''}${n.phase === 'Failed' && n.message ? `: ${n.message}` : ''}`;
}
