/**
 * Go `encoding/json` output for SidecarSet containers, byte for byte, so the §7.1 hashes equal OpenKruise's.
 *
 * Go marshals structs in field-declaration order (not sorted), applies `omitempty` (empty strings, zero numbers,
 * false, nil pointers, empty slices and maps are dropped; non-pointer structs never are), sorts map keys, and
 * escapes `<`, `>`, `&`, U+2028 and U+2029. JSON.stringify does none of that, hence this schema-driven encoder.
 *
 * The schema is v0.9.0's: `corev1.Container` from k8s.io/api **v0.16.6** (the version v0.9.0 pins) followed by
 * Kruise's four SidecarContainer fields. Field order and tags, as declared upstream:
 *
 *   Container: name, image*, command*, args*, workingDir*, ports*, envFrom*, env*, resources (struct, always),
 *     volumeMounts*, volumeDevices*, livenessProbe*, readinessProbe*, startupProbe*, lifecycle*,
 *     terminationMessagePath*, terminationMessagePolicy*, imagePullPolicy*, securityContext*, stdin*, stdinOnce*, tty*
 *   SidecarContainer adds: podInjectPolicy*, upgradeStrategy (struct, always), shareVolumePolicy (struct, always),
 *     transferEnv*
 *   (* = omitempty; nested types below in `CONTAINER_FIELDS`.)
 *
 * Fields a Go v0.16 Container does not have (resizePolicy, restartPolicy, anything unknown) are dropped, exactly as
 * Go's unmarshal would drop them. Resource quantities are canonicalised like `resource.Quantity.String()` for the
 * int64 range (`1000m` → `1`, `0.5` → `500m`, `1024Mi` → `1Gi`); known gap: values beyond int64 (inf.Dec) and
 * suffix exponents outside the SI tables are emitted without Go's exact fallbacks.
 */

type Kind =
  | 'string' | 'int' | 'bool' | 'intOrString' | 'quantity'
  | { ptr: Kind }
  | { struct: readonly Field[] }
  | { slice: Kind }
  | { map: Kind };

interface Field {
  /** The JSON name; absent for an embedded (`json:",inline"`) struct. */
  name?: string;
  kind: Kind;
  omitempty?: boolean;
}

const S: Kind = 'string';
const f = (name: string, kind: Kind, omitempty = true): Field => ({ name, kind, omitempty });
const inline = (fields: readonly Field[]): Field => ({ kind: { struct: fields } });
const struct = (fields: readonly Field[]): Kind => ({ struct: fields });
const ptr = (kind: Kind): Kind => ({ ptr: kind });
const slice = (kind: Kind): Kind => ({ slice: kind });

const LOCAL_OBJECT_REFERENCE = [f('name', S)];
const KEY_SELECTOR = [inline(LOCAL_OBJECT_REFERENCE), f('key', S, false), f('optional', ptr('bool'))];
const ENV_VAR_SOURCE = [
  f('fieldRef', ptr(struct([f('apiVersion', S), f('fieldPath', S, false)]))),
  f('resourceFieldRef', ptr(struct([f('containerName', S), f('resource', S, false), f('divisor', 'quantity')]))),
  f('configMapKeyRef', ptr(struct(KEY_SELECTOR))),
  f('secretKeyRef', ptr(struct(KEY_SELECTOR))),
];
const HANDLER = [
  f('exec', ptr(struct([f('command', slice(S))]))),
  f('httpGet', ptr(struct([
    f('path', S), f('port', 'intOrString', false), f('host', S), f('scheme', S),
    f('httpHeaders', slice(struct([f('name', S, false), f('value', S, false)]))),
  ]))),
  f('tcpSocket', ptr(struct([f('port', 'intOrString', false), f('host', S)]))),
];
const PROBE = [
  inline(HANDLER), f('initialDelaySeconds', 'int'), f('timeoutSeconds', 'int'), f('periodSeconds', 'int'),
  f('successThreshold', 'int'), f('failureThreshold', 'int'),
];
const SECURITY_CONTEXT = [
  f('capabilities', ptr(struct([f('add', slice(S)), f('drop', slice(S))]))),
  f('privileged', ptr('bool')),
  f('seLinuxOptions', ptr(struct([f('user', S), f('role', S), f('type', S), f('level', S)]))),
  f('windowsOptions', ptr(struct([
    f('gmsaCredentialSpecName', ptr(S)), f('gmsaCredentialSpec', ptr(S)), f('runAsUserName', ptr(S)),
  ]))),
  f('runAsUser', ptr('int')),
  f('runAsGroup', ptr('int')),
  f('runAsNonRoot', ptr('bool')),
  f('readOnlyRootFilesystem', ptr('bool')),
  f('allowPrivilegeEscalation', ptr('bool')),
  f('procMount', ptr(S)),
];

