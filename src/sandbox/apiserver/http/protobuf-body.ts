/**
 * Decodes `application/vnd.kubernetes.protobuf` request bodies into the JSON objects the rest of the server handles.
 *
 * kubectl's generator commands (`kubectl create namespace|configmap|secret|serviceaccount|deployment|service|
 * ingress`) send their objects as protobuf and do not fall back to JSON on a 415, so the sandbox has to read them.
 * A body is the 4-byte magic `k8s\0` and a `runtime.Unknown` envelope (typeMeta, raw, contentEncoding, contentType)
 * whose `raw` is the object's own encoding without TypeMeta. The schema is our subset of the upstream
 * generated.proto files, in proto/k8s (see its README); protobufjs parses it and provides the wire reader.
 *
 * The walk is our own rather than protobufjs's `Type.decode`, for three reasons: a field missing from the subset must
 * be refused, not skipped (protobufjs skips unknown fields); a wire type that does not match the schema is a
 * malformed body, not garbage; and the JSON must look like Kubernetes' own: zero scalars dropped as `omitempty`
 * does (Go writes every non-pointer scalar, empty or not), pointers kept (`replicas: 0`), Time as RFC 3339,
 * IntOrString as a number or string, Quantity as its string, bytes as base64, embedded Go structs inlined.
 *
 * Known gaps: only the kinds in KINDS are decoded, and within them only the declared fields; a repeated occurrence
 * of a singular message field replaces the earlier one instead of merging (Go never writes one).
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ApiError } from '../api-error.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

/** `k8s\0`: k8s.io/apimachinery/pkg/runtime/serializer/protobuf `protoEncodingPrefix`. */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export const PROTO_DIR = fileURLToPath(new URL('../../../../../proto/k8s/', import.meta.url));
const PROTO_FILES = ['runtime.proto', 'meta-v1.proto', 'intstr.proto', 'resource.proto', 'core-v1.proto', 'apps-v1.proto', 'networking-v1.proto'];

/** `apiVersion/kind` → message; these are the kinds kubectl's generators create that the sandbox serves. */
const KINDS: ReadonlyMap<string, string> = new Map([
  ['v1/Namespace', 'k8s.io.api.core.v1.Namespace'],
  ['v1/ConfigMap', 'k8s.io.api.core.v1.ConfigMap'],
  ['v1/Secret', 'k8s.io.api.core.v1.Secret'],
  ['v1/ServiceAccount', 'k8s.io.api.core.v1.ServiceAccount'],
  ['v1/Service', 'k8s.io.api.core.v1.Service'],
  ['apps/v1/Deployment', 'k8s.io.api.apps.v1.Deployment'],
  ['networking.k8s.io/v1/Ingress', 'k8s.io.api.networking.v1.Ingress'],
]);

const TIME = '.k8s.io.apimachinery.pkg.apis.meta.v1.Time';
const FIELDS_V1 = '.k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1';
const INT_OR_STRING = '.k8s.io.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = '.k8s.io.apimachinery.pkg.api.resource.Quantity';

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const SCALAR_WIRE: Readonly<Record<string, number>> = { string: 2, bytes: 2, bool: 0, int32: 0, int64: 0 };

interface Schema {
  readonly unknown: protobuf.Type;
  readonly kinds: ReadonlyMap<string, protobuf.Type>;
}

interface Envelope {
  typeMeta?: { apiVersion?: string; kind?: string };
  raw?: Uint8Array;
  contentEncoding?: string;
  contentType?: string;
}

/** What the walk knows for its error messages: the object's `apiVersion kind`. */
interface WalkContext { readonly label: string }

export interface LoadSchemaOptions {
  /** Folder of the .proto files. @default PROTO_DIR (proto/k8s at the repository or image root) */
  dir?: string;
}

/** Parses the .proto subset; exported for tests that encode fixtures with the same schema. */
export function loadProtobufSchema(opts: LoadSchemaOptions = {}): protobuf.Root {
  const dir = opts.dir ?? PROTO_DIR;
  const root = new protobuf.Root();
  // keepCase: field names are the JSON names already (and FieldsV1's is `Raw`); protobufjs would camel-case them.
  root.loadSync(PROTO_FILES.map((f) => dir + f), { keepCase: true });
  root.resolveAll();
  return root;
}

// The parsed schema is a constant read from files shipped with the code; it is loaded on the first protobuf body
// so that a server that never sees one never reads them, and a missing proto/ folder fails that request, not startup.
let schema: Schema | undefined;

function getSchema(): Schema {
  if (schema) return schema;
  let root: protobuf.Root;
  try {
    root = loadProtobufSchema();
  } catch (e) {
    throw new ApiError(500, 'InternalError', `Internal error occurred: cannot load the protobuf schema from ${PROTO_DIR}: ${(e as Error).message}`);
  }
  schema = {
    unknown: root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown'),
    kinds: new Map([...KINDS].map(([k, name]) => [k, root.lookupType(name)])),
  };
  return schema;
}

