/**
 * Go's JSON as the revision data needs it (spec §6.1): `encoding/json` marshalling of generic values
 * (`map[string]interface{}` after a round trip), and an approximation of how Go marshals a typed, defaulted
 * `corev1.PodTemplateSpec` (which zero-valued fields `omitempty` drops and which it keeps).
 *
 * Byte-identical with Go for generic values (sorted keys by UTF-8 bytes, no whitespace, `<` `>` `&` U+2028 U+2029
 * escaped, control characters as `\u00XX` except `\n` `\r` `\t`, float64 number text).
 *
 * Known gaps for the typed template (where the hash can differ from OpenKruise's for the same YAML):
 * - `resource.Quantity` values are not canonicalised (Go writes `0.5` as `"500m"`, `1024Mi` as `"1Gi"`).
 * - which zero values survive is decided by field *name* (`KEEP_ZERO_FIELDS`), not by Go struct type: a field
 *   name that is a pointer in one struct and a plain `omitempty` value in another follows the common case
 *   (`readOnly: false` is dropped, as for volumeMounts, although `csi.readOnly` is a pointer in Go).
 * - fields Go does not know (typos, newer Kubernetes fields) are kept; Go would drop them when decoding.
 * - `-0` prints as `0` (Go: `-0`); lone UTF-16 surrogates print as U+FFFD.
 */

/** A JSON value as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Go's `sort.Strings` order: byte-wise over UTF-8 (differs from UTF-16 order only above U+FFFF). */
export function compareGoStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

import { goJsonString } from '../../api/go-json-string.js';

export { goJsonString };

/** Go's float64 text: shortest round-trip digits, exponent form below 1e-6 or from 1e21 (as JavaScript's). */
function goNumber(n: number): string {
  if (!Number.isFinite(n)) throw new TypeError(`json: unsupported value: ${n}`);
  return String(n);
}

/** `json.Marshal` of a generic value: objects with keys sorted, no whitespace. `undefined` members are skipped. */
export function goJsonMarshal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return goNumber(value);
  if (typeof value === 'string') return goJsonString(value);
  if (Array.isArray(value)) return `[${value.map((v) => goJsonMarshal(v)).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort(compareGoStrings);
    return `{${keys.map((k) => `${goJsonString(k)}:${goJsonMarshal(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`json: unsupported type: ${typeof value}`);
}

/**
 * Field names whose zero value (`false`, `0`, `""`) Go keeps in a pod template: pointer fields (nil is absent, a
 * set zero is written) and fields without `omitempty`. Everything else with a zero value is dropped.
 */
const KEEP_ZERO_FIELDS: ReadonlySet<string> = new Set([
  // PodSpec pointers
  'terminationGracePeriodSeconds', 'activeDeadlineSeconds', 'automountServiceAccountToken', 'shareProcessNamespace',
  'priority', 'enableServiceLinks', 'preemptionPolicy', 'runtimeClassName', 'setHostnameAsFQDN',
  // security contexts (pointers)
  'runAsUser', 'runAsGroup', 'runAsNonRoot', 'fsGroup', 'privileged', 'readOnlyRootFilesystem',
  'allowPrivilegeEscalation', 'procMount', 'fsGroupChangePolicy', 'localhostProfile', 'gmsaCredentialSpecName',
  'gmsaCredentialSpec', 'runAsUserName',
  // volumes (pointers)
  'defaultMode', 'optional', 'mode', 'expirationSeconds', 'sizeLimit',
  // tolerations (pointer)
  'tolerationSeconds',
  // fields without omitempty
  'name', 'mountPath', 'devicePath', 'containerPort', 'key', 'path', 'fieldPath', 'resource', 'conditionType',
  'claimName', 'weight', 'topologyKey', 'maxSkew', 'whenUnsatisfiable', 'port', 'type', 'operator',
]);

/** Map-typed fields: Go's `omitempty` drops them when empty. Other empty objects are structs and stay `{}`. */
const MAP_FIELDS: ReadonlySet<string> = new Set([
  'labels', 'annotations', 'nodeSelector', 'limits', 'requests', 'matchLabels', 'overhead', 'volumeAttributes',
]);

/** Slices written even when nil (no `omitempty`). */
const KEEP_EMPTY_SLICE_FIELDS: ReadonlySet<string> = new Set(['containers', 'nodeSelectorTerms']);

/** Container lists: their `resources` is a struct, written as `{}` when empty. */
const CONTAINER_LIST_FIELDS: ReadonlySet<string> = new Set(['containers', 'initContainers', 'ephemeralContainers']);

function isZeroScalar(v: unknown): boolean {
  return v === false || v === 0 || v === '';
}

function normalizeField(key: string, value: unknown): JsonValue | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) {
    if (value.length === 0) return KEEP_EMPTY_SLICE_FIELDS.has(key) ? [] : undefined;
    const isContainers = CONTAINER_LIST_FIELDS.has(key);
    return value.map((item) => {
      const v = normalizeValue(item);
      if (isContainers && v !== null && typeof v === 'object' && !Array.isArray(v) && v['resources'] === undefined) {
        v['resources'] = {};
      }
      return v;
    });
  }
  if (typeof value === 'object') {
    const obj = normalizeObject(value as Record<string, unknown>);
    if (Object.keys(obj).length === 0 && MAP_FIELDS.has(key)) return undefined;
    return obj;
  }
  if (isZeroScalar(value) && !KEEP_ZERO_FIELDS.has(key)) return undefined;
  return value as JsonValue;
}

/** Array elements and map values: kept as they are (an element is never omitted), nested objects normalised. */
function normalizeValue(value: unknown): JsonValue {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.map((v) => normalizeValue(v));
  if (typeof value === 'object') return normalizeObject(value as Record<string, unknown>);
  return value as JsonValue;
}

function normalizeObject(obj: Record<string, unknown>): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(obj)) {
    // Members of maps (labels, annotations, limits...) are kept whatever their value.
    const n = MAP_FIELDS.has(k) ? normalizeMap(v) : normalizeField(k, v);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

function normalizeMap(value: unknown): JsonValue | undefined {
  if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) {
    return value === undefined || value === null ? undefined : (value as JsonValue);
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return undefined;
  const out: { [key: string]: JsonValue } = {};
  for (const [k, v] of entries) out[k] = normalizeValue(v);
  return out;
}

/**
 * The pod template as Go would marshal the typed, defaulted `corev1.PodTemplateSpec`: zero-valued optional
 * fields dropped, `metadata.creationTimestamp: null` always present (a zero `metav1.Time` is a struct, which
 * `omitempty` never drops), containers' `resources` at least `{}`, `containers` always present.
 */
export function goPodTemplateJson(template: unknown): { [key: string]: JsonValue } {
  const t = (template ?? {}) as Record<string, unknown>;
  const metadataIn = (t['metadata'] ?? {}) as Record<string, unknown>;
  const metadata = normalizeObject(metadataIn);
  if (!Object.hasOwn(metadata, 'creationTimestamp')) metadata['creationTimestamp'] = null;
  const specIn = (t['spec'] ?? {}) as Record<string, unknown>;
  const spec = normalizeObject(specIn);
  if (!Object.hasOwn(spec, 'containers')) spec['containers'] = null;
  const out: { [key: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(t)) {
    if (k === 'metadata' || k === 'spec') continue;
    const n = normalizeField(k, v);
    if (n !== undefined) out[k] = n;
  }
  out['metadata'] = metadata;
  out['spec'] = spec;
  return out;
}
