/**
 * Which Pods the CloneSet deletes and updates first: the §2.2 deletion comparator (with pod-deletion-cost), the
 * §0.4 ActivePods comparator, the update order of §3.6 step 5 (priority and scatter strategies, PreparingUpdate
 * first), victim choice for scale-in (§2.3), specified deletion (§3.3 step 5) and update candidates (§3.6 4-6).
 *
 * Upstream sorts are not stable; ours break ties by Pod name so plans and tests are deterministic.
 */
import type { CloneSet } from '../../api/cloneset-types.js';
import { matchesSelector, selectorFromLabelSelector, type Selector } from '../../api/label-selector.js';
import type { Pod } from '../../api/pod-types.js';
import { POD_DELETION_COST_ANNOTATION } from '../../api/well-known-keys.js';
import type { UpdatePriorityStrategy, UpdateScatterStrategy, UpdateScatterTerm } from '../../api/workload-common-types.js';
import type { ExpectationDiffs } from './diffs.js';
import {
  isInPlaceUpdateGracePending, isPodActive, isPodK8sReady, isPodReady, isSpecifiedDelete, maxContainerRestarts,
  parseTimeMs, podLifecycleState, readySinceMs,
} from './pod-state.js';
import { isPodOnRevision } from './revision.js';

const PHASE_RANK: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

function phaseRank(pod: Pod): number {
  return PHASE_RANK[pod.status?.phase ?? ''] ?? 0;
}

