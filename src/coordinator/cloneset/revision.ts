/**
 * CloneSet revisions (spec §5.1, §6): the ControllerRevision data, its FNV-1 hash and name, the short-hash Pod
 * label, and the pure plan that resolves currentRevision/updateRevision from the stored revisions (which revision
 * to create or re-number, the collision count, which history to delete).
 */
import { API_VERSION, KIND_CLONESET } from '../../api/group-version.js';
import type { CloneSet } from '../../api/cloneset-types.js';
import type { ObjectMeta, OwnerReference } from '../../api/meta.js';
import type { Pod } from '../../api/pod-types.js';
import { matchesSelector, selectorFromLabelSelector } from '../../api/label-selector.js';
import { CONTROLLER_REVISION_HASH_LABEL, CONTROLLER_REVISION_HASH_ONLY_LABEL } from '../../api/well-known-keys.js';
import { compareGoStrings, goJsonMarshal, goPodTemplateJson, type JsonValue } from './go-json.js';
import { parseTimeMs } from './pod-state.js';

/** `apps/v1` ControllerRevision as the controller reads and writes it. `data` is the parsed raw JSON. */
export interface ControllerRevision {
  apiVersion: 'apps/v1';
  kind: 'ControllerRevision';
  metadata: ObjectMeta;
  data?: JsonValue;
  revision: number;
}

/** Max bytes of the CloneSet name used as the revision-name prefix (upstream `ControllerRevisionName`). */
export const REVISION_NAME_PREFIX_MAX_BYTES = 223;

/** The safe-encoding alphabet of apimachinery's `rand` (no vowels, no confusable characters). */
export const SAFE_ENCODE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

const FNV32_OFFSET_BASIS = 2166136261;
const FNV32_PRIME = 16777619;

/**
 * 32-bit FNV-1 (multiply, then xor; not FNV-1a) over `bytes`, continuing from `hash` (default: the offset
 * basis), as an unsigned integer.
 */
export function fnv1_32(bytes: Uint8Array, hash: number = FNV32_OFFSET_BASIS): number {
  let h = hash >>> 0;
  for (const b of bytes) {
    h = Math.imul(h, FNV32_PRIME) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h;
}

/** apimachinery `rand.SafeEncodeString`: each character → alphabet[code mod 27]; digits become `456789bcdf`. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ENCODE_ALPHABET[s.charCodeAt(i) % SAFE_ENCODE_ALPHABET.length]!;
  return out;
}

/**
 * The canonical revision data of a CloneSet (§6.1): `{"spec":{"template":{…,"$patch":"replace"}}}` with keys
 * sorted at every level, no whitespace, Go's omissions and HTML-safe escaping. Pass the *defaulted* CloneSet
 * (the mutating webhook's `SetDefaultPodSpec`), as upstream hashes the defaulted template. Gaps: go-json.ts.
 */
export function revisionData(cs: Pick<CloneSet, 'spec'>): string {
  const template = goPodTemplateJson(cs.spec.template);
  template['$patch'] = 'replace';
  return goJsonMarshal({ spec: { template } });
}

/** The data of a stored revision as bytes-equivalent text (stored data is already canonical; re-marshal to compare). */
export function storedRevisionData(rev: Pick<ControllerRevision, 'data'>): string {
  return goJsonMarshal(rev.data ?? null);
}

/** §6.2: FNV-1 32 over data then the decimal collisionCount, rendered in decimal and safe-encoded. */
export function hashRevision(data: string, collisionCount = 0): string {
  let h = fnv1_32(Buffer.from(data, 'utf8'));
  h = fnv1_32(Buffer.from(String(collisionCount), 'utf8'), h);
  return safeEncodeString(String(h));
}

/** `<prefix>-<hash>`, the prefix being the CloneSet name cut to its first 223 bytes. */
export function revisionName(cs: Pick<CloneSet, 'metadata'> | string, hash: string): string {
  const name = typeof cs === 'string' ? cs : cs.metadata.name ?? '';
  const bytes = Buffer.from(name, 'utf8');
  const prefix = bytes.length > REVISION_NAME_PREFIX_MAX_BYTES
    ? bytes.subarray(0, REVISION_NAME_PREFIX_MAX_BYTES).toString('utf8')
    : name;
  return `${prefix}-${hash}`;
}

/** The controller ownerReference to the CloneSet. */
export function cloneSetOwnerReference(cs: Pick<CloneSet, 'metadata'>): OwnerReference {
  return {
    apiVersion: API_VERSION, kind: KIND_CLONESET, name: cs.metadata.name ?? '', uid: cs.metadata.uid ?? '',
    controller: true, blockOwnerDeletion: true,
  };
}

/**
 * A new ControllerRevision for the CloneSet's current template (§6.1): labels = template labels + the hash label,
 * annotations = a copy of the CloneSet's, one controller ownerReference, `revision` = `revisionNumber`.
 */
export function newRevision(cs: CloneSet, revisionNumber: number, collisionCount = 0): ControllerRevision {
  const dataText = revisionData(cs);
  const hash = hashRevision(dataText, collisionCount);
  return buildRevision(cs, dataText, hash, revisionNumber);
}

function buildRevision(cs: CloneSet, dataText: string, hash: string, revisionNumber: number): ControllerRevision {
  const metadata: ObjectMeta = {
    name: revisionName(cs, hash),
    labels: { ...(cs.spec.template.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_ONLY_LABEL]: hash },
    ownerReferences: [cloneSetOwnerReference(cs)],
  };
  if (cs.metadata.namespace !== undefined) metadata.namespace = cs.metadata.namespace;
  if (cs.metadata.annotations && Object.keys(cs.metadata.annotations).length > 0) {
    metadata.annotations = { ...cs.metadata.annotations };
  }
  return {
    apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata,
    data: JSON.parse(dataText) as JsonValue, revision: revisionNumber,
  };
}

// ---- the Pod label (§6.3) ----------------------------------------------------------------------------------

/** The substring after the last `-` (a value without `-` is its own last segment). */
export function shortHash(revisionNameOrLabel: string): string {
  const i = revisionNameOrLabel.lastIndexOf('-');
  return i < 0 ? revisionNameOrLabel : revisionNameOrLabel.slice(i + 1);
}

/** Value of the Pod label `controller-revision-hash`: the full name, or only the hash with CloneSetShortHash. */
export function revisionLabelValue(revName: string, shortHashGate: boolean): string {
  return shortHashGate ? shortHash(revName) : revName;
}

/** A Pod label value belongs to the revision in either format, whatever the gate says now (§6.3). */
export function podMatchesRevision(podLabel: string | undefined, revName: string): boolean {
  if (podLabel === undefined) return false;
  return podLabel === revName || shortHash(podLabel) === shortHash(revName);
}

/** The Pod carries the revision in either label format. */
export function isPodOnRevision(pod: Pod, revName: string): boolean {
  return podMatchesRevision(pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL], revName);
}

