/**
 * The SidecarSet upgrade planner (spec §7.3 steps 1-2 and 4-9, with §7.4 and §7.5): which Pods belong to the set,
 * its status, which Pods to upgrade now and what to change on each. Pure: no clock (`now` is a parameter), no I/O.
 * The controller owns step 3 (update expectations: requeue after 1 s while an upgraded Pod is not yet seen with the
 * new hash), writing the status only when `statusChanged`, and the full-Pod updates with retry on conflict
 * (re-running `upgradePatch`/`resetChanges` on the fresh Pod).
 */
import { tryScaledValue } from '../../api/int-or-string.js';
import { matchesSelector, selectorFromLabelSelector } from '../../api/label-selector.js';
import type { IntOrString } from '../../api/meta.js';
import type { Pod } from '../../api/pod-types.js';
import type { SidecarSet, SidecarSetStatus } from '../../api/sidecarset-types.js';
import { SIDECARSET_INJECTED_LIST_ANNOTATION, SIDECARSET_INPLACE_UPDATE_STATE_ANNOTATION } from '../../api/well-known-keys.js';
import { compareActivePods } from '../imagepulljob/target-nodes.js';
import { isPodConsistent, isPodReadyForSidecarSet } from './consistency.js';
import { sidecarSetRevision, sidecarSetRevisionWithoutImage } from './hash.js';
import {
  applySidecarPodPatch, hotUpgradeChanges, resetChanges, type SidecarPodPatch,
} from './hot-upgrade.js';
import { isPodActiveForSidecarSet, matchingSidecarSets, podMatchesSidecarSet } from './injection.js';
import {
  hotUpgradeContainerNames, inPlaceUpdateStateAnnotation, isHotUpgradeSidecar, podHashAnnotationUpdate, podSidecarSetRevision,
  podSidecarSetRevisionWithoutImage, sidecarContainerNamesInPod,
} from './pod-annotations.js';
import { expandScatterTerms, scatterSort } from './scatter.js';

export { isPodConsistent, isPodReadyForSidecarSet };

/**
 * §7.3 step 1: Pods selected by the set (its namespace or all), active (not in kube-system/kube-public, not being
 * deleted) and already injected by it (an entry in `kruise.io/sidecarset-hash`).
 */
export function matchedPods(set: SidecarSet, pods: readonly Pod[]): Pod[] {
  const name = set.metadata.name ?? '';
  return pods.filter((p) => isPodActiveForSidecarSet(p) && podMatchesSidecarSet(p, set) && podSidecarSetRevision(p, name) !== '');
}

/** The Pod records the set's current hash. */
export function isPodSidecarUpdated(set: SidecarSet, pod: Pod): boolean {
  return podSidecarSetRevision(pod, set.metadata.name ?? '') === sidecarSetRevision(set);
}

/** §7.3 step 2 over the matched Pods; `observedGeneration` is the set's generation. */
export function sidecarSetStatus(set: SidecarSet, pods: readonly Pod[]): SidecarSetStatus {
  let updatedPods = 0;
  let readyPods = 0;
  let updatedReadyPods = 0;
  for (const pod of pods) {
    const updated = isPodSidecarUpdated(set, pod);
    if (updated) updatedPods++;
    if (isPodConsistent(pod, set) && isPodReadyForSidecarSet(pod, set)) {
      readyPods++;
      if (updated) updatedReadyPods++;
    }
  }
  return {
    ...(set.metadata.generation !== undefined ? { observedGeneration: set.metadata.generation } : {}),
    matchedPods: pods.length,
    updatedPods,
    readyPods,
    updatedReadyPods,
  };
}

/** Whether `status` differs from what the set shows (upstream `inconsistentStatus`): write only then. */
export function statusChanged(set: SidecarSet, status: SidecarSetStatus): boolean {
  const cur = set.status;
  return (status.observedGeneration ?? 0) > (cur?.observedGeneration ?? 0)
    || status.matchedPods !== (cur?.matchedPods ?? 0)
    || status.updatedPods !== (cur?.updatedPods ?? 0)
    || status.readyPods !== (cur?.readyPods ?? 0)
    || (status.updatedReadyPods ?? 0) !== (cur?.updatedReadyPods ?? 0);
}

/**
 * §7.3 step 6 upgradability: the Pod's without-image hash equals the set's (Kubernetes lets only images change in
 * place, so any other change to `containers` makes old Pods non-upgradable until recreated), and no sidecar
 * container is Ready but inconsistent (a previous upgrade still in flight).
 */
