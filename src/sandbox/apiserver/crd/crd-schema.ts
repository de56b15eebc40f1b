/**
 * A CRD version's structural schema, compiled once, applying the three things the API server does to a custom
 * resource on every write: pruning, defaulting and validation. The algorithms follow apiextensions-apiserver:
 *
 * - `prune`: `pkg/apiserver/schema/pruning/algorithm.go` (drop fields the schema does not specify, unless under
 *   `x-kubernetes-preserve-unknown-fields`; apiVersion/kind/metadata of the resource root and of embedded
 *   resources are left alone), then `defaulting/prunenulls.go` (drop `null`s of non-nullable fields without a
 *   default). `metadata` is cut down to ObjectMeta's fields, as `objectmeta.GetObjectMetaWithOptions` does when
 *   it round-trips metadata through the typed struct, and those drops are reported too (`metadata.foo`).
 * - `applyDefaults`: `defaulting/algorithm.go` — absent (or non-nullable null) properties get their `default`,
 *   recursively, including array items and additionalProperties values, and inside defaults just applied.
 * - `validate`: kube-openapi's validator semantics on ajv 8, with errors translated to field errors the way
 *   `apiserver/validation/validation.go` `kubeOpenAPIResultToFieldErrors` does.
 *
 * The caller orders them as the API server does: prune, default, validate.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FieldError } from '../../../api/field-errors.js';
import { fieldError } from '../../../api/field-errors.js';
import type { JsonSchemaProps } from '../resource-type.js';
import { fieldPath, isPlainObject } from './field-path.js';
import { stringFormatCheck } from './schema-formats.js';

export interface PruneResult<T = Record<string, unknown>> {
  /** A pruned copy; the input is not changed. */
  object: T;
  /**
   * Paths of dropped fields, as the API server reports them for `fieldValidation=Strict|Warn`: `spec.foo`,
   * `spec.items[0].bar`, `metadata.foo` (no leading dot). Render as `unknown field "spec.foo"`.
   */
  unknownFields: string[];
}

export interface CompiledSchema {
  readonly schema: JsonSchemaProps;
  /** A copy of `obj` with schema defaults applied. */
  applyDefaults<T>(obj: T): T;
  prune<T>(obj: T): PruneResult<T>;
  /** Field errors, empty when valid. Expects an already pruned and defaulted object. */
  validate(obj: unknown): FieldError[];
}

/** ObjectMeta's JSON fields; nested objects list their own, `true` means "any value". */
type MetaShape = { [field: string]: MetaShape | true };
const OWNER_REFERENCE: MetaShape = { apiVersion: true, kind: true, name: true, uid: true, controller: true, blockOwnerDeletion: true };
const MANAGED_FIELDS_ENTRY: MetaShape = {
  manager: true, operation: true, apiVersion: true, time: true, fieldsType: true, fieldsV1: true, subresource: true,
};
const OBJECT_META: MetaShape = {
  name: true, generateName: true, namespace: true, selfLink: true, uid: true, resourceVersion: true, generation: true,
  creationTimestamp: true, deletionTimestamp: true, deletionGracePeriodSeconds: true, labels: true, annotations: true,
  ownerReferences: OWNER_REFERENCE, finalizers: true, managedFields: MANAGED_FIELDS_ENTRY,
};
const META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

// A memo of a pure function, not semantic state: CRD schemas are immutable once stored, so the same object
// always compiles to the same validator. Entries go away with the schema object.
const cache = new WeakMap<object, CompiledSchema>();

/** Compiles (or returns the cached compilation of) one openAPIV3Schema, keyed by object identity. */
export function compileSchema(openAPIV3Schema: JsonSchemaProps): CompiledSchema {
  let compiled = cache.get(openAPIV3Schema);
  if (!compiled) {
    compiled = new StructuralSchema(openAPIV3Schema);
    cache.set(openAPIV3Schema, compiled);
  }
  return compiled;
}