// ---- equality, ordering ------------------------------------------------------------------------------------

/** `strconv.ParseInt(s, 10, 32)` success. */
function parseInt32(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

/**
 * history.EqualRevision: the hash labels are compared only when both parse as 32-bit integers (safe-encoded
 * hashes rarely do), then the data bytes decide.
 */
export function equalRevision(a: ControllerRevision, b: ControllerRevision): boolean {
  const ha = a.metadata.labels?.[CONTROLLER_REVISION_HASH_ONLY_LABEL];
  const hb = b.metadata.labels?.[CONTROLLER_REVISION_HASH_ONLY_LABEL];
  const na = ha === undefined ? undefined : parseInt32(ha);
  const nb = hb === undefined ? undefined : parseInt32(hb);
  if (na !== undefined && nb !== undefined && (na >>> 0) !== (nb >>> 0)) return false;
  return storedRevisionData(a) === storedRevisionData(b);
}

/** history.SortControllerRevisions order: revision number, then creation time, then name. Returns a copy. */
export function sortRevisions(revisions: readonly ControllerRevision[]): ControllerRevision[] {
  return [...revisions].sort((a, b) => {
    if (a.revision !== b.revision) return a.revision - b.revision;
    const ta = parseTimeMs(a.metadata.creationTimestamp) ?? 0;
    const tb = parseTimeMs(b.metadata.creationTimestamp) ?? 0;
    if (ta !== tb) return ta - tb;
    return compareGoStrings(a.metadata.name ?? '', b.metadata.name ?? '');
  });
}

/** Highest stored `revision` + 1, or 1. */
export function nextRevisionNumber(revisions: readonly ControllerRevision[]): number {
  let max = 0;
  for (const r of revisions) if (r.revision > max) max = r.revision;
  return revisions.length === 0 ? 1 : max + 1;
}

/**
 * The revisions the CloneSet considers (§5.1): matched by its selector and controlled by it or by nobody
 * (orphans are adopted by the executor). Invalid selectors select nothing.
 */
export function ownedRevisions(cs: CloneSet, revisions: readonly ControllerRevision[]): ControllerRevision[] {
  let selector;
  try {
    selector = selectorFromLabelSelector(cs.spec.selector ?? {}, 'spec.selector');
  } catch {
    return [];
  }
  const uid = cs.metadata.uid;
  return revisions.filter((r) => {
    if (!matchesSelector(selector, r.metadata.labels)) return false;
    const controller = r.metadata.ownerReferences?.find((o) => o.controller === true);
    return controller === undefined || controller.uid === uid;
  });
}

// ---- resolution (§5.1, §6.2) -------------------------------------------------------------------------------

export interface ResolveRevisionsInput {
  cloneSet: CloneSet;
  /** ControllerRevisions of the namespace (or at least those of this CloneSet); filtered with `ownedRevisions`. */
  revisions: readonly ControllerRevision[];
  /**
   * Every revision of the namespace, looked up by name to detect hash collisions (§6.2). Default: `revisions`.
   * The executor must still treat AlreadyExists on create as "resolve again".
   */
  namespaceRevisions?: readonly ControllerRevision[];
  /** Live (active, owned) Pods; the revisions their labels name are kept by history truncation. */
  pods?: readonly Pod[];
}

export interface RevisionPlan {
  updateRevision: ControllerRevision;
  currentRevision: ControllerRevision;
  /** The collision count to store in `status.collisionCount`. */
  collisionCount: number;
  /** Create this revision (no equal revision exists). */
  create?: ControllerRevision;
  /** An older equal revision becomes the update revision: set its `revision` to this number (rollback). */
  renumber?: { name: string; revision: number };
  /** Names of non-live revisions beyond `revisionHistoryLimit`, oldest first. */
  revisionsToDelete: string[];
}

/**
 * Resolves the revisions of one reconcile (v0.9.0 `getActiveRevisions` + `truncateHistory`):
 * 1. the candidate for the current template gets number max+1; if the newest stored revision has equal data it is
 *    the update revision; else an older equal one is re-used and renumbered; else the candidate is created, with
 *    collisionCount raised while its name is taken by a revision with different data;
 * 2. currentRevision = the stored revision named by `status.currentRevision`, else the update revision;
 * 3. history beyond `revisionHistoryLimit` among revisions that are neither current, update nor on a live Pod.
 *
 * Deviations: a created revision's `controller.kubernetes.io/hash` label carries the hash of its final name
 * (upstream keeps the hash computed before collisions); live Pods are matched to revisions in both label formats
 * (upstream compares the label with full names only, so short-hash Pods do not keep their revision alive).
 */
export function resolveRevisions(input: ResolveRevisionsInput): RevisionPlan {
  const cs = input.cloneSet;
  const revisions = sortRevisions(ownedRevisions(cs, input.revisions));
  const byName = new Map<string, ControllerRevision>();
  for (const r of input.namespaceRevisions ?? input.revisions) byName.set(r.metadata.name ?? '', r);

  let collisionCount = cs.status?.collisionCount ?? 0;
  const dataText = revisionData(cs);
  const number = nextRevisionNumber(revisions);
  const candidate = buildRevision(cs, dataText, hashRevision(dataText, collisionCount), number);

  const equal = revisions.filter((r) => equalRevision(r, candidate));
  const newest = revisions[revisions.length - 1];
  const lastEqual = equal[equal.length - 1];
  let updateRevision: ControllerRevision;
  let create: ControllerRevision | undefined;
  let renumber: RevisionPlan['renumber'];
  if (lastEqual && newest && equalRevision(newest, lastEqual)) {
    updateRevision = newest;
  } else if (lastEqual) {
    updateRevision = { ...lastEqual, revision: number };
    renumber = { name: lastEqual.metadata.name ?? '', revision: number };
  } else {
    let hash = hashRevision(dataText, collisionCount);
    for (;;) {
      const existing = byName.get(revisionName(cs, hash));
      if (existing === undefined) {
        create = buildRevision(cs, dataText, hash, number);
        updateRevision = create;
        break;
      }
      if (storedRevisionData(existing) === dataText) {
        updateRevision = existing;
        break;
      }
      collisionCount++;
      hash = hashRevision(dataText, collisionCount);
    }
  }

  const statusCurrent = cs.status?.currentRevision;
  const currentRevision = revisions.find((r) => r.metadata.name === statusCurrent) ?? updateRevision;

  const liveNames = new Set([currentRevision.metadata.name ?? '', updateRevision.metadata.name ?? '']);
  const podLabels = (input.pods ?? [])
    .map((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL])
    .filter((l): l is string => l !== undefined);
  const history = revisions.filter((r) => {
    const name = r.metadata.name ?? '';
    return !liveNames.has(name) && !podLabels.some((l) => podMatchesRevision(l, name));
  });
  const limit = cs.spec.revisionHistoryLimit ?? 10;
  const revisionsToDelete = history.length > limit
    ? history.slice(0, history.length - limit).map((r) => r.metadata.name ?? '')
    : [];

  const plan: RevisionPlan = { updateRevision, currentRevision, collisionCount, revisionsToDelete };
  if (create) plan.create = create;
  if (renumber) plan.renumber = renumber;
  return plan;
}