/** corev1.Container (k8s.io/api v0.16.6) in declaration order. */
export const CONTAINER_FIELDS: readonly Field[] = [
  f('name', S, false),
  f('image', S),
  f('command', slice(S)),
  f('args', slice(S)),
  f('workingDir', S),
  f('ports', slice(struct([
    f('name', S), f('hostPort', 'int'), f('containerPort', 'int', false), f('protocol', S), f('hostIP', S),
  ]))),
  f('envFrom', slice(struct([
    f('prefix', S),
    f('configMapRef', ptr(struct([inline(LOCAL_OBJECT_REFERENCE), f('optional', ptr('bool'))]))),
    f('secretRef', ptr(struct([inline(LOCAL_OBJECT_REFERENCE), f('optional', ptr('bool'))]))),
  ]))),
  f('env', slice(struct([f('name', S, false), f('value', S), f('valueFrom', ptr(struct(ENV_VAR_SOURCE)))]))),
  f('resources', struct([f('limits', { map: 'quantity' }), f('requests', { map: 'quantity' })])),
  f('volumeMounts', slice(struct([
    f('name', S, false), f('readOnly', 'bool'), f('mountPath', S, false), f('subPath', S),
    f('mountPropagation', ptr(S)), f('subPathExpr', S),
  ]))),
  f('volumeDevices', slice(struct([f('name', S, false), f('devicePath', S, false)]))),
  f('livenessProbe', ptr(struct(PROBE))),
  f('readinessProbe', ptr(struct(PROBE))),
  f('startupProbe', ptr(struct(PROBE))),
  f('lifecycle', ptr(struct([f('postStart', ptr(struct(HANDLER))), f('preStop', ptr(struct(HANDLER)))]))),
  f('terminationMessagePath', S),
  f('terminationMessagePolicy', S),
  f('imagePullPolicy', S),
  f('securityContext', ptr(struct(SECURITY_CONTEXT))),
  f('stdin', 'bool'),
  f('stdinOnce', 'bool'),
  f('tty', 'bool'),
];

/** Kruise's SidecarContainer (v0.9.0 `sidecarset_types.go`): the inlined Container, then its four fields. */
export const SIDECAR_CONTAINER_FIELDS: readonly Field[] = [
  inline(CONTAINER_FIELDS),
  f('podInjectPolicy', S),
  f('upgradeStrategy', struct([f('upgradeType', S), f('hotUpgradeEmptyImage', S)])),
  f('shareVolumePolicy', struct([f('type', S)])),
  f('transferEnv', slice(struct([f('sourceContainerName', S), f('envName', S)]))),
];

import { goJsonString } from '../../api/go-json-string.js';

export { goJsonString };

/**
 * Go's marshalling of a generic value: plain objects are Go maps (keys sorted by bytes), `Map`s are Go structs
 * (insertion order = field order; a `Map` also keeps integer-like keys in place, which a plain object would not).
 * `undefined` members are skipped, `null` renders as `null`, strings use Go's escaping.
 */
