/**
 * Admission warnings for a SidecarSet UPDATE whose changes existing Pods cannot receive (spec README "Hot upgrade",
 * upstream #855). Pure.
 *
 * Only sidecar container images are upgraded in place (§7.3 step 9): Kubernetes lets nothing else of a running
 * container change. Any other change to `spec.containers` (env, resources, mounts, `hotUpgradeEmptyImage`, a new or
 * removed container, …) also changes `kruise.io/sidecarset-hash-without-image`, after which existing Pods are not
 * upgradable at all (§7.3 step 6) — not even for later image changes — until they are recreated. initContainers and
 * volumes are injected only at Pod creation. Kruise accepts all of this silently; we accept it with a warning.
 */
import { isDeepStrictEqual } from 'node:util';
import type { SidecarContainer, SidecarSet } from '../../api/sidecarset-types.js';
import { sidecarSetHashWithoutImage } from './hash.js';

const EXISTING = 'existing pods will not get these changes, only pods created from now on';

function withoutImage(c: SidecarContainer): SidecarContainer {
  return { ...c, image: '' };
}

/**
 * Warnings for `old` → `set` (both as stored, i.e. defaulted), in a stable order: containers in `set` order, then
 * removed containers, initContainers, volumes, and the consequence for later image upgrades.
 */
export function sidecarSetUpdateWarnings(old: SidecarSet, set: SidecarSet): string[] {
  const name = set.metadata.name ?? '';
  const out: string[] = [];
  const before = new Map((old.spec?.containers ?? []).map((c) => [c.name, c]));
  const after = new Set((set.spec?.containers ?? []).map((c) => c.name));
  for (const c of set.spec?.containers ?? []) {
    const prev = before.get(c.name);
    if (prev === undefined) {
      out.push(`SidecarSet ${name}: container ${c.name} was added; ${EXISTING}`);
    } else if (!isDeepStrictEqual(withoutImage(prev), withoutImage(c))) {
      out.push(`SidecarSet ${name}: container ${c.name} changed beyond its image (only images are upgraded in place); ${EXISTING}`);
    }
  }
  for (const c of old.spec?.containers ?? []) {
    if (!after.has(c.name)) out.push(`SidecarSet ${name}: container ${c.name} was removed; existing pods keep it until they are recreated`);
  }
  if (!isDeepStrictEqual(old.spec?.initContainers ?? [], set.spec?.initContainers ?? [])) {
    out.push(`SidecarSet ${name}: initContainers changed (they are injected only at pod creation); ${EXISTING}`);
  }
  if (!isDeepStrictEqual(old.spec?.volumes ?? [], set.spec?.volumes ?? [])) {
    out.push(`SidecarSet ${name}: volumes changed (they are injected only at pod creation); ${EXISTING}`);
  }
  // The without-image hash is what decides upgradability (§7.3 step 6); compare it, not our own diff above.
  if (sidecarSetHashWithoutImage({ spec: old.spec ?? {} }) !== sidecarSetHashWithoutImage({ spec: set.spec ?? {} })) {
    out.push(`SidecarSet ${name}: existing pods will no longer receive image upgrades from this SidecarSet until they are recreated`);
  }
  return out;
}
