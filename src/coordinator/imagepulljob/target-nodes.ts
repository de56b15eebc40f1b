/**
 * Which NodeImages an ImagePullJob targets, in order (spec §4.5 step 2; upstream `imagejob_reader` and its test):
 * - `podSelector`: active Pods of the job's namespace that match and have a node; sorted in the update order of the
 *   workload that owns the job (CloneSet: the §0.4 ActivePods order; any other owner, or none: Pod creation order,
 *   oldest first), then their distinct nodes in that order, skipping nodes without a NodeImage. So pre-download
 *   warms first the nodes of the Pods that update first (spec README, "Pre-download trigger").
 * - no selector: every NodeImage, by name.
 * - `selector.names`: those NodeImages, in the order written, missing ones skipped.
 * - label selector: matching NodeImages, by name.
 * Pure. Throws InvalidSelectorError for a selector validation should have refused.
 */
import type { ImagePullJob } from '../../api/imagepulljob-types.js';
import { KIND_CLONESET } from '../../api/group-version.js';
import { matchesSelector, selectorFromLabelSelector } from '../../api/label-selector.js';
import type { NodeImage } from '../../api/nodeimage-types.js';
import type { Pod } from '../../api/pod-types.js';

export interface TargetNodesInput {
  job: Pick<ImagePullJob, 'metadata' | 'spec'>;
  /** Every NodeImage (any order). */
  nodeImages: readonly NodeImage[];
  /** Pods of the job's namespace (others are ignored); only read for `podSelector` jobs. */
  pods?: readonly Pod[];
  /**
   * Kind of the job's controller owner when it is an `apps.kruise.io` workload (CloneSet pre-download jobs): picks
   * the Pod order.
   */
  ownerKind?: string | undefined;
}

function byName(a: NodeImage, b: NodeImage): number {
  const x = a.metadata.name ?? '';
  const y = b.metadata.name ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** §0.3 active: not Succeeded/Failed and not being deleted. */
export function isActivePod(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

function readyCondition(pod: Pod): { ready: boolean; since: number | undefined } {
  const c = pod.status?.conditions?.find((x) => x.type === 'Ready');
  const ready = c?.status === 'True';
  const t = c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  return { ready, since: Number.isNaN(t) ? undefined : t };
}

const PHASE_RANK: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

function maxRestarts(pod: Pod): number {
  return Math.max(0, ...(pod.status?.containerStatuses ?? []).map((s) => s.restartCount ?? 0));
}

function created(pod: Pod): number | undefined {
  const t = pod.metadata.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

function nameOrder(a: Pod, b: Pod): number {
  const x = a.metadata.name ?? '';
  const y = b.metadata.name ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * §0.4 "ActivePods" order, negative when `a` comes first. Upstream's sort is not stable; ties here fall back to the
 * Pod name so the order (and our tests) are deterministic.
 */
export function compareActivePods(a: Pod, b: Pod): number {
  const aNode = Boolean(a.spec?.nodeName);
  const bNode = Boolean(b.spec?.nodeName);
  if (aNode !== bNode) return aNode ? 1 : -1;
  const ra = PHASE_RANK[a.status?.phase ?? ''] ?? 0;
  const rb = PHASE_RANK[b.status?.phase ?? ''] ?? 0;
  if (ra !== rb) return ra - rb;
  const ca = readyCondition(a);
  const cb = readyCondition(b);
  if (ca.ready !== cb.ready) return ca.ready ? 1 : -1;
  if (ca.ready && cb.ready && ca.since !== cb.since) {
    // The more recently ready first; a zero time counts as the most recent.
    if (ca.since === undefined) return -1;
    if (cb.since === undefined) return 1;
    return cb.since - ca.since;
  }
  const rsa = maxRestarts(a);
  const rsb = maxRestarts(b);
  if (rsa !== rsb) return rsb - rsa;
  const ta = created(a);
  const tb = created(b);
  if (ta !== tb) {
    // Newer first; a zero timestamp counts as the newest.
    if (ta === undefined) return -1;
    if (tb === undefined) return 1;
    return tb - ta;
  }
  return nameOrder(a, b);
}

/** Creation order, oldest first (then name). */
export function compareCreation(a: Pod, b: Pod): number {
  const ta = created(a) ?? Number.MAX_SAFE_INTEGER;
  const tb = created(b) ?? Number.MAX_SAFE_INTEGER;
  return ta !== tb ? ta - tb : nameOrder(a, b);
}

/** The ordered names of the NodeImages the job targets. */
export function targetNodeNames(input: TargetNodesInput): string[] {
  const { job } = input;
  const byNodeName = new Map<string, NodeImage>();
  for (const ni of input.nodeImages) byNodeName.set(ni.metadata.name ?? '', ni);
  const podSelector = job.spec.podSelector;
  if (podSelector) {
    const sel = selectorFromLabelSelector(podSelector, 'spec.podSelector');
    const ns = job.metadata.namespace ?? '';
    const pods = (input.pods ?? []).filter((p) => (p.metadata.namespace ?? '') === ns && isActivePod(p)
      && Boolean(p.spec?.nodeName) && matchesSelector(sel, p.metadata.labels));
    pods.sort(input.ownerKind === KIND_CLONESET ? compareActivePods : compareCreation);
    const out: string[] = [];
    const seen = new Set<string>();
    for (const p of pods) {
      const node = p.spec.nodeName!;
      if (seen.has(node) || !byNodeName.has(node)) continue;
      seen.add(node);
      out.push(node);
    }
    return out;
  }
  const selector = job.spec.selector;
  if (!selector) return [...input.nodeImages].sort(byName).map((n) => n.metadata.name ?? '');
  if (selector.names && selector.names.length > 0) return [...new Set(selector.names)].filter((n) => byNodeName.has(n));
  const sel = selectorFromLabelSelector({
    ...(selector.matchLabels ? { matchLabels: selector.matchLabels } : {}),
    ...(selector.matchExpressions ? { matchExpressions: selector.matchExpressions } : {}),
  }, 'spec.selector');
  return input.nodeImages.filter((n) => matchesSelector(sel, n.metadata.labels)).sort(byName).map((n) => n.metadata.name ?? '');
}