export function isPodUpgradable(pod: Pod, set: SidecarSet): boolean {
  if (podSidecarSetRevisionWithoutImage(pod, set.metadata.name ?? '') !== sidecarSetRevisionWithoutImage(set)) return false;
  const ready = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s.ready]));
  return sidecarContainerNamesInPod(set).every((name) => !ready.get(name) || isPodConsistent(pod, set, [name]));
}

/** Floor-scaled int-or-percent; a value that does not parse counts as 0, as upstream ignores the error. */
function floorScaled(v: IntOrString | undefined, fallback: number, total: number): number {
  if (v === undefined || v === null) return fallback;
  const r = tryScaledValue(v, total, false);
  return 'error' in r ? 0 : r.value;
}

/** Why no Pod is chosen, for logs and events; undefined when the walk ran. */
export type UpgradeSkipReason = 'NotUpdate' | 'AllUpdated' | 'Paused';

export interface UpgradeChoice {
  pods: Pod[];
  skipped?: UpgradeSkipReason;
}

/**
 * §7.3 steps 5-8: stop for `NotUpdate`, when every matched Pod is updated, or when paused; otherwise the
 * candidates (not updated, selected by `updateStrategy.selector`, upgradable) in ActivePods order then scatter
 * order, minus `partition` (floor-scaled), walked against `maxUnavailable` (floor-scaled, default 1): a candidate
 * that is not ready is always taken, a ready one only while unavailable < maxUnavailable, stopping at the first
 * ready one that does not fit. `matched` = `matchedPods(set, …)`.
 */
export function choosePodsToUpgradeWithReason(set: SidecarSet, matched: readonly Pod[]): UpgradeChoice {
  const strategy = set.spec.updateStrategy ?? {};
  if (strategy.type === 'NotUpdate') return { pods: [], skipped: 'NotUpdate' };
  const updatedCount = matched.filter((p) => isPodSidecarUpdated(set, p)).length;
  if (updatedCount >= matched.length) return { pods: [], skipped: 'AllUpdated' };
  if (strategy.paused) return { pods: [], skipped: 'Paused' };

  let selected: (pod: Pod) => boolean = () => true;
  if (strategy.selector) {
    try {
      const sel = selectorFromLabelSelector(strategy.selector, 'spec.updateStrategy.selector');
      selected = (pod) => matchesSelector(sel, pod.metadata.labels);
    } catch {
      selected = () => false; // as upstream: a selector that does not compile selects nothing
    }
  }
  let candidates = matched.filter((p) => !isPodSidecarUpdated(set, p) && selected(p) && isPodUpgradable(p, set));
  candidates.sort(compareActivePods);
  if (strategy.scatterStrategy && strategy.scatterStrategy.length > 0) {
    candidates = scatterSort(expandScatterTerms(strategy.scatterStrategy, matched), matched, candidates);
  }

  const total = matched.length;
  const partition = floorScaled(strategy.partition, 0, total);
  if (candidates.length - partition <= 0) return { pods: [] };
  const kept = candidates.slice(0, candidates.length - partition);
  const maxUnavailable = floorScaled(strategy.maxUnavailable, 1, total);
  let unavailable = matched.filter((p) => isPodSidecarUpdated(set, p)
    && (!isPodConsistent(p, set) || !isPodReadyForSidecarSet(p, set))).length;
  const chosen: Pod[] = [];
  for (const pod of kept) {
    if (!isPodReadyForSidecarSet(pod, set)) {
      chosen.push(pod);
      continue;
    }
    if (unavailable >= maxUnavailable) break;
    unavailable++;
    chosen.push(pod);
  }
  return { pods: chosen };
}

/** `choosePodsToUpgradeWithReason(...).pods`. */
export function choosePodsToUpgrade(set: SidecarSet, matched: readonly Pod[]): Pod[] {
  return choosePodsToUpgradeWithReason(set, matched).pods;
}

/** ColdUpgrade containers whose Pod image differs from the set's: only the image changes. */
function coldImageChanges(pod: Pod, set: SidecarSet): SidecarPodPatch {
  const patch: SidecarPodPatch = { images: {}, annotations: {}, changedContainers: [] };
  for (const sidecar of set.spec.containers ?? []) {
    if (isHotUpgradeSidecar(sidecar)) continue;
    const current = pod.spec.containers.find((c) => c.name === sidecar.name);
    if (!current || (current.image ?? '') === (sidecar.image ?? '')) continue;
    patch.images[sidecar.name] = sidecar.image ?? '';
    patch.changedContainers.push(sidecar.name);
  }
  return patch;
}

