/**
 * HotUpgrade decisions (spec §7.5): which of `X-1`/`X-2` receives a new image, the annotation changes that go with
 * it, the reset of the old container to the empty image once the new one is ready, and the readiness rule. Pure:
 * every function returns changes; the controller applies them (full Pod update) and the agent runs the swap.
 *
 * "Changed?" follows main, not v0.9.0 (spec README, upstream #928): a hot sidecar is upgraded only when the
 * SidecarSet image differs from the image of the container that works now, so a change to another container of
 * the set no longer flips every hot sidecar.
 */
import type { Pod } from '../../api/pod-types.js';
import type { SidecarContainer, SidecarSet } from '../../api/sidecarset-types.js';
import {
  SIDECARSET_INPLACE_UPDATE_STATE_ANNOTATION, SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION,
} from '../../api/well-known-keys.js';
import { pickHotUpgradeTarget, resetVersionAnnotations, switchVersionAnnotations } from '../../api/sidecarset-hot-upgrade.js';
import { isHotUpgradeSettled, isPodConsistent, isRunningAndReady } from './consistency.js';
import { sidecarSetRevision } from './hash.js';
import {
  encodeWorkingHotUpgradeAnnotation, hotUpgradeContainerNames, inPlaceUpdateStateAnnotation, isHotUpgradeSidecar,
  parseWorkingHotUpgradeAnnotation, sidecarContainerNamesInPod, workingContainer,
} from './pod-annotations.js';

export { workingContainer, isHotUpgradeSettled };

/** Changes to one Pod: container images to set and annotations to set (never removed). */
export interface SidecarPodPatch {
  /** Container name → new image. */
  images: Record<string, string>;
  /** Annotation key → new value. */
  annotations: Record<string, string>;
  /** The containers whose image changes, in SidecarSet container order. */
  changedContainers: string[];
}

/** Applies a patch to a copy of the Pod. Re-run the producing function on a fresh Pod after a conflict. */
export function applySidecarPodPatch(pod: Pod, patch: SidecarPodPatch): Pod {
  const out = structuredClone(pod);
  for (const c of out.spec.containers) {
    const image = patch.images[c.name];
    if (image !== undefined) c.image = image;
  }
  out.metadata.annotations = { ...out.metadata.annotations, ...patch.annotations };
  return out;
}

function containerImage(pod: Pick<Pod, 'spec'>, name: string): string | undefined {
  return pod.spec.containers.find((c) => c.name === name)?.image;
}

function isContainerReadyAndConsistent(pod: Pod, set: Pick<SidecarSet, 'metadata' | 'spec'>, name: string): boolean {
  const status = pod.status?.containerStatuses?.find((s) => s.name === name);
  return status !== undefined && status.ready && isPodConsistent(pod, set, [name]);
}

/** Rule 2a-c (`pickHotUpgradeTarget`), judging Ready-and-consistent from the Pod status (§7.4). */
export function hotUpgradeTarget(
  pod: Pod, set: Pick<SidecarSet, 'metadata' | 'spec'>, sidecar: Pick<SidecarContainer, 'name' | 'upgradeStrategy'>,
): { target: string; other: string } {
  return pickHotUpgradeTarget(pod, sidecar.name, sidecar.upgradeStrategy?.hotUpgradeEmptyImage ?? '',
    (name) => isContainerReadyAndConsistent(pod, set, name));
}

/**
 * Step 2 for every HotUpgrade container of the set whose image differs from the Pod's working side (main's rule):
 * the target gets the image and becomes the working one; `version…/<target>` = the SidecarSet resourceVersion,
 * `versionalt…/<target>` = the previous `version…/<other>`, `versionalt…/<other>` = the resourceVersion.
 * Hash and in-place-update-state annotations are not included (see `upgradePatch`).
 */
export function hotUpgradeChanges(
  pod: Pod, set: Pick<SidecarSet, 'metadata' | 'spec'>, sidecarSetResourceVersion = set.metadata.resourceVersion ?? '',
): SidecarPodPatch {
  const patch: SidecarPodPatch = { images: {}, annotations: {}, changedContainers: [] };
  const working = parseWorkingHotUpgradeAnnotation(pod);
  let changed = false;
  for (const sidecar of set.spec.containers ?? []) {
    if (!isHotUpgradeSidecar(sidecar)) continue;
    const [name1, name2] = hotUpgradeContainerNames(sidecar.name);
    // A Pod without the pair (injected before the container was added) has nothing to upgrade here.
    if (containerImage(pod, name1) === undefined || containerImage(pod, name2) === undefined) continue;
    const { target, other } = hotUpgradeTarget(pod, set, sidecar);
    if ((sidecar.image ?? '') === (containerImage(pod, other) ?? '')) continue;
    patch.images[target] = sidecar.image ?? '';
    patch.changedContainers.push(target);
    working[sidecar.name] = target;
    changed = true;
    Object.assign(patch.annotations, switchVersionAnnotations(pod, target, other, sidecarSetResourceVersion));
  }
  if (changed) patch.annotations[SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION] = encodeWorkingHotUpgradeAnnotation(working);
  return patch;
}

