/**
 * Checks that a CRD's openAPIV3Schema is *structural* and uses only what the API server accepts, with the field
 * paths and messages of apiextensions-apiserver (`pkg/apiserver/schema/validation.go` `ValidateStructural`,
 * `complete.go`, and `pkg/apis/apiextensions/validation` `ValidateCustomResourceDefinitionOpenAPISchema`).
 *
 * A structural schema specifies a `type` at every property and item level (unless int-or-string or
 * preserve-unknown-fields says otherwise), keeps `type`, `description`, `default`, `nullable` and the
 * `x-kubernetes-*` extensions out of `allOf`/`anyOf`/`oneOf`/`not`, and only restricts `name`/`generateName`
 * of the root `metadata`. Pruning and defaulting (crd-schema.ts) rely on exactly these invariants.
 *
 * Known gaps: CEL (`x-kubernetes-validations`) is accepted but never compiled; `ValidateDefaults` (defaults must
 * validate and survive pruning) is done in crd-validation.ts with simpler messages.
 */
import type { FieldError } from '../../../api/field-errors.js';
import { fieldError, fieldErrorMessage } from '../../../api/field-errors.js';
import type { JsonSchemaProps } from '../resource-type.js';
import { fieldPath, isPlainObject } from './field-path.js';

type Level = 'root' | 'item' | 'field';

const OPENAPI_V3_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'] as const;
const META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

/** Sorted keys, so errors come out in a stable order (Go iterates maps randomly). */
function sortedEntries(value: unknown): [string, JsonSchemaProps][] {
  if (!isPlainObject(value)) return [];
  return Object.keys(value).sort().flatMap((k) => {
    const v = value[k];
    return isPlainObject(v) ? [[k, v] as [string, JsonSchemaProps]] : [];
  });
}

function schemaOf(value: unknown): JsonSchemaProps | undefined {
  return isPlainObject(value) ? value : undefined;
}

/** `additionalProperties` as a schema (`true` counts as an empty schema, like NewStructural). */
function additionalSchema(s: JsonSchemaProps): JsonSchemaProps | undefined {
  const ap = s['additionalProperties'];
  if (isPlainObject(ap)) return ap;
  return undefined;
}

function typeOf(s: JsonSchemaProps): string {
  return typeof s['type'] === 'string' ? s['type'] : '';
}

const isTrue = (v: unknown): boolean => v === true;

function list(value: unknown): JsonSchemaProps[] {
  return Array.isArray(value) ? value.filter(isPlainObject) : [];
}

function isIntOrStringAnyOf(anyOf: unknown): boolean {
  const branches = list(anyOf);
  if (!Array.isArray(anyOf) || anyOf.length !== 2 || branches.length !== 2) return false;
  const [a, b] = branches as [JsonSchemaProps, JsonSchemaProps];
  return Object.keys(a).length === 1 && a['type'] === 'integer' && Object.keys(b).length === 1 && b['type'] === 'string';
}

/**
 * ValidateStructural: invariants plus completeness, sorted by message as upstream does.
 * `path` is where the schema lives, e.g. `spec.versions[0].schema.openAPIV3Schema`.
 */
export function validateStructural(schema: JsonSchemaProps, path: string): FieldError[] {
  const errs = [
    ...structuralInvariants(schema, 'root', path),
    ...valueValidationCompleteness(schema, schema, path, path),
  ];
  return errs.sort((a, b) => {
    const ma = fieldErrorMessage(a);
    const mb = fieldErrorMessage(b);
    return ma < mb ? -1 : ma > mb ? 1 : 0;
  });
}