const child = (s: JsonSchemaProps | undefined, key: string): JsonSchemaProps | undefined => {
  const props = s?.['properties'];
  if (!isPlainObject(props)) return undefined;
  const p = props[key];
  return isPlainObject(p) ? p : undefined;
};
const hasProperty = (s: JsonSchemaProps, key: string): boolean =>
  isPlainObject(s['properties']) && Object.hasOwn(s['properties'], key);
/** `additionalProperties`: undefined when absent, `null` for the boolean form (no schema), else the schema. */
const additional = (s: JsonSchemaProps): JsonSchemaProps | null | undefined => {
  const ap = s['additionalProperties'];
  if (ap === undefined) return undefined;
  return isPlainObject(ap) ? ap : null;
};
const itemsOf = (s: JsonSchemaProps | undefined): JsonSchemaProps | undefined =>
  isPlainObject(s?.['items']) ? (s['items'] as JsonSchemaProps) : undefined;
const flag = (s: JsonSchemaProps | undefined, name: string): boolean => s?.[name] === true;
const copy = <T>(v: T): T => structuredClone(v);

class StructuralSchema implements CompiledSchema {
  readonly schema: JsonSchemaProps;
  private readonly validator: ValidateFunction;

  constructor(schema: JsonSchemaProps) {
    this.schema = schema;
    // One Ajv per schema: ajv caches every schema it compiled, so a shared instance would keep replaced CRD
    // schemas alive forever.
    const ajv = new Ajv({ allErrors: true, strict: false, verbose: true, validateFormats: false });
    ajv.addKeyword({
      keyword: FORMAT_KEYWORD,
      type: 'string',
      schemaType: 'string',
      errors: false,
      validate: (format: string, data: string) => stringFormatCheck(format)?.(data) ?? true,
    });
    this.validator = ajv.compile(toAjvSchema(schema));
  }

  applyDefaults<T>(obj: T): T {
    const out = copy(obj);
    applyDefaultsInPlace(out, this.schema);
    return out;
  }

  prune<T>(obj: T): PruneResult<T> {
    return pruneWithSchema(obj, this.schema, true);
  }

  validate(obj: unknown): FieldError[] {
    const errors: FieldError[] = [];
    if (!this.validator(obj)) errors.push(...translateAjvErrors(this.validator.errors ?? [], obj));
    errors.push(...validateEmbeddedResources(obj, this.schema, '', true));
    return errors;
  }
}

/**
 * Pruning as a function of any schema node. `resourceRoot` treats the value as a resource: apiVersion, kind and
 * metadata are kept, and metadata is cut down to ObjectMeta (a resource is always a root; a schema node with
 * x-kubernetes-embedded-resource is one when validating its default).
 */
export function pruneWithSchema<T>(value: T, schema: JsonSchemaProps, resourceRoot: boolean): PruneResult<T> {
  const out = copy(value);
  const metaUnknown: string[] = [];
  const unknown: string[] = [];
  if (resourceRoot && isPlainObject(out)) coerceMetadata(out, '', metaUnknown);
  const root = resourceRoot && !flag(schema, 'x-kubernetes-embedded-resource')
    ? { ...schema, 'x-kubernetes-embedded-resource': true } : schema;
  pruneInPlace(out, root, '', unknown);
  pruneNullsInPlace(out, schema);
  const embeddedUnknown: string[] = [];
  coerceEmbeddedMetadata(out, schema, '', embeddedUnknown);
  return { object: out, unknownFields: [...metaUnknown, ...unknown.sort(), ...embeddedUnknown] };
}

// ---- defaulting ---------------------------------------------------------------------------------------------

function isNonNullableNull(x: unknown, s: JsonSchemaProps | undefined): boolean {
  return x === null && s !== undefined && s['nullable'] !== true;
}