/** Decodes one `k8s\0` + runtime.Unknown body into a JSON object with apiVersion and kind; throws ApiError 400/415. */
export function decodeProtobufBody(body: Buffer): Record<string, unknown> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw malformed('', 'the body does not start with the Kubernetes protobuf prefix "k8s\\x00"');
  }
  const s = getSchema();
  let env: Envelope;
  try {
    env = s.unknown.decode(body.subarray(MAGIC.length)) as unknown as Envelope;
  } catch (e) {
    throw malformed('', `the runtime.Unknown envelope: ${(e as Error).message}`);
  }
  const apiVersion = env.typeMeta?.apiVersion ?? '';
  const kind = env.typeMeta?.kind ?? '';
  if (apiVersion === '' || kind === '') throw malformed('', 'the runtime.Unknown envelope has no apiVersion and kind');
  const label = `${apiVersion} ${kind}`;
  if (env.contentEncoding) throw unsupported(label, `content encoding ${JSON.stringify(env.contentEncoding)} is not supported`);
  const innerType = (env.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (innerType !== '' && innerType !== PROTOBUF_MEDIA_TYPE) throw unsupported(label, `the embedded content type ${JSON.stringify(env.contentType)} is not supported`);
  const type = s.kinds.get(`${apiVersion}/${kind}`);
  if (!type) {
    const known = [...KINDS.keys()].map((k) => k.replace(/\/(?=[^/]*$)/, ' ')).join(', ');
    throw unsupported(label, `the sandbox decodes protobuf only for ${known}`);
  }
  const reader = protobuf.Reader.create(env.raw ?? new Uint8Array(0));
  let obj: Record<string, unknown>;
  try {
    obj = readMessage(reader, reader.len, type, '', { label });
  } catch (e) {
    if (ApiError.is(e)) throw e;
    // protobufjs throws RangeError ("index out of range") for truncated input and Error for bad wire types.
    throw malformed(label, (e as Error).message);
  }
  return { apiVersion, kind, ...obj };
}

function readMessage(r: protobuf.Reader, end: number, type: protobuf.Type, path: string, ctx: WalkContext): Record<string, unknown> {
  const present = new Map<protobuf.Field, unknown>();
  while (r.pos < end) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    if (id === 0) throw malformed(ctx.label, `field number 0 in ${messageName(type)} at ${pathOrRoot(path)}`);
    const field = type.fieldsById[id];
    if (!field) {
      throw unsupported(ctx.label, `field ${id} of ${messageName(type)} at ${pathOrRoot(path)} is not in the sandbox's protobuf subset (proto/k8s)`);
    }
    const at = path === '' ? field.name : `${path}.${field.name}`;
    if (field.map) {
      expectWire(ctx, wire, WIRE_LENGTH_DELIMITED, at);
      const entries = (present.get(field) as Record<string, unknown> | undefined) ?? {};
      const [key, value] = readMapEntry(r, field as unknown as protobuf.MapField, at, ctx);
      entries[key] = value;
      present.set(field, entries);
    } else if (field.repeated) {
      const list = (present.get(field) as unknown[] | undefined) ?? [];
      if (wire === WIRE_LENGTH_DELIMITED && SCALAR_WIRE[field.type] === WIRE_VARINT) {
        // A packed run of numbers or bools (proto3 writers pack; Go's proto2 output does not).
        const runEnd = lengthEnd(r, ctx, at);
        while (r.pos < runEnd) list.push(readScalar(r, field.type));
      } else {
        list.push(readValue(r, field.type, field.resolvedType, wire, `${at}[${list.length}]`, ctx, true));
      }
      present.set(field, list);
    } else {
      present.set(field, readValue(r, field.type, field.resolvedType, wire, at, ctx, keepsZero(field)));
    }
  }
  if (r.pos !== end) throw malformed(ctx.label, `${messageName(type)} at ${pathOrRoot(path)} runs past its length`);
  // Declaration order, which follows the Go struct, so the JSON reads like Kubernetes' own.
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = present.get(field);
    if (value === undefined) continue;
    if (!field.repeated && !field.map && isZeroScalar(value) && !keepsZero(field)) continue;
    if (field.options?.['(kruise.inline)'] === true) Object.assign(out, value);
    else out[field.name] = value;
  }
  return out;
}

function readMapEntry(r: protobuf.Reader, field: protobuf.MapField, at: string, ctx: WalkContext): [string, unknown] {
  const end = lengthEnd(r, ctx, at);
  let key: unknown = '';
  let value: unknown;
  while (r.pos < end) {
    const tag = r.uint32();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1:
        expectWire(ctx, wire, SCALAR_WIRE[field.keyType] ?? -1, `${at} (key)`);
        key = readScalar(r, field.keyType);
        break;
      case 2:
        value = readValue(r, field.type, field.resolvedType, wire, `${at}[${String(key)}]`, ctx, true);
        break;
      default:
        throw malformed(ctx.label, `a map entry of ${at} has field ${tag >>> 3}`);
    }
  }
  if (r.pos !== end) throw malformed(ctx.label, `a map entry of ${at} runs past its length`);
  // A missing value is the zero value: Go writes an empty message or string for it, and JSON shows it.
  if (value === undefined) value = field.resolvedType instanceof protobuf.Type ? convertMessage(field.resolvedType, {}, true) : zeroScalar(field.type);
  return [String(key), value];
}