function structuralInvariants(s: JsonSchemaProps, lvl: Level, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const type = typeOf(s);
  const items = schemaOf(s['items']);
  if (type === 'array' && items === undefined && !Array.isArray(s['items'])) {
    errs.push(fieldError.required(fieldPath.child(path, 'items'), 'must be specified'));
  }
  if (items) errs.push(...structuralInvariants(items, 'item', fieldPath.child(path, 'items')));
  for (const [k, v] of sortedEntries(s['properties'])) {
    errs.push(...structuralInvariants(v, 'field', fieldPath.key(fieldPath.child(path, 'properties'), k)));
  }
  if (s['additionalProperties'] !== undefined) {
    if (lvl === 'root') {
      errs.push(fieldError.forbidden(fieldPath.child(path, 'additionalProperties'), 'must not be used at the root'));
    }
    const ap = additionalSchema(s);
    if (ap) errs.push(...structuralInvariants(ap, 'field', fieldPath.child(path, 'additionalProperties')));
  }

  const intOrString = isTrue(s['x-kubernetes-int-or-string']);
  const preserve = isTrue(s['x-kubernetes-preserve-unknown-fields']);
  const embedded = isTrue(s['x-kubernetes-embedded-resource']);
  if (intOrString && preserve) {
    errs.push(fieldError.invalid(fieldPath.child(path, 'x-kubernetes-preserve-unknown-fields'), true,
      'must be false if x-kubernetes-int-or-string is true'));
  }
  if (intOrString && embedded) {
    errs.push(fieldError.invalid(fieldPath.child(path, 'x-kubernetes-embedded-resource'), true,
      'must be false if x-kubernetes-int-or-string is true'));
  }

  // The two int-or-string shapes may carry `type` inside anyOf: `anyOf: [{type: integer}, {type: string}]`,
  // directly or as the first allOf entry.
  const skipAnyOf = isIntOrStringAnyOf(s['anyOf']);
  const allOf = list(s['allOf']);
  const skipFirstAllOfAnyOf = allOf.length > 0 && isIntOrStringAnyOf(allOf[0]!['anyOf']);
  errs.push(...valueValidation(s, skipAnyOf, skipFirstAllOfAnyOf, path));

  if (embedded && type !== 'object') {
    if (type === '') {
      errs.push(fieldError.required(fieldPath.child(path, 'type'), 'must be object if x-kubernetes-embedded-resource is true'));
    } else {
      errs.push(fieldError.invalid(fieldPath.child(path, 'type'), type, 'must be object if x-kubernetes-embedded-resource is true'));
    }
  } else if (type === '' && !intOrString && !preserve) {
    const detail = lvl === 'root' ? 'must not be empty at the root'
      : lvl === 'item' ? 'must not be empty for specified array items'
        : 'must not be empty for specified object fields';
    errs.push(fieldError.required(fieldPath.child(path, 'type'), detail));
  }
  if (embedded && s['additionalProperties'] !== undefined) {
    errs.push(fieldError.forbidden(fieldPath.child(path, 'additionalProperties'), 'must not be used if x-kubernetes-embedded-resource is set'));
  }
  if (lvl === 'root' && type !== '' && type !== 'object') {
    errs.push(fieldError.invalid(fieldPath.child(path, 'type'), type, 'must be object at the root'));
  }

  const checkMetadata = lvl === 'root' || embedded;
  const props = isPlainObject(s['properties']) ? s['properties'] : {};
  for (const name of ['kind', 'apiVersion']) {
    const p = schemaOf(props[name]);
    if (p && checkMetadata && typeOf(p) !== 'string') {
      errs.push(fieldError.invalid(fieldPath.child(fieldPath.key(fieldPath.child(path, 'properties'), name), 'type'), typeOf(p), 'must be string'));
    }
  }
  const metadata = schemaOf(props['metadata']);
  if (metadata) {
    errs.push(...metadataInvariants(metadata, checkMetadata, lvl, fieldPath.key(fieldPath.child(path, 'properties'), 'metadata')));
  }
  if (embedded && !preserve && Object.keys(props).length === 0) {
    errs.push(fieldError.required(fieldPath.child(path, 'properties'),
      'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields'));
  }
  return errs;
}

function metadataInvariants(s: JsonSchemaProps, checkMetadata: boolean, lvl: Level, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (checkMetadata && typeOf(s) !== 'object') {
    errs.push(fieldError.invalid(fieldPath.child(path, 'type'), typeOf(s), 'must be object'));
  }
  if (lvl === 'root') {
    // At the root only name and generateName may be restricted; type and default are checked elsewhere.
    const rest: Record<string, unknown> = { ...s };
    delete rest['type'];
    delete rest['default'];
    const propNames = isPlainObject(rest['properties']) ? Object.keys(rest['properties']) : [];
    if (propNames.every((n) => n === 'name' || n === 'generateName')) delete rest['properties'];
    if (Object.keys(rest).length > 0) {
      errs.push(fieldError.forbidden(path, 'must not specify anything other than name and generateName, but metadata is implicitly specified'));
    }
  }
  return errs;
}