/** Some hot sidecar's non-working container is not on the empty image: the Pod is mid hot upgrade. */
export function isPodInHotUpgrading(pod: Pick<Pod, 'metadata' | 'spec'>, set: Pick<SidecarSet, 'spec'>): boolean {
  for (const sidecar of set.spec.containers ?? []) {
    if (!isHotUpgradeSidecar(sidecar)) continue;
    const { other } = workingContainer(pod, sidecar.name);
    if ((containerImage(pod, other) ?? '') !== (sidecar.upgradeStrategy?.hotUpgradeEmptyImage ?? '')) return true;
  }
  return false;
}

function nonWorkingContainers(pod: Pick<Pod, 'metadata'>, set: Pick<SidecarSet, 'spec'>): Set<string> {
  const out = new Set<string>();
  for (const sidecar of set.spec.containers ?? []) {
    if (isHotUpgradeSidecar(sidecar)) out.add(workingContainer(pod, sidecar.name).other);
  }
  return out;
}

/** Step 4 (iii): Running+Ready, or every container status except the non-working ones Ready. */
export function isHotUpgradingReady(pod: Pod, set: Pick<SidecarSet, 'spec'>): boolean {
  if (isRunningAndReady(pod)) return true;
  const skip = nonWorkingContainers(pod, set);
  return (pod.status?.containerStatuses ?? []).every((s) => skip.has(s.name) || s.ready);
}

/**
 * Step 4: whether the old containers can go back to the empty image now: (i) mid hot upgrade, (ii) every sidecar
 * container except the non-working ones is consistent, (iii) `isHotUpgradingReady`.
 */
export function needsHotUpgradeReset(pod: Pod, set: Pick<SidecarSet, 'metadata' | 'spec'>): boolean {
  if (!isPodInHotUpgrading(pod, set)) return false;
  const skip = nonWorkingContainers(pod, set);
  const names = sidecarContainerNamesInPod(set).filter((n) => !skip.has(n));
  // An empty list would mean "all containers" to isPodConsistent; with nothing left to check it is consistent.
  if (names.length > 0 && !isPodConsistent(pod, set, names)) return false;
  return isHotUpgradingReady(pod, set);
}

/**
 * Step 4 changes, or undefined when the Pod does not qualify: each non-working container not on the empty image is
 * set to it, `version…/<non-working>` = "0", `versionalt…/<working>` = "0", and the flipped containers' current
 * imageIDs are recorded in `kruise.io/sidecarset-inplace-update-state` (entry created at `now` if missing). The
 * `kruise.io/sidecarset-hash` entry is not rewritten (main; v0.9.0 did, marking a Pod updated that was not).
 */
export function resetChanges(pod: Pod, set: Pick<SidecarSet, 'metadata' | 'spec'>, now: number): SidecarPodPatch | undefined {
  if (!needsHotUpgradeReset(pod, set)) return undefined;
  const patch: SidecarPodPatch = { images: {}, annotations: {}, changedContainers: [] };
  for (const sidecar of set.spec.containers ?? []) {
    if (!isHotUpgradeSidecar(sidecar)) continue;
    const empty = sidecar.upgradeStrategy?.hotUpgradeEmptyImage ?? '';
    const { working, other } = workingContainer(pod, sidecar.name);
    const image = containerImage(pod, other);
    if (image === undefined || image === empty) continue;
    patch.images[other] = empty;
    patch.changedContainers.push(other);
    Object.assign(patch.annotations, resetVersionAnnotations(working, other));
  }
  if (patch.changedContainers.length === 0) return undefined;
  patch.annotations[SIDECARSET_INPLACE_UPDATE_STATE_ANNOTATION] = inPlaceUpdateStateAnnotation(
    pod, set.metadata.name ?? '', sidecarSetRevision(set), patch.changedContainers, now,
  );
  return patch;
}