/**
 * The bookkeeping of step 9 for the given image changes: the hash entry rewritten with the set's hash at `now`;
 * the pre-update imageIDs of the changed containers merged into the in-place-update state; the injected-list
 * annotation when the Pod has none (from `allSets`, if given).
 */
function withUpgradeAnnotations(pod: Pod, set: SidecarSet, patch: SidecarPodPatch, now: number, allSets?: readonly SidecarSet[]): SidecarPodPatch {
  const name = set.metadata.name ?? '';
  const revision = sidecarSetRevision(set);
  const annotations: Record<string, string> = {
    ...patch.annotations,
    ...podHashAnnotationUpdate(pod, name, revision, now),
    [SIDECARSET_INPLACE_UPDATE_STATE_ANNOTATION]: inPlaceUpdateStateAnnotation(pod, name, revision, patch.changedContainers, now),
  };
  if (!pod.metadata.annotations?.[SIDECARSET_INJECTED_LIST_ANNOTATION] && allSets) {
    annotations[SIDECARSET_INJECTED_LIST_ANNOTATION] = matchingSidecarSets(pod, allSets).map((s) => s.metadata.name ?? '').join(',');
  }
  return { ...patch, annotations };
}

/** §7.3 step 9 for ColdUpgrade containers only: image changes plus the hash and in-place-update-state annotations. */
export function coldUpgradePatch(pod: Pod, set: SidecarSet, now: number, allSets?: readonly SidecarSet[]): SidecarPodPatch {
  return withUpgradeAnnotations(pod, set, coldImageChanges(pod, set), now, allSets);
}

/**
 * §7.3 step 9 for a chosen Pod, every container kind: cold image changes, hot upgrades (§7.5 step 2 with the set's
 * resourceVersion), then the hash, in-place-update-state and injected-list annotations.
 */
export function upgradePatch(pod: Pod, set: SidecarSet, now: number, allSets?: readonly SidecarSet[]): SidecarPodPatch {
  const cold = coldImageChanges(pod, set);
  const hot = hotUpgradeChanges(pod, set);
  const order = (set.spec.containers ?? []).flatMap((c) => (isHotUpgradeSidecar(c) ? hotUpgradeContainerNames(c.name) : [c.name]));
  const changed = [...cold.changedContainers, ...hot.changedContainers].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const merged: SidecarPodPatch = {
    images: { ...cold.images, ...hot.images },
    annotations: { ...cold.annotations, ...hot.annotations },
    changedContainers: changed,
  };
  return withUpgradeAnnotations(pod, set, merged, now, allSets);
}

/** One Pod change the controller must write (a full Pod update). */
export interface SidecarSetPodAction {
  type: 'reset' | 'upgrade';
  namespace: string;
  name: string;
  patch: SidecarPodPatch;
}

export interface SidecarSetPlan {
  matched: Pod[];
  status: SidecarSetStatus;
  /** Write `status` (to `/status`) only when true. */
  statusChanged: boolean;
  /** Resets first (§7.3 step 4), then upgrades; a Pod may appear in both, in that order. */
  actions: SidecarSetPodAction[];
  /** Why no upgrade was planned, when a stop rule applied. */
  skipped?: UpgradeSkipReason;
}

/**
 * One reconcile of §7.3 without step 3: matched Pods, status (from the Pods as observed), the hot-upgrade reset
 * pass (which runs even for NotUpdate or paused sets), then the upgrades. An upgrade of a Pod that was also reset is
 * computed on the reset Pod. `allSets` fills a missing injected-list annotation.
 */
export function planSidecarSet(set: SidecarSet, pods: readonly Pod[], now: number, allSets?: readonly SidecarSet[]): SidecarSetPlan {
  const matched = matchedPods(set, pods);
  const status = sidecarSetStatus(set, matched);
  const actions: SidecarSetPodAction[] = [];
  const afterReset = new Map<Pod, Pod>();
  if ((set.spec.containers ?? []).some(isHotUpgradeSidecar)) {
    for (const pod of matched) {
      const patch = resetChanges(pod, set, now);
      if (!patch) continue;
      actions.push({ type: 'reset', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '', patch });
      afterReset.set(pod, applySidecarPodPatch(pod, patch));
    }
  }
  const choice = choosePodsToUpgradeWithReason(set, matched);
  for (const pod of choice.pods) {
    const current = afterReset.get(pod) ?? pod;
    actions.push({
      type: 'upgrade', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '',
      patch: upgradePatch(current, set, now, allSets),
    });
  }
  return {
    matched, status, statusChanged: statusChanged(set, status), actions,
    ...(choice.skipped ? { skipped: choice.skipped } : {}),
  };
}
