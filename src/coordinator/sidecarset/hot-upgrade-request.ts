/**
 * The hot-upgrade swap request: how the coordinator hands a HotUpgrade sidecar's new image to the agent of the
 * Pod's node (ARCHITECTURE.md "SidecarSet hot upgrade"). Pure.
 *
 * Upstream's controller flips `X-1`/`X-2` itself by patching the Pod (§7.5 step 2) and resets the old container
 * later (step 4). In kruise-ts the coordinator only decides *which* Pods may upgrade now (partition, maxUnavailable,
 * §7.3 steps 5-8) and records that intent on the Pod; the agent runs the swap, because only it can confirm through
 * the CRI that the new container runs and its postStart migration finished before the old one is emptied.
 *
 * ## The annotation `kruise-ts.io/sidecarset-hot-upgrade-request`
 *
 * JSON, written by the coordinator in the same Pod update that rewrites the set's `kruise.io/sidecarset-hash` entry
 * (and the in-place-update state and cold images, if any):
 *
 * ```json
 * {"sidecarSet":"log-sidecarset","resourceVersion":"1234",
 *  "sidecars":[{"name":"log-agent","image":"log-agent:2","emptyImage":"empty:1"}]}
 * ```
 *
 * - `sidecarSet`: the SidecarSet's name; `resourceVersion`: its `metadata.resourceVersion` when the request was
 *   made (what §7.5 writes into `version.sidecarset.kruise.io/<target>`);
 * - `sidecars`: each HotUpgrade sidecar whose image differs from the Pod's working container (main's rule, see
 *   hot-upgrade.ts), by its SidecarSet name `X` (not `X-1`/`X-2`): the new image and `hotUpgradeEmptyImage`.
 *
 * Contract with the agent (which implements §7.5 steps 2-4 from it):
 * - it picks the target container with rule 2a-c (`hotUpgradeTarget`), sets its image and the working and version
 *   annotations, waits for it to run and be Ready, resets the other container to `emptyImage` (versions "0"),
 *   confirms that too, and **removes the annotation** in its last Pod update: that is "swap done";
 * - until then the Pod counts, for that SidecarSet, as updated but not ready: it consumes `maxUnavailable`, so a
 *   rollout proceeds only as fast as swaps complete (§7.5 step 5);
 * - a newer request (the SidecarSet's image changed again) replaces the older one; the agent acts on the latest;
 * - the key is per Pod, not per SidecarSet: while a Pod carries another SidecarSet's request, the coordinator does
 *   not upgrade it for a second one (it waits; validation keeps two sets from owning the same container).
 *
 * The key is kruise-ts's own (upstream has no agent for this); it and the parser live in `api/` (the agent, in
 * src/agent/hotupgrade, may not import the coordinator).
 */
import type { Pod } from '../../api/pod-types.js';
import type { SidecarSet } from '../../api/sidecarset-types.js';
import type { SidecarPodPatch } from './hot-upgrade.js';
import { hotUpgradeChanges } from './hot-upgrade.js';
import { coldUpgradePatch, isPodSidecarUpdated } from './upgrade-plan.js';
import { hotUpgradeContainerNames, isHotUpgradeSidecar } from './pod-annotations.js';

/** Pod annotation: the pending hot-upgrade swap (see the file comment). */
export { SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION } from '../../api/well-known-keys.js';
import { SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION } from '../../api/well-known-keys.js';

// The request's format is shared with the agent, so it lives in api/.
export {
  parseHotUpgradeRequest, encodeHotUpgradeRequest, type HotUpgradeRequest, type HotUpgradeSidecarRequest,
} from '../../api/sidecarset-hot-upgrade.js';
import {
  encodeHotUpgradeRequest, parseHotUpgradeRequest, type HotUpgradeRequest, type HotUpgradeSidecarRequest,
} from '../../api/sidecarset-hot-upgrade.js';