function valueValidation(v: JsonSchemaProps, skipAnyOf: boolean, skipFirstAllOfAnyOf: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!skipAnyOf) {
    list(v['anyOf']).forEach((n, i) => errs.push(...nestedValueValidation(n, false, fieldPath.index(fieldPath.child(path, 'anyOf'), i))));
  }
  list(v['allOf']).forEach((n, i) =>
    errs.push(...nestedValueValidation(n, skipFirstAllOfAnyOf && i === 0, fieldPath.index(fieldPath.child(path, 'allOf'), i))));
  list(v['oneOf']).forEach((n, i) => errs.push(...nestedValueValidation(n, false, fieldPath.index(fieldPath.child(path, 'oneOf'), i))));
  const not = schemaOf(v['not']);
  if (not) errs.push(...nestedValueValidation(not, false, fieldPath.child(path, 'not')));
  if (typeof v['pattern'] === 'string' && v['pattern'] !== '') {
    try {
      new RegExp(v['pattern'], 'u');
    } catch (e) {
      errs.push(fieldError.invalid(fieldPath.child(path, 'pattern'), v['pattern'],
        `must be a valid regular expression, but isn't: ${(e as Error).message}`));
    }
  }
  return errs;
}

/** Inside allOf/anyOf/oneOf/not: only value validations, no generic fields or extensions. */
function nestedValueValidation(v: JsonSchemaProps, skipAnyOf: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [...valueValidation(v, skipAnyOf, false, path)];
  const items = schemaOf(v['items']);
  if (items) errs.push(...nestedValueValidation(items, false, fieldPath.child(path, 'items')));
  for (const [k, p] of sortedEntries(v['properties'])) {
    errs.push(...nestedValueValidation(p, false, fieldPath.key(fieldPath.child(path, 'properties'), k)));
  }
  const forbid = (name: string, detail: string) => errs.push(fieldError.forbidden(fieldPath.child(path, name), detail));
  if (typeof v['type'] === 'string' && v['type'] !== '') forbid('type', 'must be empty to be structural');
  if (v['additionalProperties'] !== undefined && v['additionalProperties'] !== false) {
    forbid('additionalProperties', 'must be undefined to be structural');
  }
  if (v['default'] !== undefined && v['default'] !== null) forbid('default', 'must be undefined to be structural');
  if (typeof v['title'] === 'string' && v['title'] !== '') forbid('title', 'must be empty to be structural');
  if (typeof v['description'] === 'string' && v['description'] !== '') forbid('description', 'must be empty to be structural');
  if (isTrue(v['nullable'])) forbid('nullable', 'must be false to be structural');
  if (isTrue(v['x-kubernetes-preserve-unknown-fields'])) forbid('x-kubernetes-preserve-unknown-fields', 'must be false to be structural');
  if (isTrue(v['x-kubernetes-embedded-resource'])) forbid('x-kubernetes-embedded-resource', 'must be false to be structural');
  if (isTrue(v['x-kubernetes-int-or-string'])) forbid('x-kubernetes-int-or-string', 'must be false to be structural');
  if (Array.isArray(v['x-kubernetes-list-map-keys']) && v['x-kubernetes-list-map-keys'].length > 0) {
    forbid('x-kubernetes-list-map-keys', 'must be empty to be structural');
  }
  if (v['x-kubernetes-list-type'] !== undefined) forbid('x-kubernetes-list-type', 'must be undefined to be structural');
  if (v['x-kubernetes-map-type'] !== undefined) forbid('x-kubernetes-map-type', 'must be undefined to be structural');
  if (Array.isArray(v['x-kubernetes-validations']) && v['x-kubernetes-validations'].length > 0) {
    forbid('x-kubernetes-validations', 'must be empty to be structural');
  }
  if (isPlainObject(v['properties']) && 'metadata' in v['properties']) {
    errs.push(fieldError.forbidden(fieldPath.key(fieldPath.child(path, 'properties'), 'metadata'), 'must not be specified in a nested context'));
  }
  return errs;
}