function byName(a: Pod, b: Pod): number {
  const x = a.metadata.name ?? '';
  const y = b.metadata.name ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Upstream `afterOrZero` as a comparator: a zero time first, then the later time first. 0 when equal. */
function laterOrZeroFirst(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return b - a;
}

/**
 * `controller.kubernetes.io/pod-deletion-cost` (§2.1): a decimal int32; missing or invalid → 0. Invalid: empty,
 * a leading `+`, leading zeros (`008`; `0` itself is fine), non-numeric, out of int32 range.
 */
export function podDeletionCost(pod: Pod): number {
  const value = pod.metadata.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (value === undefined) return 0;
  const first = value[0];
  // Upstream `validFirstDigit`: '-', a lone "0", or 1-9; then ParseInt(value, 10, 32).
  const firstOk = first === '-' || value === '0' || (first !== undefined && first >= '1' && first <= '9');
  if (!firstOk || !/^-?[0-9]+$/.test(value)) return 0;
  const n = Number(value);
  if (n < -2147483648 || n > 2147483647) return 0;
  return n === 0 ? 0 : n;
}

/** Rules shared by both comparators up to readiness (§0.4 1-3, §2.2 1-3). */
function compareStage(a: Pod, b: Pod): number {
  const aAssigned = Boolean(a.spec?.nodeName);
  const bAssigned = Boolean(b.spec?.nodeName);
  if (aAssigned !== bAssigned) return aAssigned ? 1 : -1;
  const ra = phaseRank(a);
  const rb = phaseRank(b);
  if (ra !== rb) return ra - rb;
  const readyA = isPodK8sReady(a);
  const readyB = isPodK8sReady(b);
  if (readyA !== readyB) return readyA ? 1 : -1;
  return 0;
}

/** Rules after readiness: ready time, restarts, creation (§0.4 4-6, §2.2 5-7). */
function compareAge(a: Pod, b: Pod): number {
  if (isPodK8sReady(a) && isPodK8sReady(b)) {
    const r = laterOrZeroFirst(readySinceMs(a), readySinceMs(b));
    if (r !== 0) return r;
  }
  const restarts = maxContainerRestarts(b) - maxContainerRestarts(a);
  if (restarts !== 0) return restarts;
  return laterOrZeroFirst(parseTimeMs(a.metadata.creationTimestamp), parseTimeMs(b.metadata.creationTimestamp));
}

/** §0.4 ActivePods order (update order): negative when `a` comes first. */
export function compareActivePods(a: Pod, b: Pod): number {
  return compareStage(a, b) || compareAge(a, b) || byName(a, b);
}

/** §2.2 v0.9.0 "ActivePodsWithDeletionCost": negative when `a` is deleted first. Lower cost goes first. */
export function compareForDeletion(a: Pod, b: Pod): number {
  return compareStage(a, b) || podDeletionCost(a) - podDeletionCost(b) || compareAge(a, b) || byName(a, b);
}

// ---- scale-in and specified deletion -----------------------------------------------------------------------

/** The first `n` Pods by §2.2; no sort when every Pod goes (as upstream). Returns a new array. */
function chooseFrom(pods: readonly Pod[], n: number): Pod[] {
  if (n <= 0) return [];
  if (n >= pods.length) return [...pods];
  return [...pods].sort(compareForDeletion).slice(0, n);
}

/**
 * §2.3: `totalDiff` victims, of which `currentRevDiff` come from the not-updated group first (old revisions go
 * down to the partition first), the rest from the updated group.
 */
export function choosePodsToDelete(
  totalDiff: number, currentRevDiff: number, notUpdatedPods: readonly Pod[], updatedPods: readonly Pod[],
): Pod[] {
  if (currentRevDiff >= totalDiff) return chooseFrom(notUpdatedPods, totalDiff);
  if (currentRevDiff > 0) {
    return [...chooseFrom(notUpdatedPods, currentRevDiff), ...chooseFrom(updatedPods, totalDiff - currentRevDiff)];
  }
  return chooseFrom(updatedPods, totalDiff);
}

export interface ReadyBudgetResult {
  /** The Pods to delete now, in the order given. */
  pods: Pod[];
  /** Ready Pods skipped for lack of budget. */
  skipped: Pod[];
  /** deleteReadyLimit left after this walk. */
  remainingLimit: number;
}

/** The ready-budget walk (§2.3, §3.3 step 5): not-ready Pods always go; ready ones only while budget remains. */
export function applyDeleteReadyLimit(cs: CloneSet, pods: readonly Pod[], limit: number, now: number): ReadyBudgetResult {
  const out: Pod[] = [];
  const skipped: Pod[] = [];
  let budget = limit;
  for (const pod of pods) {
    if (!isPodReady(cs, pod, now)) out.push(pod);
    else if (budget > 0) {
      out.push(pod);
      budget--;
    } else skipped.push(pod);
  }
  return { pods: out, skipped, remainingLimit: Math.max(budget, 0) };
}

/**
 * §3.3 step 5: the specified Pods (not already PreparingDelete) to delete now, those on updateRevision first,
 * under the ready budget.
 */
export function chooseSpecifiedToDelete(
  cs: CloneSet, pods: readonly Pod[], updateRevision: string, deleteReadyLimit: number, now: number,
): ReadyBudgetResult {
  const specified = pods.filter((p) => isPodActive(p) && isSpecifiedDelete(cs, p) && podLifecycleState(p) !== 'PreparingDelete');
  const ordered = [
    ...specified.filter((p) => isPodOnRevision(p, updateRevision)),
    ...specified.filter((p) => !isPodOnRevision(p, updateRevision)),
  ];
  return applyDeleteReadyLimit(cs, ordered, deleteReadyLimit, now);
}

/**
 * §3.3 step 6 with our decision (spec/README.md, main): scale-in victims among the Pods that are neither specified
 * nor PreparingDelete (the specified ones are already counted out of `scaleNum`), chosen by §2.3 and limited by
 * the ready budget left after specified deletion. Empty unless `diffs.scaleNum < 0`.
 */
export function chooseScaleInVictims(
  cs: CloneSet, pods: readonly Pod[], diffs: Pick<ExpectationDiffs, 'scaleNum' | 'scaleNumOldRevision'>,
  updateRevision: string, deleteReadyLimit: number, now: number,
): ReadyBudgetResult {
  if (diffs.scaleNum >= 0) return { pods: [], skipped: [], remainingLimit: deleteReadyLimit };
  const candidates = pods.filter((p) => isPodActive(p) && !isSpecifiedDelete(cs, p) && podLifecycleState(p) !== 'PreparingDelete');
  const updated = candidates.filter((p) => isPodOnRevision(p, updateRevision));
  const notUpdated = candidates.filter((p) => !isPodOnRevision(p, updateRevision));
  const chosen = choosePodsToDelete(-diffs.scaleNum, -diffs.scaleNumOldRevision, notUpdated, updated);
  return applyDeleteReadyLimit(cs, chosen, deleteReadyLimit, now);
}

// ---- update order ------------------------------------------------------------------------------------------

function compiledWeights(strategy: UpdatePriorityStrategy): { weight: number; selector: Selector }[] {
  const out: { weight: number; selector: Selector }[] = [];
  for (const term of strategy.weightPriority ?? []) {
    try {
      out.push({ weight: term.weight, selector: selectorFromLabelSelector(term.matchSelector ?? {}) });
    } catch {
      // An invalid selector contributes nothing (upstream skips it).
    }
  }
  return out;
}

/** The integer made of the value's trailing digits (0 when none or beyond int64). */
export function intFromStringSuffix(value: string): number {
  const m = /[0-9]+$/.exec(value);
  if (!m) return 0;
  const big = BigInt(m[0]);
  return big > 9223372036854775807n ? 0 : Number(big);
}

/**
 * Priority strategy (§3.6 step 5), a stable sort over the given order. Weight: higher summed weight of matching
 * terms first. Order: by the index of the first `orderedKey` the Pod has (Pods with none first), then the higher
 * integer suffix of that label's value first.
 */
export function sortByPriority(pods: readonly Pod[], strategy: UpdatePriorityStrategy | undefined): Pod[] {
  const list = [...pods];
  if (!strategy) return list;
  if ((strategy.weightPriority ?? []).length > 0) {
    const terms = compiledWeights(strategy);
    const weight = (p: Pod) => terms.reduce((s, t) => s + (matchesSelector(t.selector, p.metadata.labels) ? t.weight : 0), 0);
    const w = new Map(list.map((p) => [p, weight(p)]));
    return list.sort((a, b) => w.get(b)! - w.get(a)!);
  }
  const order = strategy.orderPriority ?? [];
  if (order.length === 0) return list;
  const rank = (p: Pod): [number, number] => {
    const labels = p.metadata.labels ?? {};
    for (let i = 0; i < order.length; i++) {
      const key = order[i]!.orderedKey;
      if (Object.hasOwn(labels, key)) return [i, intFromStringSuffix(labels[key]!)];
    }
    return [-1, 0];
  };
  const r = new Map(list.map((p) => [p, rank(p)]));
  return list.sort((a, b) => {
    const [la, oa] = r.get(a)!;
    const [lb, ob] = r.get(b)!;
    return la !== lb ? la - lb : ob - oa;
  });
}

function labelValue(p: Pod, key: string): string {
  return p.metadata.labels?.[key] ?? '';
}

/** Terms in effect: one term as is; several are expanded to those matched by candidates, most matched first. */
function scatterTerms(strategy: UpdateScatterStrategy, candidates: readonly Pod[]): UpdateScatterTerm[] {
  if (strategy.length === 1) return [...strategy];
  const counts = new Map<string, { term: UpdateScatterTerm; count: number }>();
  for (const term of strategy) {
    for (const p of candidates) {
      const labels = p.metadata.labels ?? {};
      if (!Object.hasOwn(labels, term.key) || labels[term.key] !== term.value) continue;
      const id = `${term.key}:${term.value}`;
      const entry = counts.get(id);
      if (entry) entry.count++;
      else counts.set(id, { term: { key: term.key, value: term.value }, count: 1 });
    }
  }
  return [...counts.values()].sort((a, b) => b.count - a.count).map((e) => e.term);
}

function groupSizes(matched: number, unmatched: number): { groupNum: number; matchedSize: number; unmatchedSize: number } {
  const groupNum = Math.min(matched, unmatched);
  return { groupNum, matchedSize: Math.round(matched / groupNum), unmatchedSize: Math.round(unmatched / groupNum) };
}

/** How to interleave: the candidates' own density, unless the whole CloneSet is sparser in matched Pods. */
function groupByDensity(totalMatched: number, totalUnmatched: number, updMatched: number, updUnmatched: number) {
  const f = Math.fround;
  const updateGroup = { ...groupSizes(updMatched, updUnmatched), unmatchedRemainder: 0 };
  if (f(f(totalUnmatched) / f(totalMatched)) >= f(f(updUnmatched) / f(updMatched))) return updateGroup;
  const total = groupSizes(totalMatched, totalUnmatched);
  const groupNum = Math.min(Math.floor(updMatched / total.matchedSize), Math.floor(updUnmatched / total.unmatchedSize));
  return {
    groupNum, matchedSize: total.matchedSize, unmatchedSize: total.unmatchedSize,
    unmatchedRemainder: updUnmatched - groupNum * total.unmatchedSize,
  };
}

function scatterByTerm(term: UpdateScatterTerm, allPods: readonly Pod[], candidates: Pod[]): Pod[] {
  const matched = candidates.filter((p) => labelValue(p, term.key) === term.value);
  const unmatched = candidates.filter((p) => labelValue(p, term.key) !== term.value);
  if (matched.length <= 1 || unmatched.length <= 1) return candidates;
  let totalMatched = allPods.filter((p) => labelValue(p, term.key) === term.value).length;
  const totalUnmatched = allPods.length - totalMatched;
  // The last matched candidate goes to the very end; the rest are spread among the unmatched ones.
  const last = matched.pop()!;
  totalMatched--;
  const g = groupByDensity(totalMatched, totalUnmatched, matched.length, unmatched.length);
  const out: Pod[] = [];
  if (g.unmatchedRemainder > 0) out.push(...unmatched.splice(0, g.unmatchedRemainder));
  const take = (src: Pod[], size: number) => out.push(...src.splice(0, src.length < size ? src.length : size));
  for (let i = 0; i < g.groupNum; i++) {
    take(matched, g.matchedSize);
    take(unmatched, g.unmatchedSize);
  }
  out.push(...matched, ...unmatched, last);
  return out;
}

/**
 * Scatter strategy (§3.6 step 5): spreads candidates carrying each `key=value` among the others, so one batch
 * does not update, say, every Pod of one zone. `allPods` (all the CloneSet's Pods) give the overall density.
 */
export function sortByScatter(allPods: readonly Pod[], candidates: readonly Pod[], strategy: UpdateScatterStrategy | undefined): Pod[] {
  let list = [...candidates];
  if (!strategy || strategy.length === 0 || list.length <= 1) return list;
  for (const term of scatterTerms(strategy, list)) list = scatterByTerm(term, allPods, list);
  return list;
}

/** §3.6 step 5: ActivePods order, then priority, then scatter, then PreparingUpdate Pods first (stable). */
export function sortUpdateCandidates(cs: CloneSet, allPods: readonly Pod[], candidates: readonly Pod[]): Pod[] {
  const strategy = cs.spec.updateStrategy;
  let list = [...candidates].sort(compareActivePods);
  list = sortByPriority(list, strategy?.priorityStrategy);
  list = sortByScatter(allPods, list, strategy?.scatterStrategy);
  const preparing = (p: Pod) => podLifecycleState(p) === 'PreparingUpdate';
  return [...list.filter(preparing), ...list.filter((p) => !preparing(p))];
}

export interface UpdateChoice {
  /** The revision the chosen Pods move to: updateRevision, or currentRevision for a rollback (updateNum < 0). */
  targetRevision: string;
  /** The Pods to update now, in order. */
  pods: Pod[];
}

/**
 * §3.6 steps 4-6: the candidates (Pods not on updateRevision, or on it for a rollback; not PreparingDelete or
 * Updated; no pending in-place grace), sorted, cut to |updateNum|, then walked under updateMaxUnavailable: a
 * not-ready candidate always fits, a ready one only while fewer than updateMaxUnavailable Pods are not ready;
 * the walk stops at the first ready candidate that does not fit.
 */
export function chooseUpdateCandidates(
  cs: CloneSet, pods: readonly Pod[], diffs: Pick<ExpectationDiffs, 'updateNum' | 'updateMaxUnavailable'>,
  currentRevision: string, updateRevision: string, now: number,
): UpdateChoice {
  const forward = diffs.updateNum > 0;
  const targetRevision = forward ? updateRevision : currentRevision;
  if (diffs.updateNum === 0) return { targetRevision, pods: [] };
  const active = pods.filter(isPodActive);
  const candidates = active.filter((p) => {
    if (isPodOnRevision(p, updateRevision) === forward) return false;
    const state = podLifecycleState(p);
    if (state === 'PreparingDelete' || state === 'Updated') return false;
    return !isInPlaceUpdateGracePending(p);
  });
  const sorted = sortUpdateCandidates(cs, active, candidates).slice(0, Math.abs(diffs.updateNum));
  let unavailable = active.filter((p) => !isPodReady(cs, p, now)).length;
  const chosen: Pod[] = [];
  for (const p of sorted) {
    if (isPodReady(cs, p, now)) {
      if (unavailable >= diffs.updateMaxUnavailable) break;
      unavailable++;
    }
    chosen.push(p);
  }
  return { targetRevision, pods: chosen };
}
