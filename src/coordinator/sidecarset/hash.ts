/**
 * The SidecarSet hashes (spec §7.1): SHA-256 over the Go JSON of `{"containers": spec.containers}` (struct-field
 * order and omitempty: see go-json.ts for the exact field order), rendered as lowercase hex and safe-encoded with
 * apimachinery's alphabet, so `0-9` → `4 5 6 7 8 9 b c d f`, `a`→`v`, `b`→`w`, `c`→`x`, `d`→`z`, `e`→`2`, `f`→`4`.
 * Only `containers` count; `initContainers`, `volumes` and `updateStrategy` do not. The SidecarSet mutating webhook
 * stamps both onto the *defaulted* set, so callers hash the object after `defaultSidecarSet`.
 */
import { createHash } from 'node:crypto';
import type { SidecarSet } from '../../api/sidecarset-types.js';
import { SIDECARSET_HASH_ANNOTATION, SIDECARSET_HASH_WITHOUT_IMAGE_ANNOTATION } from '../../api/well-known-keys.js';
import { encodeSidecarContainers } from './go-json.js';

/** apimachinery `rand` alphabet: no vowels, no 0/1/3, to avoid words and look-alikes (§6.2). */
export const SAFE_ENCODE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** apimachinery `rand.SafeEncodeString`: each character c → alphabet[code(c) mod 27]. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ENCODE_ALPHABET[s.charCodeAt(i) % SAFE_ENCODE_ALPHABET.length]!;
  return out;
}

/** The exact bytes that are hashed: `{"containers":[...]}` (Go map with one key, so no ordering question). */
export function sidecarSetHashInput(set: Pick<SidecarSet, 'spec'>): string {
  return `{"containers":${encodeSidecarContainers(set.spec.containers)}}`;
}

function hashOf(data: string): string {
  return safeEncodeString(createHash('sha256').update(data, 'utf8').digest('hex'));
}

/** `kruise.io/sidecarset-hash`: 64 characters. */
export function sidecarSetHash(set: Pick<SidecarSet, 'spec'>): string {
  return hashOf(sidecarSetHashInput(set));
}

/** `kruise.io/sidecarset-hash-without-image`: every container's `image` blanked (`hotUpgradeEmptyImage` kept). */
export function sidecarSetHashWithoutImage(set: Pick<SidecarSet, 'spec'>): string {
  const containers = set.spec.containers?.map((c) => ({ ...c, image: '' }));
  return hashOf(sidecarSetHashInput({ spec: { ...set.spec, containers } }));
}

/** Both annotations, for the SidecarSet mutating webhook (`startAdmissionServer({ sidecarSetHashAnnotations })`). */
export function sidecarSetHashAnnotations(set: SidecarSet): Record<string, string> {
  return {
    [SIDECARSET_HASH_ANNOTATION]: sidecarSetHash(set),
    [SIDECARSET_HASH_WITHOUT_IMAGE_ANNOTATION]: sidecarSetHashWithoutImage(set),
  };
}

/**
 * The set's current revision as injection and the controller compare it: the stamped annotation, as upstream reads
 * it; computed only when the webhook has not stamped one (a set created while the webhook was down), so that both
 * sides still agree.
 */
export function sidecarSetRevision(set: Pick<SidecarSet, 'metadata' | 'spec'>): string {
  return set.metadata.annotations?.[SIDECARSET_HASH_ANNOTATION] || sidecarSetHash(set);
}

/** Same for the without-image hash. */
export function sidecarSetRevisionWithoutImage(set: Pick<SidecarSet, 'metadata' | 'spec'>): string {
  return set.metadata.annotations?.[SIDECARSET_HASH_WITHOUT_IMAGE_ANNOTATION] || sidecarSetHashWithoutImage(set);
}