/** Every field or item a value validation talks about must also be specified structurally. */
function valueValidationCompleteness(v: JsonSchemaProps, s: JsonSchemaProps | undefined, sPath: string, vPath: string): FieldError[] {
  const branches: [JsonSchemaProps, string][] = [];
  const not = schemaOf(v['not']);
  if (not) branches.push([not, fieldPath.child(vPath, 'not')]);
  for (const kw of ['allOf', 'anyOf', 'oneOf']) {
    list(v[kw]).forEach((n, i) => branches.push([n, fieldPath.index(fieldPath.child(vPath, kw), i)]));
  }
  if (branches.length === 0) return [];
  if (s === undefined) return [fieldError.required(sPath, `because it is defined in ${vPath}`)];
  return branches.flatMap(([n, p]) => nestedCompleteness(n, s, sPath, p));
}

function nestedCompleteness(v: JsonSchemaProps, s: JsonSchemaProps | undefined, sPath: string, vPath: string): FieldError[] {
  if (s === undefined) return [fieldError.required(sPath, `because it is defined in ${vPath}`)];
  const errs = [...valueValidationCompleteness(v, s, sPath, vPath)];
  const vItems = schemaOf(v['items']);
  if (vItems) {
    errs.push(...nestedCompleteness(vItems, schemaOf(s['items']), fieldPath.child(sPath, 'items'), fieldPath.child(vPath, 'items')));
  }
  const sProps = isPlainObject(s['properties']) ? s['properties'] : {};
  for (const [k, vp] of sortedEntries(v['properties'])) {
    const sp = schemaOf(sProps[k]);
    const sChild = fieldPath.key(fieldPath.child(sPath, 'properties'), k);
    const vChild = fieldPath.key(fieldPath.child(vPath, 'properties'), k);
    if (!sp) errs.push(fieldError.required(sChild, `because it is defined in ${vChild}`));
    else errs.push(...nestedCompleteness(vp, sp, sChild, vChild));
  }
  return errs;
}

/**
 * The per-node checks of ValidateCustomResourceDefinitionOpenAPISchema (unsupported keywords, types,
 * list/map extensions), walking the whole schema including allOf/anyOf/oneOf/not.
 */
export function validateOpenApiSchema(schema: JsonSchemaProps, path: string): FieldError[] {
  return openApiNode(schema, path, { isRoot: true, insideResourceMeta: false, forbiddenDefaults: undefined });
}

interface NodeContext {
  isRoot: boolean;
  insideResourceMeta: boolean;
  /** Why defaults are not allowed here (`in top-level metadata`), or undefined when they are. */
  forbiddenDefaults: string | undefined;
}

