/**
 * The Pod annotations SidecarSet reads and writes (spec §7.2, §7.3, §7.5), parsed and rendered the way upstream's
 * Go structs marshal them (map keys sorted, struct fields in declaration order, Go string escaping), so Pods
 * written by OpenKruise and by us look the same:
 * - `kruise.io/sidecarset-hash` / `-hash-without-image`: set name → {updateTimestamp, hash, sidecarSetName}; the
 *   legacy format `{"name":"hash"}` is still read and rewritten in the new one;
 * - `kruise.io/sidecarset-working-hotupgrade-container`: sidecar name → working container (`X-1`/`X-2`);
 * - `kruise.io/sidecarset-inplace-update-state`: set name → {revision, updateTimestamp, lastContainerStatuses}.
 * Pure.
 */
import type { Pod } from '../../api/pod-types.js';
import type { SidecarContainer, SidecarSet } from '../../api/sidecarset-types.js';
import {
  SIDECARSET_HASH_ANNOTATION, SIDECARSET_HASH_WITHOUT_IMAGE_ANNOTATION, SIDECARSET_INPLACE_UPDATE_STATE_ANNOTATION,
} from '../../api/well-known-keys.js';
import type { InPlaceUpdateState } from '../../api/workload-common-types.js';
import { goJson } from './go-json.js';

/** One entry of the hash annotations (upstream `SidecarSetUpgradeSpec`). */
export interface SidecarSetUpgradeSpec {
  /** RFC 3339 seconds; `null` for entries upgraded from the legacy format (Go's zero metav1.Time). */
  updateTimestamp: string | null;
  hash: string;
  sidecarSetName: string;
}

export type SidecarSetHashMap = Record<string, SidecarSetUpgradeSpec>;

/** `metav1.Time` serialisation: whole seconds, UTC, `Z`. */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses a hash annotation. Absent or empty → `{}`; the legacy `{"name":"hash"}` map → entries with a null
 * timestamp and the map key as `sidecarSetName`; anything else (not JSON, mixed values) → undefined.
 */