function applyDefaultsInPlace(x: unknown, s: JsonSchemaProps | undefined): void {
  if (s === undefined) return;
  if (Array.isArray(x)) {
    const items = itemsOf(s);
    for (let i = 0; i < x.length; i++) {
      if (isNonNullableNull(x[i], items) && items?.['default'] !== undefined) x[i] = copy(items['default']);
      applyDefaultsInPlace(x[i], items);
    }
    return;
  }
  if (!isPlainObject(x)) return;
  const props = isPlainObject(s['properties']) ? s['properties'] : {};
  for (const [k, p] of Object.entries(props)) {
    if (!isPlainObject(p) || p['default'] === undefined) continue;
    if (!Object.hasOwn(x, k) || isNonNullableNull(x[k], p)) x[k] = copy(p['default']);
  }
  const ap = additional(s);
  for (const k of Object.keys(x)) {
    const p = child(s, k);
    if (p) {
      applyDefaultsInPlace(x[k], p);
    } else if (ap) {
      if (isNonNullableNull(x[k], ap) && ap['default'] !== undefined) x[k] = copy(ap['default']);
      applyDefaultsInPlace(x[k], ap);
    }
  }
}

// ---- pruning ------------------------------------------------------------------------------------------------

function joinKey(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function pruneInPlace(x: unknown, s: JsonSchemaProps | undefined, path: string, unknown: string[]): void {
  if (s !== undefined && flag(s, 'x-kubernetes-preserve-unknown-fields')) {
    skipPrune(x, s, path, unknown);
    return;
  }
  if (Array.isArray(x)) {
    const items = s === undefined ? undefined : itemsOf(s);
    x.forEach((v, i) => pruneInPlace(v, items, `${path}[${i}]`, unknown));
    return;
  }
  if (!isPlainObject(x)) return;
  if (s === undefined) {
    for (const k of Object.keys(x)) {
      unknown.push(joinKey(path, k));
      delete x[k];
    }
    return;
  }
  const embedded = flag(s, 'x-kubernetes-embedded-resource');
  const ap = additional(s);
  for (const k of Object.keys(x)) {
    if (embedded && META_FIELDS.has(k)) continue;
    if (hasProperty(s, k)) {
      pruneInPlace(x[k], child(s, k), joinKey(path, k), unknown);
    } else if (ap !== undefined) {
      // `additionalProperties: true|false` has no schema: values are pruned as if nothing were specified.
      pruneInPlace(x[k], ap ?? undefined, joinKey(path, k), unknown);
    } else {
      if (!META_FIELDS.has(k) || path !== '') unknown.push(joinKey(path, k));
      delete x[k];
    }
  }
}

/** Under preserve-unknown-fields: keep unknown keys, but still prune inside specified properties. */
function skipPrune(x: unknown, s: JsonSchemaProps, path: string, unknown: string[]): void {
  if (Array.isArray(x)) {
    const items = itemsOf(s);
    if (items) x.forEach((v, i) => skipPrune(v, items, `${path}[${i}]`, unknown));
    return;
  }
  if (!isPlainObject(x)) return;
  const embedded = flag(s, 'x-kubernetes-embedded-resource');
  const ap = additional(s);
  for (const k of Object.keys(x)) {
    if (embedded && META_FIELDS.has(k)) continue;
    if (hasProperty(s, k)) pruneInPlace(x[k], child(s, k), joinKey(path, k), unknown);
    else if (ap !== undefined) pruneInPlace(x[k], ap ?? undefined, joinKey(path, k), unknown);
  }
}

function pruneNullsInPlace(x: unknown, s: JsonSchemaProps | undefined): void {
  if (Array.isArray(x)) {
    const items = s === undefined ? undefined : itemsOf(s);
    x.forEach((v) => pruneNullsInPlace(v, items));
    return;
  }
  if (!isPlainObject(x)) return;
  for (const k of Object.keys(x)) {
    const fs = s === undefined ? undefined : (child(s, k) ?? additional(s) ?? undefined);
    if (x[k] === null && fs !== undefined && fs['nullable'] !== true && fs['default'] === undefined) delete x[k];
    else pruneNullsInPlace(x[k], fs);
  }
}

/**
 * Drops the fields of `obj.metadata` that ObjectMeta does not have, recording `<path>.metadata.<field>`.
 * Embedded resources (x-kubernetes-embedded-resource) get the same treatment below the root.
 */
function coerceMetadata(obj: Record<string, unknown>, path: string, unknown: string[]): void {
  const meta = obj['metadata'];
  if (!isPlainObject(meta)) return;
  coerceShape(meta, OBJECT_META, joinKey(path, 'metadata'), unknown);
}

function coerceShape(value: Record<string, unknown>, shape: MetaShape, path: string, unknown: string[]): void {
  for (const k of Object.keys(value)) {
    const fieldShape = shape[k];
    if (fieldShape === undefined) {
      unknown.push(`${path}.${k}`);
      delete value[k];
    } else if (fieldShape !== true) {
      const v = value[k];
      const entries = Array.isArray(v) ? v : [v];
      entries.forEach((e, i) => {
        if (isPlainObject(e)) coerceShape(e, fieldShape, Array.isArray(v) ? `${path}.${k}[${i}]` : `${path}.${k}`, unknown);
      });
    }
  }
}

/**
 * `objectmeta.CoerceWithOptions`: the metadata of embedded resources below the root, which pruning skips.
 * Paths are field paths here (`spec.templates[a].metadata.foo`), as upstream builds them with field.Path.
 */
function coerceEmbeddedMetadata(x: unknown, s: JsonSchemaProps | undefined, path: string, unknown: string[]): void {
  if (s === undefined) return;
  if (Array.isArray(x)) {
    x.forEach((v, i) => coerceEmbeddedMetadata(v, itemsOf(s), fieldPath.index(path, i), unknown));
    return;
  }
  if (!isPlainObject(x)) return;
  if (path !== '' && flag(s, 'x-kubernetes-embedded-resource')) coerceMetadata(x, path, unknown);
  const ap = additional(s);
  for (const k of Object.keys(x)) {
    if (hasProperty(s, k)) coerceEmbeddedMetadata(x[k], child(s, k), fieldPath.child(path, k), unknown);
    else if (ap) coerceEmbeddedMetadata(x[k], ap, fieldPath.key(path, k), unknown);
  }
}

// ---- embedded resources -------------------------------------------------------------------------------------

/** `objectmeta.Validate`: an embedded resource needs apiVersion and kind. The resource root is the caller's job. */
function validateEmbeddedResources(x: unknown, s: JsonSchemaProps | undefined, path: string, isRoot: boolean): FieldError[] {
  if (s === undefined) return [];
  const errs: FieldError[] = [];
  if (Array.isArray(x)) {
    x.forEach((v, i) => errs.push(...validateEmbeddedResources(v, itemsOf(s), fieldPath.index(path, i), false)));
    return errs;
  }
  if (!isPlainObject(x)) return errs;
  if (!isRoot && flag(s, 'x-kubernetes-embedded-resource')) {
    for (const k of ['apiVersion', 'kind']) {
      if (!Object.hasOwn(x, k)) errs.push(fieldError.required(fieldPath.child(path, k)));
      else if (typeof x[k] !== 'string') errs.push(fieldError.invalid(fieldPath.child(path, k), x[k], 'must be a string'));
      else if (x[k] === '') errs.push(fieldError.invalid(fieldPath.child(path, k), '', 'must not be empty'));
    }
  }
  const ap = additional(s);
  for (const k of Object.keys(x).sort()) {
    if (hasProperty(s, k)) errs.push(...validateEmbeddedResources(x[k], child(s, k), fieldPath.child(path, k), false));
    else if (ap) errs.push(...validateEmbeddedResources(x[k], ap, fieldPath.key(path, k), false));
  }
  return errs;
}

// ---- ajv translation ----------------------------------------------------------------------------------------

const FORMAT_KEYWORD = 'x-kruise-format';
/** The type list as Kubernetes prints it (`integer,string` for int-or-string), without the nullable `null`. */
const TYPE_ANNOTATION = 'x-kruise-type';

const COPIED_KEYWORDS = [
  'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'multipleOf', 'maxProperties',
  'minProperties', 'required',
] as const;

/** OpenAPI v3.0 JSONSchemaProps → a draft-07 schema ajv understands. Annotations drive message rendering. */
function toAjvSchema(s: JsonSchemaProps): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const nullable = s['nullable'] === true;
  let types: string[] | undefined;
  if (s['x-kubernetes-int-or-string'] === true) types = ['integer', 'string'];
  else if (typeof s['type'] === 'string' && s['type'] !== '') types = [s['type']];
  if (types) {
    out['type'] = nullable ? [...types, 'null'] : types.length === 1 ? types[0] : types;
    out[TYPE_ANNOTATION] = types.join(',');
  }
  for (const k of COPIED_KEYWORDS) if (s[k] !== undefined) out[k] = s[k];
  if (Array.isArray(s['enum'])) out['enum'] = nullable && !s['enum'].includes(null) ? [...s['enum'], null] : s['enum'];
  // OpenAPI 3.0 has boolean exclusiveMinimum/Maximum next to minimum/maximum; draft-07 has numbers.
  if (typeof s['minimum'] === 'number') out[s['exclusiveMinimum'] === true ? 'exclusiveMinimum' : 'minimum'] = s['minimum'];
  if (typeof s['maximum'] === 'number') out[s['exclusiveMaximum'] === true ? 'exclusiveMaximum' : 'maximum'] = s['maximum'];
  if (typeof s['format'] === 'string' && (types === undefined || (types.length === 1 && types[0] === 'string')) &&
    stringFormatCheck(s['format'])) {
    out[FORMAT_KEYWORD] = s['format'];
  }
  if (isPlainObject(s['properties'])) {
    out['properties'] = Object.fromEntries(Object.entries(s['properties'])
      .filter(([, v]) => isPlainObject(v)).map(([k, v]) => [k, toAjvSchema(v as JsonSchemaProps)]));
  }
  const ap = s['additionalProperties'];
  if (typeof ap === 'boolean') out['additionalProperties'] = ap;
  else if (isPlainObject(ap)) out['additionalProperties'] = toAjvSchema(ap);
  const items = s['items'];
  if (isPlainObject(items)) out['items'] = toAjvSchema(items);
  for (const kw of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = s[kw];
    if (Array.isArray(branches)) out[kw] = branches.filter(isPlainObject).map((b) => toAjvSchema(b));
  }
  if (isPlainObject(s['not'])) out['not'] = toAjvSchema(s['not']);
  return out;
}