/**
 * Whether the Pod waits for a swap of `setName`. An annotation that does not parse counts as pending (for every
 * set): we cannot tell whose it is, and counting a Pod unavailable is the safe error.
 */
export function isHotUpgradePending(pod: Pick<Pod, 'metadata'>, setName: string): boolean {
  const r = parseHotUpgradeRequest(pod);
  return r === 'invalid' || (r !== undefined && r.sidecarSet === setName);
}

/** The Pod carries a pending request of another SidecarSet (or an unparsable one). */
export function isBlockedByOtherHotUpgrade(pod: Pick<Pod, 'metadata'>, setName: string): boolean {
  const r = parseHotUpgradeRequest(pod);
  return r === 'invalid' || (r !== undefined && r.sidecarSet !== setName);
}

/**
 * How the planner must see a Pod with a pending swap of `set`: not Ready (a copy with Ready=False), so status
 * counts it updated-not-ready and §7.3 step 8 counts it against `maxUnavailable`. Other Pods are returned as they
 * are. The copy is for planning only, never written.
 */
export function planningView(pod: Pod, set: Pick<SidecarSet, 'metadata'>): Pod {
  if (!isHotUpgradePending(pod, set.metadata.name ?? '')) return pod;
  const out = structuredClone(pod);
  const conditions = (out.status?.conditions ?? []).filter((c) => c.type !== 'Ready');
  conditions.push({ type: 'Ready', status: 'False', reason: 'SidecarHotUpgradePending' });
  out.status = { ...out.status, conditions };
  return out;
}

/** What `sidecarPodUpgrade` asks the controller to write on one Pod. */
export interface SidecarPodUpgrade {
  /** Images and annotations to set (`applySidecarPodPatch`). */
  patch: SidecarPodPatch;
  /** The swap request written, when some hot sidecar needs one. */
  request?: HotUpgradeRequest;
  /**
   * Remove the Pod's request of this set: it is stale (the set went back to the image the Pod works on before the
   * agent swapped), and the agent must not swap to an image nobody wants any more.
   */
  clearRequest: boolean;
}

/**
 * §7.3 step 9 as kruise-ts executes it, on a fresh Pod: ColdUpgrade containers get their image (as upstream); the
 * HotUpgrade sidecars whose image differs from the working container get a swap request instead of an image change;
 * the hash entry, the in-place-update state (of the cold containers changed) and the injected list as upstream.
 * `undefined` when the Pod already carries the set's hash (another writer got there first) or is blocked by
 * another set's pending request.
 */
export function sidecarPodUpgrade(pod: Pod, set: SidecarSet, now: number, allSets?: readonly SidecarSet[]): SidecarPodUpgrade | undefined {
  const setName = set.metadata.name ?? '';
  if (isPodSidecarUpdated(set, pod) || isBlockedByOtherHotUpgrade(pod, setName)) return undefined;
  const patch = coldUpgradePatch(pod, set, now, allSets);
  // hotUpgradeChanges names the target container of each changed sidecar; the agent picks it again itself.
  const targets = new Set(hotUpgradeChanges(pod, set).changedContainers);
  const sidecars: HotUpgradeSidecarRequest[] = [];
  for (const c of set.spec.containers ?? []) {
    if (!isHotUpgradeSidecar(c)) continue;
    if (!hotUpgradeContainerNames(c.name).some((n) => targets.has(n))) continue;
    sidecars.push({ name: c.name, image: c.image ?? '', emptyImage: c.upgradeStrategy?.hotUpgradeEmptyImage ?? '' });
  }
  if (sidecars.length === 0) return { patch, clearRequest: isHotUpgradePending(pod, setName) };
  const request: HotUpgradeRequest = { sidecarSet: setName, resourceVersion: set.metadata.resourceVersion ?? '', sidecars };
  return {
    patch: { ...patch, annotations: { ...patch.annotations, [SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION]: encodeHotUpgradeRequest(request) } },
    request,
    clearRequest: false,
  };
}
