/**
 * The pure vocabulary of a SidecarSet hot upgrade (spec §7.5) that both sides of the swap share: the coordinator,
 * which writes the swap request, and the agent of the Pod's node, which runs the swap. It lives in `api/` because
 * the agent may import only `api/`, `kube/` and `cri/` (ARCHITECTURE layering); the coordinator's
 * `sidecarset/pod-annotations.ts`, `hot-upgrade.ts` and `hot-upgrade-request.ts` re-export it.
 *
 * - names: sidecar `X` becomes `X-1` and `X-2` in the Pod;
 * - `kruise.io/sidecarset-working-hotupgrade-container`: sidecar name → working container;
 * - the swap request `kruise-ts.io/sidecarset-hot-upgrade-request` (format and contract: the coordinator's
 *   hot-upgrade-request.ts) and the agent's progress record `kruise-ts.io/sidecarset-hot-upgrade-status`;
 * - rule 2a-c (which container gets the new image) with the Ready-and-consistent test supplied by the caller: the
 *   coordinator judges it from the Pod status (§7.4), the agent from the Pod status and the CRI;
 * - the version annotation changes of step 2 (switch) and step 4 (reset).
 */
import type { Pod } from './pod-types.js';
import { goJsonString } from './go-json-string.js';
import {
  HOT_UPGRADE_CONTAINER_SUFFIXES, SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION,
  SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION, sidecarSetVersionAltAnnotation, sidecarSetVersionAnnotation,
} from './well-known-keys.js';

export { SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION };

/**
 * Pod annotation (kruise-ts's own, written by the agent only): JSON `SwapStatus`, the swap's progress, written
 * before each step it names is acted on, so an agent that restarts resumes at that step.
 */
export const SIDECARSET_HOT_UPGRADE_STATUS_ANNOTATION = 'kruise-ts.io/sidecarset-hot-upgrade-status';

// ---- names and the working-container annotation ----------------------------------------------------------------