/** `integer` for whole numbers, like Go's JSON decoding into int64 vs float64. */
function jsonType(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** JSON pointer → Kubernetes path (`/spec/containers/0/image` → `spec.containers[0].image`), walking the data. */
function pointerToPath(pointer: string, root: unknown): string {
  if (pointer === '') return '';
  let path = '';
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) {
      path += `[${seg}]`;
      node = node[Number(seg)];
    } else {
      path = joinKey(path, seg);
      node = isPlainObject(node) ? node[seg] : undefined;
    }
  }
  return path;
}

/** True when the error comes from inside an anyOf/oneOf/not branch; only the composite error is reported. */
function insideAlternative(schemaPath: string): boolean {
  const segs = schemaPath.split('/').slice(1);
  for (let i = 0; i < segs.length; i++) {
    const kw = segs[i];
    if (kw === 'properties' || kw === 'allOf') {
      i++;
    } else if ((kw === 'anyOf' || kw === 'oneOf') && i + 1 < segs.length) {
      return true;
    } else if (kw === 'not' && i + 1 < segs.length) {
      return true;
    }
  }
  return false;
}

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

function translateAjvErrors(errors: readonly ErrorObject[], root: unknown): FieldError[] {
  const out: { path: string; keyword: string; error: FieldError }[] = [];
  for (const e of errors) {
    if (insideAlternative(e.schemaPath)) continue;
    const path = pointerToPath(e.instancePath, root);
    const name = path;
    const data = e.data;
    const p = e.params as Record<string, unknown>;
    const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
    let error: FieldError;
    switch (e.keyword) {
      case 'type': {
        const actual = jsonType(data);
        const expected = typeof parent[TYPE_ANNOTATION] === 'string' ? parent[TYPE_ANNOTATION] : String(p['type']);
        error = fieldError.typeInvalid(path, actual, `${name} in body must be of type ${expected}: "${actual}"`);
        break;
      }
      case 'required':
        error = fieldError.required(joinKey(path, String(p['missingProperty'])));
        break;
      case 'enum': {
        const allowed = (p['allowedValues'] as unknown[]).filter((v) => v !== null || parent['nullable'] !== true);
        error = fieldError.notSupported(path, data, allowed.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))));
        break;
      }
      case 'maxLength': {
        const max = Number(p['limit']);
        error = { type: 'FieldValueTooLong', field: path, detail: `may not be more than ${max} ${plural(max, 'byte', 'bytes')}` };
        break;
      }
      case 'minLength':
        error = fieldError.invalid(path, data, `${name} in body should be at least ${String(p['limit'])} chars long`);
        break;
      case 'pattern':
        error = fieldError.invalid(path, data, `${name} in body should match '${String(p['pattern'])}'`);
        break;
      case 'minimum':
        error = fieldError.invalid(path, data, `${name} in body should be greater than or equal to ${String(p['limit'])}`);
        break;
      case 'exclusiveMinimum':
        error = fieldError.invalid(path, data, `${name} in body should be greater than ${String(p['limit'])}`);
        break;
      case 'maximum':
        error = fieldError.invalid(path, data, `${name} in body should be less than or equal to ${String(p['limit'])}`);
        break;
      case 'exclusiveMaximum':
        error = fieldError.invalid(path, data, `${name} in body should be less than ${String(p['limit'])}`);
        break;
      case 'multipleOf':
        error = fieldError.invalid(path, data, `${name} in body should be a multiple of ${String(p['multipleOf'])}`);
        break;
      case 'maxItems': {
        const max = Number(p['limit']);
        error = { type: 'FieldValueTooMany', field: path, badValue: Array.isArray(data) ? data.length : -1,
          detail: `must have at most ${max} ${plural(max, 'item', 'items')}` };
        break;
      }
      case 'minItems':
        error = fieldError.invalid(path, Array.isArray(data) ? data.length : data,
          `${name} in body should have at least ${String(p['limit'])} items`);
        break;
      case 'uniqueItems':
        error = fieldError.invalid(path, '', `${name} in body shouldn't contain duplicates`);
        break;
      case 'maxProperties': {
        const max = Number(p['limit']);
        error = { type: 'FieldValueTooMany', field: path, badValue: isPlainObject(data) ? Object.keys(data).length : -1,
          detail: `must have at most ${max} ${plural(max, 'item', 'items')}` };
        break;
      }
      case 'minProperties':
        error = fieldError.invalid(path, isPlainObject(data) ? Object.keys(data).length : data,
          `${name} in body should have at least ${String(p['limit'])} properties`);
        break;
      case 'additionalProperties':
        error = fieldError.invalid(path, '', `${joinKey(name, String(p['additionalProperty']))} in body is a forbidden property`);
        break;
      case 'anyOf':
        error = fieldError.invalid(path, '', `"${name}" must validate at least one schema (anyOf)`);
        break;
      case 'oneOf': {
        const passing = p['passingSchemas'];
        const found = Array.isArray(passing) ? `Found ${passing.length} valid alternatives` : 'Found none valid';
        error = fieldError.invalid(path, '', `"${name}" must validate one and only one schema (oneOf). ${found}`);
        break;
      }
      case 'not':
        error = fieldError.invalid(path, '', `"${name}" must not validate the schema (not)`);
        break;
      case FORMAT_KEYWORD:
        error = fieldError.typeInvalid(path, data, `${name} in body must be of type ${String(e.schema)}: ${JSON.stringify(data)}`);
        break;
      default:
        error = fieldError.invalid(path, data ?? '', `${name} in body ${e.message ?? 'is invalid'}`);
    }
    out.push({ path, keyword: e.keyword, error });
  }
  // kube-openapi stops at a node whose type is wrong; ajv (allErrors) would also report enum, pattern, ... there.
  const wrongType = new Set(out.filter((o) => o.keyword === 'type').map((o) => o.path));
  return out.filter((o) => o.keyword === 'type' || !wrongType.has(o.path)).map((o) => o.error);
}
