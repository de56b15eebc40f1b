/**
 * Consistency and readiness of a Pod for a SidecarSet (spec §7.4, and §7.5 step 5). Pure.
 *
 * Consistent = the kubelet has caught up with the sidecar images in the spec: digest-pinned images must show that
 * digest in the status imageID; otherwise a container is inconsistent while its status imageID still equals the
 * imageID recorded before the update and its status image differs from the spec image.
 * Ready = Running with Ready=True, and every hot sidecar's non-working container back on `hotUpgradeEmptyImage`.
 */
import type { Container, Pod } from '../../api/pod-types.js';
import type { SidecarSet } from '../../api/sidecarset-types.js';
import { imageIdMatchesDigest, isDigestImage, sameImage } from './image-digest.js';
import {
  isHotUpgradeSidecar, parseSidecarSetInPlaceUpdateState, sidecarContainerNamesInPod, workingContainer,
} from './pod-annotations.js';

/** §0.3 running-and-ready: phase Running and condition Ready=True. */
export function isRunningAndReady(pod: Pick<Pod, 'status'>): boolean {
  return pod.status?.phase === 'Running'
    && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Whether the given sidecar containers (default: all of the set's, both `-1`/`-2` of hot ones) run what the spec
 * says (upstream `IsPodUpdatedConsistently`).
 */
export function isPodConsistent(
  pod: Pick<Pod, 'metadata' | 'spec' | 'status'>, set: Pick<SidecarSet, 'metadata' | 'spec'>, containerNames?: readonly string[],
): boolean {
  const statuses = pod.status?.containerStatuses ?? [];
  if (pod.spec.containers.length !== statuses.length) return false;
  const names = new Set(containerNames && containerNames.length > 0 ? containerNames : sidecarContainerNamesInPod(set));
  const imageIDs = new Map(statuses.map((s) => [s.name, s.imageID ?? '']));
  let allDigest = true;
  for (const c of pod.spec.containers) {
    if (!names.has(c.name)) continue;
    if (!isDigestImage(c.image)) {
      allDigest = false;
      continue;
    }
    const id = imageIDs.get(c.name);
    if (id === undefined || !imageIdMatchesDigest(c.image!, id)) return false;
  }
  if (allDigest) return true;
  return isSidecarUpdateCompleted(pod, set.metadata.name ?? '', names);
}

/** Upstream `isSidecarContainerUpdateCompleted`, comparing image names normalised (see image-digest.ts). */
function isSidecarUpdateCompleted(pod: Pick<Pod, 'metadata' | 'spec' | 'status'>, setName: string, names: ReadonlySet<string>): boolean {
  const states = parseSidecarSetInPlaceUpdateState(pod);
  // Never updated in place (only injected): consistent. Unparsable (a hand edit): not.
  if (states === undefined) return true;
  if (states === 'invalid') return false;
  const state = states[setName];
  if (!state) return true;
  const specImages = new Map(pod.spec.containers.map((c: Container) => [c.name, c.image ?? '']));
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (!names.has(cs.name)) continue;
    const old = state.lastContainerStatuses[cs.name];
    if (old && (old.imageID ?? '') === (cs.imageID ?? '') && !sameImage(specImages.get(cs.name) ?? '', cs.image ?? '')) {
      return false;
    }
  }
  return true;
}

/**
 * §7.5 step 5: every hot sidecar's non-working container is back on `hotUpgradeEmptyImage` (a Pod mid hot upgrade
 * is updated but unavailable, and consumes maxUnavailable).
 */
export function isHotUpgradeSettled(pod: Pick<Pod, 'metadata' | 'spec'>, set: Pick<SidecarSet, 'spec'>): boolean {
  const images = new Map(pod.spec.containers.map((c) => [c.name, c.image ?? '']));
  for (const sidecar of set.spec.containers ?? []) {
    if (!isHotUpgradeSidecar(sidecar)) continue;
    const empty = sidecar.upgradeStrategy?.hotUpgradeEmptyImage ?? '';
    const { other } = workingContainer(pod, sidecar.name);
    // As upstream: only a container present in the Pod, and only when an empty image is configured, can fail this.
    if (empty !== '' && images.has(other) && images.get(other) !== empty) return false;
  }
  return true;
}

/** Ready in the SidecarSet sense (upstream `IsPodReady`): hot upgrades settled, and Running with Ready=True. */
export function isPodReadyForSidecarSet(pod: Pick<Pod, 'metadata' | 'spec' | 'status'>, set: Pick<SidecarSet, 'spec'>): boolean {
  return isHotUpgradeSettled(pod, set) && isRunningAndReady(pod);
}