export function parseSidecarSetHashAnnotation(value: string | undefined): SidecarSetHashMap | undefined {
  if (value === undefined || value === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (parsed === null) return {};
  if (!isRecord(parsed)) return undefined;
  const values = Object.values(parsed);
  const out: SidecarSetHashMap = {};
  if (values.every((v) => v === null || isRecord(v))) {
    for (const [k, v] of Object.entries(parsed)) {
      const spec = (v ?? {}) as Record<string, unknown>;
      out[k] = {
        updateTimestamp: typeof spec.updateTimestamp === 'string' ? spec.updateTimestamp : null,
        hash: typeof spec.hash === 'string' ? spec.hash : '',
        sidecarSetName: typeof spec.sidecarSetName === 'string' ? spec.sidecarSetName : '',
      };
    }
    return out;
  }
  if (values.every((v) => typeof v === 'string')) {
    for (const [k, v] of Object.entries(parsed)) out[k] = { updateTimestamp: null, hash: v as string, sidecarSetName: k };
    return out;
  }
  return undefined;
}

/** Renders a hash map as Go marshals `map[string]SidecarSetUpgradeSpec`. */
export function encodeSidecarSetHashAnnotation(map: SidecarSetHashMap): string {
  const out: Record<string, Map<string, unknown>> = {};
  for (const [k, e] of Object.entries(map)) {
    out[k] = new Map<string, unknown>([['updateTimestamp', e.updateTimestamp], ['hash', e.hash], ['sidecarSetName', e.sidecarSetName]]);
  }
  return goJson(out);
}

/** The hash the Pod records for `setName` (upstream `GetPodSidecarSetRevision`); '' when none or unparsable. */
export function podSidecarSetRevision(pod: Pick<Pod, 'metadata'>, setName: string): string {
  return parseSidecarSetHashAnnotation(pod.metadata.annotations?.[SIDECARSET_HASH_ANNOTATION])?.[setName]?.hash ?? '';
}

/** Same for the without-image hash. */
export function podSidecarSetRevisionWithoutImage(pod: Pick<Pod, 'metadata'>, setName: string): string {
  return parseSidecarSetHashAnnotation(pod.metadata.annotations?.[SIDECARSET_HASH_WITHOUT_IMAGE_ANNOTATION])?.[setName]?.hash ?? '';
}

/**
 * The annotation changes that record `hash` for `setName` at `now` (controller, §7.3 step 9). A legacy-format
 * without-image annotation is rewritten in the new format too, as upstream does; its entries keep their own names
 * (upstream wrote the current set's name into every converted entry, a slip we do not copy).
 */
export function podHashAnnotationUpdate(pod: Pick<Pod, 'metadata'>, setName: string, hash: string, now: number): Record<string, string> {
  const annotations = pod.metadata.annotations ?? {};
  const out: Record<string, string> = {};
  const current = parseSidecarSetHashAnnotation(annotations[SIDECARSET_HASH_ANNOTATION]) ?? {};
  current[setName] = { updateTimestamp: formatTime(now), hash, sidecarSetName: setName };
  out[SIDECARSET_HASH_ANNOTATION] = encodeSidecarSetHashAnnotation(current);
  const withoutImage = annotations[SIDECARSET_HASH_WITHOUT_IMAGE_ANNOTATION];
  if (withoutImage && isLegacyHashAnnotation(withoutImage)) {
    out[SIDECARSET_HASH_WITHOUT_IMAGE_ANNOTATION] = encodeSidecarSetHashAnnotation(parseSidecarSetHashAnnotation(withoutImage)!);
  }
  return out;
}

function isLegacyHashAnnotation(value: string): boolean {
  try {
    const parsed: unknown = JSON.parse(value);
    return isRecord(parsed) && Object.keys(parsed).length > 0 && Object.values(parsed).every((v) => typeof v === 'string');
  } catch {
    return false;
  }
}

// ---- hot upgrade names and the working-container annotation (§7.5) ---------------------------------------------

// Names, the working-container map and its Go rendering live in api/ (the agent shares them).
export {
  hotUpgradeContainerNames, parseWorkingHotUpgradeAnnotation, encodeWorkingHotUpgradeAnnotation, workingContainer,
} from '../../api/sidecarset-hot-upgrade.js';
import { hotUpgradeContainerNames } from '../../api/sidecarset-hot-upgrade.js';

export function isHotUpgradeSidecar(c: Pick<SidecarContainer, 'upgradeStrategy'>): boolean {
  return c.upgradeStrategy?.upgradeType === 'HotUpgrade';
}

/** Names of the Pod containers that belong to the set's sidecars (both `-1`/`-2` for hot ones), sorted. */
export function sidecarContainerNamesInPod(set: Pick<SidecarSet, 'spec'>): string[] {
  const names = new Set<string>();
  for (const c of set.spec.containers ?? []) {
    if (isHotUpgradeSidecar(c)) for (const n of hotUpgradeContainerNames(c.name)) names.add(n);
    else names.add(c.name);
  }
  return [...names].sort();
}

// ---- in-place update state (§7.3 step 9, §7.4) -----------------------------------------------------------------

/** Parsed `kruise.io/sidecarset-inplace-update-state`; undefined when absent, `'invalid'` when unparsable. */
export function parseSidecarSetInPlaceUpdateState(pod: Pick<Pod, 'metadata'>): Record<string, InPlaceUpdateState> | undefined | 'invalid' {
  const value = pod.metadata.annotations?.[SIDECARSET_INPLACE_UPDATE_STATE_ANNOTATION];
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    if (parsed === null) return {};
    if (!isRecord(parsed)) return 'invalid';
    const out: Record<string, InPlaceUpdateState> = {};
    for (const [k, v] of Object.entries(parsed)) {
      if (v === null) continue;
      if (!isRecord(v)) return 'invalid';
      const last = isRecord(v.lastContainerStatuses) ? v.lastContainerStatuses : {};
      const statuses: InPlaceUpdateState['lastContainerStatuses'] = {};
      for (const [c, s] of Object.entries(last)) {
        statuses[c] = isRecord(s) && typeof s.imageID === 'string' ? { imageID: s.imageID } : {};
      }
      out[k] = {
        revision: typeof v.revision === 'string' ? v.revision : '',
        updateTimestamp: typeof v.updateTimestamp === 'string' ? v.updateTimestamp : '',
        lastContainerStatuses: statuses,
      };
    }
    return out;
  } catch {
    return 'invalid';
  }
}

/**
 * The state annotation after recording the pre-update imageIDs of `changedContainers` for `set` (upstream
 * `UpdatePodAnnotationsInUpgrade`, minus the hash rewrite): the entry's revision and timestamp are set only when
 * it is first created; imageIDs are taken from the Pod's current container statuses ('' when missing).
 */
export function inPlaceUpdateStateAnnotation(
  pod: Pick<Pod, 'metadata' | 'status'>, setName: string, revision: string, changedContainers: readonly string[], now: number,
): string {
  const parsed = parseSidecarSetInPlaceUpdateState(pod);
  const states = parsed === undefined || parsed === 'invalid' ? {} : parsed;
  const state = states[setName] ?? { revision, updateTimestamp: formatTime(now), lastContainerStatuses: {} };
  const imageIDs = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s.imageID ?? '']));
  const last = { ...state.lastContainerStatuses };
  for (const name of changedContainers) last[name] = { imageID: imageIDs.get(name) ?? '' };
  states[setName] = { ...state, lastContainerStatuses: last };
  const out: Record<string, Map<string, unknown>> = {};
  for (const [k, s] of Object.entries(states)) {
    const statuses: Record<string, unknown> = {};
    for (const [c, st] of Object.entries(s.lastContainerStatuses)) statuses[c] = st?.imageID ? { imageID: st.imageID } : {};
    // Field order of pub.InPlaceUpdateState: revision, updateTimestamp, lastContainerStatuses.
    out[k] = new Map<string, unknown>([['revision', s.revision], ['updateTimestamp', s.updateTimestamp], ['lastContainerStatuses', statuses]]);
  }
  return goJson(out);
}