/** Reads one value of a field: a scalar, or a message converted to its JSON form (undefined when omitted). */
function readValue(r: protobuf.Reader, typeName: string, resolved: protobuf.Type | protobuf.Enum | null, wire: number,
  at: string, ctx: WalkContext, keepZero: boolean): unknown {
  if (resolved instanceof protobuf.Type) {
    expectWire(ctx, wire, WIRE_LENGTH_DELIMITED, at);
    const end = lengthEnd(r, ctx, at);
    return convertMessage(resolved, readMessage(r, end, resolved, at, ctx), keepZero, ctx, at);
  }
  expectWire(ctx, wire, SCALAR_WIRE[typeName] ?? -1, at);
  return readScalar(r, typeName);
}

/** The JSON form of the apimachinery types that do not serialise as plain objects. */
function convertMessage(type: protobuf.Type, obj: Record<string, unknown>, keepZero: boolean, ctx?: WalkContext, at = ''): unknown {
  switch (type.fullName) {
    case TIME: {
      const seconds = (obj.seconds as number | undefined) ?? 0;
      // Go writes a zero metav1.Time as null; omitting it means the same to every reader.
      if (seconds === 0 && obj.nanos === undefined) return undefined;
      const date = new Date(seconds * 1000);
      if (Number.isNaN(date.getTime())) throw malformed(ctx?.label ?? '', `${at}: ${seconds} seconds is out of range for a time`);
      return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    case INT_OR_STRING: {
      const kind = (obj.type as number | undefined) ?? 0;
      if (kind === 1) {
        const s = (obj.strVal as string | undefined) ?? '';
        return s === '' && !keepZero ? undefined : s;
      }
      if (kind !== 0) throw malformed(ctx?.label ?? '', `${at}: IntOrString type ${kind} is neither 0 (Int) nor 1 (String)`);
      const n = (obj.intVal as number | undefined) ?? 0;
      return n === 0 && !keepZero ? undefined : n;
    }
    case QUANTITY:
      return (obj.string as string | undefined) ?? '';
    case FIELDS_V1: {
      const raw = obj.Raw as string | undefined;
      if (raw === undefined) return undefined;
      try {
        return JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as unknown;
      } catch (e) {
        throw malformed(ctx?.label ?? '', `${at}: fieldsV1 is not JSON: ${(e as Error).message}`);
      }
    }
    default:
      return obj;
  }
}

function readScalar(r: protobuf.Reader, typeName: string): unknown {
  switch (typeName) {
    case 'string': return r.string();
    case 'bytes': return Buffer.from(r.bytes()).toString('base64');
    case 'bool': return r.bool();
    case 'int32': return r.int32();
    case 'int64': return protobuf.util.LongBits.from(r.int64()).toNumber();
    default:
      // The schema in proto/k8s only uses the types above; a new one needs a case here.
      throw new ApiError(500, 'InternalError', `Internal error occurred: the protobuf decoder does not handle the scalar type ${typeName}`);
  }
}

function zeroScalar(typeName: string): unknown {
  if (typeName === 'bool') return false;
  if (typeName === 'string' || typeName === 'bytes') return '';
  return 0;
}

function lengthEnd(r: protobuf.Reader, ctx: WalkContext, at: string): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw malformed(ctx.label, `${at}: a length of ${len} bytes runs past the end of the body`);
  return end;
}

function expectWire(ctx: WalkContext, wire: number, expected: number, at: string): void {
  if (wire !== expected) throw malformed(ctx.label, `${at}: wire type ${wire} where the schema expects ${expected}`);
}

function keepsZero(field: protobuf.Field): boolean {
  return field.options?.['(kruise.keep_zero)'] === true;
}

function isZeroScalar(v: unknown): boolean {
  return v === '' || v === 0 || v === false;
}

function messageName(type: protobuf.Type): string {
  return type.fullName.replace(/^\./, '');
}

function pathOrRoot(path: string): string {
  return path === '' ? 'the object root' : path;
}

function malformed(label: string, detail: string): ApiError {
  return new ApiError(400, 'BadRequest', `error decoding ${label ? `${label} from ` : ''}${PROTOBUF_MEDIA_TYPE}: ${detail}`);
}

function unsupported(label: string, detail: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType',
    `the kruise-ts sandbox cannot decode ${label} from ${PROTOBUF_MEDIA_TYPE}: ${detail}; ` +
    'send the object as JSON or YAML instead, for example with `kubectl create -f` or `kubectl apply -f`');
}