/** `X` → [`X-1`, `X-2`]. */
export function hotUpgradeContainerNames(sidecarName: string): [string, string] {
  return [sidecarName + HOT_UPGRADE_CONTAINER_SUFFIXES[0], sidecarName + HOT_UPGRADE_CONTAINER_SUFFIXES[1]];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The working-container map; `{}` when absent or unparsable (upstream logs and carries on). */
export function parseWorkingHotUpgradeAnnotation(pod: Pick<Pod, 'metadata'>): Record<string, string> {
  const value = pod.metadata.annotations?.[SIDECARSET_WORKING_HOTUPGRADE_CONTAINER_ANNOTATION];
  if (!value) return {};
  try {
    const parsed: unknown = JSON.parse(value);
    if (!isRecord(parsed)) return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
    return out;
  } catch {
    return {};
  }
}


/**
 * Renders the map as Go marshals `map[string]string`: keys sorted (by UTF-16 unit here, by byte in Go; the two
 * agree for container names, which are DNS labels), no spaces.
 */
export function encodeWorkingHotUpgradeAnnotation(map: Readonly<Record<string, string>>): string {
  return `{${Object.keys(map).sort().map((k) => `${goJsonString(k)}:${goJsonString(map[k]!)}`).join(',')}}`;
}

/**
 * Which of `X-1`/`X-2` works now and which is the other one (empty, or the old one mid-upgrade). Only an explicit
 * `X-1` in the annotation makes `X-1` the working one; absent or anything else means `X-2` (upstream rule).
 */
export function workingContainer(pod: Pick<Pod, 'metadata'>, sidecarName: string): { working: string; other: string } {
  const [name1, name2] = hotUpgradeContainerNames(sidecarName);
  return parseWorkingHotUpgradeAnnotation(pod)[sidecarName] === name1
    ? { working: name1, other: name2 }
    : { working: name2, other: name1 };
}

// ---- rule 2a-c and the annotation changes of steps 2 and 4 -------------------------------------------------------

function containerImage(pod: Pick<Pod, 'spec'>, name: string): string | undefined {
  return pod.spec.containers.find((c) => c.name === name)?.image;
}

/**
 * Rule 2a-c: the container that gets the new image and the other one.
 * a. `X-1` if it runs the empty image, else `X-2` if it does;
 * b. else the one that is not Ready-and-consistent when exactly one is (a failed earlier upgrade is retried there);
 * c. else the non-working one.
 * `readyAndConsistent(name)` is the caller's judgement of one container (§7.4).
 */
export function pickHotUpgradeTarget(
  pod: Pick<Pod, 'metadata' | 'spec'>, sidecarName: string, emptyImage: string, readyAndConsistent: (container: string) => boolean,
): { target: string; other: string } {
  const [name1, name2] = hotUpgradeContainerNames(sidecarName);
  if ((containerImage(pod, name1) ?? '') === emptyImage) return { target: name1, other: name2 };
  if ((containerImage(pod, name2) ?? '') === emptyImage) return { target: name2, other: name1 };
  const ready1 = readyAndConsistent(name1);
  const ready2 = readyAndConsistent(name2);
  if (ready1 && !ready2) return { target: name2, other: name1 };
  if (!ready1 && ready2) return { target: name1, other: name2 };
  const { working, other } = workingContainer(pod, sidecarName);
  return { target: other, other: working };
}

/**
 * Step 2's version annotations when `target` takes over from `other`: `version…/<target>` = the SidecarSet
 * resourceVersion, `versionalt…/<target>` = the previous `version…/<other>`, `versionalt…/<other>` = the
 * resourceVersion. (The working annotation and the image are the caller's.)
 */
export function switchVersionAnnotations(
  pod: Pick<Pod, 'metadata'>, target: string, other: string, sidecarSetResourceVersion: string,
): Record<string, string> {
  return {
    [sidecarSetVersionAnnotation(target)]: sidecarSetResourceVersion,
    [sidecarSetVersionAltAnnotation(target)]: pod.metadata.annotations?.[sidecarSetVersionAnnotation(other)] ?? '',
    [sidecarSetVersionAltAnnotation(other)]: sidecarSetResourceVersion,
  };
}

/** Step 4's version annotations when `other` goes back to the empty image: `version…/<other>` and `versionalt…/<working>` = "0". */
export function resetVersionAnnotations(working: string, other: string): Record<string, string> {
  return { [sidecarSetVersionAnnotation(other)]: '0', [sidecarSetVersionAltAnnotation(working)]: '0' };
}

// ---- the swap request ----------------------------------------------------------------------------------------

export interface HotUpgradeSidecarRequest {
  /** The sidecar's name in the SidecarSet (`X`); the Pod has `X-1` and `X-2`. */
  name: string;
  /** The image to swap in. */
  image: string;
  /** `upgradeStrategy.hotUpgradeEmptyImage`: what the old container goes back to. */
  emptyImage: string;
}

export interface HotUpgradeRequest {
  sidecarSet: string;
  resourceVersion: string;
  sidecars: HotUpgradeSidecarRequest[];
}

/** The Pod's request, `undefined` when it has none, `'invalid'` when the annotation does not parse. */
export function parseHotUpgradeRequest(pod: Pick<Pod, 'metadata'>): HotUpgradeRequest | undefined | 'invalid' {
  const raw = pod.metadata.annotations?.[SIDECARSET_HOT_UPGRADE_REQUEST_ANNOTATION];
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw) as Partial<HotUpgradeRequest> | null;
    if (!v || typeof v.sidecarSet !== 'string' || typeof v.resourceVersion !== 'string' || !Array.isArray(v.sidecars)) return 'invalid';
    const ok = v.sidecars.every((s: Partial<HotUpgradeSidecarRequest> | null) => s !== null && typeof s === 'object'
      && typeof s.name === 'string' && typeof s.image === 'string' && typeof s.emptyImage === 'string');
    return ok ? { sidecarSet: v.sidecarSet, resourceVersion: v.resourceVersion, sidecars: v.sidecars } : 'invalid';
  } catch {
    return 'invalid';
  }
}

export function encodeHotUpgradeRequest(r: HotUpgradeRequest): string {
  return JSON.stringify({
    sidecarSet: r.sidecarSet, resourceVersion: r.resourceVersion,
    sidecars: r.sidecars.map((s) => ({ name: s.name, image: s.image, emptyImage: s.emptyImage })),
  });
}