export function goJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return goJsonString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => goJson(v)).join(',')}]`;
  const entries = value instanceof Map
    ? [...(value as Map<string, unknown>).entries()].filter(([, v]) => v !== undefined)
    : Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => compareBytes(a, b));
  return `{${entries.map(([k, v]) => `${goJsonString(k)}:${goJson(v)}`).join(',')}}`;
}

/** Go sorts map keys by their UTF-8 bytes; for strings without astral characters that is code-unit order. */
function compareBytes(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

function isEmpty(kind: Kind, v: unknown): boolean {
  if (v === undefined || v === null) return typeof kind === 'string' ? kind !== 'intOrString' && kind !== 'quantity' : !('struct' in kind);
  if (typeof kind === 'string') {
    switch (kind) {
      case 'string': return v === '';
      case 'int': return v === 0;
      case 'bool': return v === false;
      default: return false; // IntOrString and Quantity are Go structs: omitempty never drops them
    }
  }
  if ('slice' in kind) return Array.isArray(v) && v.length === 0;
  if ('map' in kind) return typeof v === 'object' && Object.keys(v).length === 0;
  return false;
}

function encode(kind: Kind, v: unknown): string {
  if (typeof kind === 'string') {
    switch (kind) {
      case 'string': return goJsonString(v === undefined || v === null ? '' : String(v));
      case 'int': return String(typeof v === 'number' ? Math.trunc(v) : Number(v ?? 0) || 0);
      case 'bool': return v === true ? 'true' : 'false';
      case 'intOrString': return typeof v === 'string' ? goJsonString(v) : String(typeof v === 'number' ? Math.trunc(v) : 0);
      case 'quantity': return goJsonString(canonicalQuantity(v));
    }
  }
  if ('ptr' in kind) return v === undefined || v === null ? 'null' : encode(kind.ptr, v);
  if ('struct' in kind) return `{${structMembers(kind.struct, (v ?? {}) as Record<string, unknown>).join(',')}}`;
  if ('slice' in kind) {
    if (!Array.isArray(v)) return 'null';
    return `[${v.map((item) => encode(kind.slice, item)).join(',')}]`;
  }
  if (v === undefined || v === null || typeof v !== 'object') return 'null';
  const keys = Object.keys(v).sort(compareBytes);
  return `{${keys.map((k) => `${goJsonString(k)}:${encode(kind.map, (v as Record<string, unknown>)[k])}`).join(',')}}`;
}

function structMembers(fields: readonly Field[], obj: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const field of fields) {
    if (field.name === undefined) {
      out.push(...structMembers((field.kind as { struct: readonly Field[] }).struct, obj));
      continue;
    }
    const v = obj[field.name];
    if (field.omitempty && isEmpty(field.kind, v)) continue;
    out.push(`${goJsonString(field.name)}:${encode(field.kind, v)}`);
  }
  return out;
}

/** `json.Marshal([]SidecarContainer)`: `null` for a missing list, as Go does for a nil slice. */
export function encodeSidecarContainers(containers: readonly unknown[] | undefined): string {
  return encode(slice(struct(SIDECAR_CONTAINER_FIELDS)), containers);
}

// ---- resource.Quantity ----------------------------------------------------------------------------------------

const BINARY_SUFFIXES: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const DECIMAL_BY_EXPONENT: Record<number, string> = Object.fromEntries(
  Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]),
);
const BINARY_BY_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const QUANTITY_RE = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;

/**
 * `resource.Quantity` text as Go's `String()` renders it after parsing `v` (a string or a JSON number). Values
 * that do not parse are returned as written (the API server would have refused the SidecarSet).
 */
export function canonicalQuantity(v: unknown): string {
  if (v === undefined || v === null) return '0';
  const text = typeof v === 'number' ? String(v) : String(v);
  const m = QUANTITY_RE.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return text;
  const negative = m[1] === '-';
  const frac = m[3] ?? '';
  let num = BigInt((m[2] ?? '') + frac || '0');
  let e10 = -frac.length;
  const suffix = m[4] ?? '';
  let format: 'binary' | 'si' | 'exponent' = 'si';
  if (suffix in BINARY_SUFFIXES) {
    format = 'binary';
    num *= 1024n ** BigInt(BINARY_SUFFIXES[suffix]!);
  } else if (suffix in DECIMAL_SUFFIXES) {
    e10 += DECIMAL_SUFFIXES[suffix]!;
  } else {
    format = 'exponent';
    e10 += Number(suffix.slice(1));
  }
  // Quantities keep nano precision; anything finer is rounded up (towards +infinity for positive values).
  if (e10 < -9) {
    const div = 10n ** BigInt(-9 - e10);
    num = (num + div - 1n) / div;
    e10 = -9;
  }
  if (num === 0n) return '0';
  const sign = negative ? '-' : '';
  if (format === 'binary') {
    const integer = e10 >= 0 ? num * 10n ** BigInt(e10) : num % 10n ** BigInt(-e10) === 0n ? num / 10n ** BigInt(-e10) : undefined;
    if (integer !== undefined && integer >= 1024n) {
      let amount = integer;
      let power = 0;
      while (power < 6 && amount % 1024n === 0n) {
        amount /= 1024n;
        power++;
      }
      return `${sign}${amount}${BINARY_BY_POWER[power]!}`;
    }
    format = 'si'; // small or fractional binary values are shown as DecimalSI, as Go does
  }
  while (num % 10n === 0n) {
    num /= 10n;
    e10++;
  }
  const extra = ((e10 % 3) + 3) % 3;
  e10 -= extra;
  num *= 10n ** BigInt(extra);
  if (format === 'exponent') return `${sign}${num}${e10 === 0 ? '' : `e${e10}`}`;
  const si = DECIMAL_BY_EXPONENT[e10];
  return `${sign}${num}${si ?? `e${e10}`}`;
}