function openApiNode(s: JsonSchemaProps, path: string, ctx: NodeContext): FieldError[] {
  const errs: FieldError[] = [];
  const child = (n: string) => fieldPath.child(path, n);
  const type = s['type'];
  if (typeof type === 'string' && type !== '' && type !== 'null' && !(OPENAPI_V3_TYPES as readonly string[]).includes(type)) {
    errs.push(fieldError.notSupported(child('type'), type, OPENAPI_V3_TYPES));
  }
  if (s['default'] !== undefined && ctx.forbiddenDefaults !== undefined) {
    errs.push(fieldError.forbidden(child('default'), `must not be set ${ctx.forbiddenDefaults}`));
  }
  if (typeof s['id'] === 'string' && s['id'] !== '') errs.push(fieldError.forbidden(child('id'), 'id is not supported'));
  if (s['additionalItems'] !== undefined) errs.push(fieldError.forbidden(child('additionalItems'), 'additionalItems is not supported'));
  if (isPlainObject(s['patternProperties']) && Object.keys(s['patternProperties']).length > 0) {
    errs.push(fieldError.forbidden(child('patternProperties'), 'patternProperties is not supported'));
  }
  if (isPlainObject(s['definitions']) && Object.keys(s['definitions']).length > 0) {
    errs.push(fieldError.forbidden(child('definitions'), 'definitions is not supported'));
  }
  if (s['dependencies'] !== undefined) errs.push(fieldError.forbidden(child('dependencies'), 'dependencies is not supported'));
  if (s['$ref'] !== undefined) errs.push(fieldError.forbidden(child('$ref'), '$ref is not supported'));
  if (type === 'null') errs.push(fieldError.forbidden(child('type'), 'type cannot be set to null, use nullable as an alternative'));
  if (Array.isArray(s['items'])) errs.push(fieldError.forbidden(child('items'), 'items must be a schema object and not an array'));
  if (ctx.insideResourceMeta && isTrue(s['x-kubernetes-embedded-resource'])) {
    errs.push(fieldError.forbidden(child('x-kubernetes-embedded-resource'), 'must not be used inside of resource meta'));
  }
  if (isTrue(s['uniqueItems'])) {
    errs.push(fieldError.forbidden(child('uniqueItems'), 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic'));
  }

  const sub: NodeContext = { isRoot: false, insideResourceMeta: ctx.insideResourceMeta, forbiddenDefaults: ctx.forbiddenDefaults };
  const ap = s['additionalProperties'];
  if (ap !== undefined) {
    const hasProps = isPlainObject(s['properties']) && Object.keys(s['properties']).length > 0;
    if (hasProps && (ap === false || isPlainObject(ap))) {
      errs.push(fieldError.forbidden(child('additionalProperties'), 'additionalProperties and properties are mutual exclusive'));
    }
    if (isPlainObject(ap)) {
      const apCtx = ctx.insideResourceMeta ? { ...sub, forbiddenDefaults: 'inside additionalProperties applying to object metadata' } : sub;
      errs.push(...openApiNode(ap, child('additionalProperties'), apCtx));
    }
  }
  for (const [k, p] of sortedEntries(s['properties'])) {
    let pCtx = sub;
    if ((ctx.isRoot || isTrue(s['x-kubernetes-embedded-resource'])) && META_FIELDS.has(k)) {
      pCtx = { ...pCtx, insideResourceMeta: true };
      if (ctx.isRoot) pCtx = { ...pCtx, forbiddenDefaults: `in top-level ${k}` };
    }
    errs.push(...openApiNode(p, fieldPath.key(child('properties'), k), pCtx));
  }
  const not = schemaOf(s['not']);
  if (not) errs.push(...openApiNode(not, child('not'), sub));
  for (const kw of ['allOf', 'oneOf', 'anyOf']) {
    list(s[kw]).forEach((n, i) => errs.push(...openApiNode(n, fieldPath.index(child(kw), i), sub)));
  }
  const items = schemaOf(s['items']);
  if (items) errs.push(...openApiNode(items, child('items'), sub));

  if (s['x-kubernetes-preserve-unknown-fields'] === false) {
    errs.push(fieldError.invalid(child('x-kubernetes-preserve-unknown-fields'), false, 'must be true or undefined'));
  }
  const mapType = s['x-kubernetes-map-type'];
  if (mapType !== undefined) {
    if (typeof type !== 'string' || type === '') {
      errs.push(fieldError.required(child('type'), 'must be object if x-kubernetes-map-type is specified'));
    } else if (type !== 'object') {
      errs.push(fieldError.invalid(child('type'), type, 'must be object if x-kubernetes-map-type is specified'));
    }
    if (mapType !== 'atomic' && mapType !== 'granular') {
      errs.push(fieldError.notSupported(child('x-kubernetes-map-type'), mapType, ['atomic', 'granular']));
    }
  }
  const listType = s['x-kubernetes-list-type'];
  if (listType !== undefined) {
    if (typeof type !== 'string' || type === '') {
      errs.push(fieldError.required(child('type'), 'must be array if x-kubernetes-list-type is specified'));
    } else if (type !== 'array') {
      errs.push(fieldError.invalid(child('type'), type, 'must be array if x-kubernetes-list-type is specified'));
    }
    if (listType !== 'atomic' && listType !== 'set' && listType !== 'map') {
      errs.push(fieldError.notSupported(child('x-kubernetes-list-type'), listType, ['atomic', 'set', 'map']));
    }
  }
  const mapKeys = s['x-kubernetes-list-map-keys'];
  if (Array.isArray(mapKeys) && mapKeys.length > 0 && listType !== 'map') {
    if (listType === undefined) errs.push(fieldError.required(child('x-kubernetes-list-type'), 'must be map if x-kubernetes-list-map-keys is non-empty'));
    else errs.push(fieldError.invalid(child('x-kubernetes-list-type'), listType, 'must be map if x-kubernetes-list-map-keys is non-empty'));
  }
  if (listType === 'map' && (!Array.isArray(mapKeys) || mapKeys.length === 0)) {
    errs.push(fieldError.required(child('x-kubernetes-list-map-keys'), 'must not be empty if x-kubernetes-list-type is map'));
  }
  return errs;
}
