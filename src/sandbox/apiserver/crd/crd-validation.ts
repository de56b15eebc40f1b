/**
 * CustomResourceDefinition (apiextensions.k8s.io/v1) defaulting and create/update validation, following
 * apiextensions-apiserver `pkg/apis/apiextensions/v1/defaults.go` and `pkg/apis/apiextensions/validation/
 * validation.go` `ValidateCustomResourceDefinition`, to the degree the sandbox needs.
 *
 * Known gaps (accepted without checking): conversion webhooks, CEL rules and their cost, selectableFields,
 * the status-subresource root-schema restriction, stored-version bookkeeping on update, name immutability
 * on update (names may change; upstream allows that too until established), the api-approved annotation.
 */
import type { FieldError } from '../../../api/field-errors.js';
import { fieldError } from '../../../api/field-errors.js';
import type { JsonSchemaProps } from '../resource-type.js';
import { compileSchema, pruneWithSchema } from './crd-schema.js';
import { isDns1035Label, isDns1123Subdomain } from './dns-names.js';
import { fieldPath, isPlainObject } from './field-path.js';
import { validateOpenApiSchema, validateStructural } from './structural-schema.js';

const PRINTER_COLUMN_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];
const PRINTER_COLUMN_FORMATS = ['byte', 'date', 'date-time', 'double', 'float', 'int32', 'int64', 'name', 'password'];

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const obj = (v: unknown): Record<string, unknown> => (isPlainObject(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * The API server's defaults for a v1 CRD: `names.singular` = lower-case kind, `names.listKind` = kind + "List",
 * `conversion.strategy` = None, and per version `served`/`storage` false when absent. Returns a copy.
 */
export function defaultCrd<T extends object>(crd: T): T {
  const out = structuredClone(crd) as Record<string, unknown>;
  const spec = obj(out['spec']);
  if (!isPlainObject(out['spec'])) return out as T;
  const names = obj(spec['names']);
  if (isPlainObject(spec['names'])) {
    const kind = str(names['kind']);
    if (str(names['singular']) === '' && kind !== '') names['singular'] = kind.toLowerCase();
    if (str(names['listKind']) === '' && kind !== '') names['listKind'] = `${kind}List`;
  }
  if (!isPlainObject(spec['conversion'])) spec['conversion'] = { strategy: 'None' };
  for (const v of arr(spec['versions'])) {
    if (!isPlainObject(v)) continue;
    if (typeof v['served'] !== 'boolean') v['served'] = false;
    if (typeof v['storage'] !== 'boolean') v['storage'] = false;
  }
  return out as T;
}

/**
 * Everything wrong with a CRD as the API server would report it on create or update, after applying
 * `defaultCrd` (so a missing listKind is not an error, as it is not upstream).
 */
export function validateCrd(crd: object): FieldError[] {
  const d = defaultCrd(crd) as Record<string, unknown>;
  const meta = obj(d['metadata']);
  const spec = obj(d['spec']);
  const names = obj(spec['names']);
  const group = str(spec['group']);
  const errs: FieldError[] = [];

  // metadata.name: a DNS subdomain that must be <plural>.<group>.
  const name = str(meta['name']);
  if (name === '') {
    errs.push(fieldError.required('metadata.name', 'name or generateName is required'));
  } else {
    const msgs = isDns1123Subdomain(name);
    if (name !== `${str(names['plural'])}.${group}`) msgs.push('must be spec.names.plural+"."+spec.group');
    for (const m of msgs) errs.push(fieldError.invalid('metadata.name', name, m));
  }

  if (group === '') errs.push(fieldError.required('spec.group'));
  else if (isDns1123Subdomain(group).length > 0) errs.push(fieldError.invalid('spec.group', group, isDns1123Subdomain(group).join(',')));
  else if (group.split('.').length < 2) errs.push(fieldError.invalid('spec.group', group, 'should be a domain with at least one dot'));

  const scope = str(spec['scope']);
  if (scope === '') errs.push(fieldError.required('spec.scope'));
  else if (scope !== 'Cluster' && scope !== 'Namespaced') errs.push(fieldError.notSupported('spec.scope', scope, ['Cluster', 'Namespaced']));

  const versions = arr(spec['versions']);
  versions.forEach((v, i) => {
    const vo = obj(v);
    if (!isPlainObject(obj(vo['schema'])['openAPIV3Schema'])) {
      errs.push(fieldError.required(`spec.versions[${i}].schema.openAPIV3Schema`));
    }
  });
  const seen = new Set<string>();
  let unique = true;
  let storageCount = 0;
  versions.forEach((v, i) => {
    const vo = obj(v);
    const vname = str(vo['name']);
    if (vo['storage'] === true) storageCount++;
    if (seen.has(vname)) unique = false;
    seen.add(vname);
    const nameErrs = isDns1035Label(vname);
    if (nameErrs.length > 0) errs.push(fieldError.invalid(`spec.versions[${i}].name`, vname, nameErrs.join(',')));
    errs.push(...validateVersion(vo, `spec.versions[${i}]`));
  });
  if (!unique) errs.push(fieldError.invalid('spec.versions', versions, 'must contain unique version names'));
  if (storageCount !== 1) errs.push(fieldError.invalid('spec.versions', versions, 'must have exactly one version marked as storage version'));

  for (const n of ['plural', 'singular', 'kind', 'listKind']) {
    if (str(names[n]) === '') errs.push(fieldError.required(`spec.names.${n}`));
  }
  errs.push(...validateNames(names, 'spec.names'));

  if (spec['preserveUnknownFields'] === true) {
    errs.push(fieldError.invalid('spec.preserveUnknownFields', true,
      'cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead'));
  }
  const strategy = str(obj(spec['conversion'])['strategy']);
  if (strategy !== 'None' && strategy !== 'Webhook') {
    errs.push(fieldError.notSupported('spec.conversion.strategy', strategy, ['None', 'Webhook']));
  }
  return errs;
}

function validateNames(names: Record<string, unknown>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const n of ['plural', 'singular']) {
    const v = str(names[n]);
    const e = isDns1035Label(v);
    if (v !== '' && e.length > 0) errs.push(fieldError.invalid(`${path}.${n}`, v, e.join(',')));
  }
  for (const n of ['kind', 'listKind']) {
    const v = str(names[n]);
    const e = isDns1035Label(v.toLowerCase());
    if (v !== '' && e.length > 0) {
      errs.push(fieldError.invalid(`${path}.${n}`, v, `may have mixed case, but should otherwise match: ${e.join(',')}`));
    }
  }
  arr(names['shortNames']).forEach((s, i) => {
    const e = isDns1035Label(str(s));
    if (e.length > 0) errs.push(fieldError.invalid(`${path}.shortNames[${i}]`, s, e.join(',')));
  });
  const kind = str(names['kind']);
  if (kind !== '' && kind === str(names['listKind'])) {
    errs.push(fieldError.invalid(`${path}.listKind`, kind, 'kind and listKind may not be the same'));
  }
  arr(names['categories']).forEach((c, i) => {
    const e = isDns1035Label(str(c));
    if (e.length > 0) errs.push(fieldError.invalid(`${path}.categories[${i}]`, c, e.join(',')));
  });
  return errs;
}

function validateVersion(v: Record<string, unknown>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const schema = obj(v['schema'])['openAPIV3Schema'];
  if (isPlainObject(schema)) errs.push(...validateVersionSchema(schema, `${path}.schema.openAPIV3Schema`));

  const sub = obj(v['subresources']);
  if (isPlainObject(sub['scale'])) {
    const scale = sub['scale'];
    errs.push(...jsonPathUnder(scale['specReplicasPath'], `${path}.subresources.scale.specReplicasPath`, ['.spec.'], 'should be a json path under .spec'));
    errs.push(...jsonPathUnder(scale['statusReplicasPath'], `${path}.subresources.scale.statusReplicasPath`, ['.status.'], 'should be a json path under .status'));
    if (scale['labelSelectorPath'] !== undefined && scale['labelSelectorPath'] !== '') {
      errs.push(...jsonPathUnder(scale['labelSelectorPath'], `${path}.subresources.scale.labelSelectorPath`, ['.spec.', '.status.'],
        'should be a json path under either .spec or .status', false));
    }
  }
  arr(v['additionalPrinterColumns']).forEach((c, i) => {
    const col = obj(c);
    const p = `${path}.additionalPrinterColumns[${i}]`;
    if (str(col['name']) === '') errs.push(fieldError.required(`${p}.name`));
    const type = str(col['type']);
    const typeMsg = `must be one of ${PRINTER_COLUMN_TYPES.join(',')}`;
    if (type === '') errs.push(fieldError.required(`${p}.type`, typeMsg));
    else if (!PRINTER_COLUMN_TYPES.includes(type)) errs.push(fieldError.invalid(`${p}.type`, type, typeMsg));
    const format = str(col['format']);
    if (format !== '' && !PRINTER_COLUMN_FORMATS.includes(format)) {
      errs.push(fieldError.invalid(`${p}.format`, format, `must be one of ${PRINTER_COLUMN_FORMATS.join(',')}`));
    }
    // The internal type names this field JSONPath, and so does the upstream error.
    if (str(col['jsonPath']) === '') errs.push(fieldError.required(`${p}.JSONPath`));
  });
  return errs;
}

function jsonPathUnder(value: unknown, path: string, prefixes: string[], detail: string, required = true): FieldError[] {
  const s = str(value);
  if (s === '') return required ? [fieldError.required(path)] : [];
  if (!s.startsWith('.')) return [fieldError.invalid(path, s, 'must be a simple json path starting with .')];
  if (!prefixes.some((p) => s.startsWith(p))) return [fieldError.invalid(path, s, detail)];
  return [];
}

/** Structural checks first (they are what pruning and defaulting depend on), then defaults. */
function validateVersionSchema(schema: JsonSchemaProps, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (schema['nullable'] === true) errs.push(fieldError.forbidden(`${path}.nullable`, 'nullable cannot be true at the root'));
  const structural = validateStructural(schema, path);
  errs.push(...structural);
  const openapi = validateOpenApiSchema(schema, path);
  errs.push(...openapi);
  if (structural.length === 0 && openapi.length === 0) errs.push(...validateDefaults(schema, path));
  return errs;
}

/** `defaulting.ValidateDefaults`: each default must survive pruning and validate against its own schema. */
function validateDefaults(s: JsonSchemaProps, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (s['default'] !== undefined) {
    const def = s['default'];
    const dpath = `${path}.default`;
    const embedded = s['x-kubernetes-embedded-resource'] === true;
    const pruned = pruneWithSchema(def, s, embedded);
    if (pruned.unknownFields.length > 0 || JSON.stringify(pruned.object) !== JSON.stringify(def)) {
      errs.push(fieldError.invalid(dpath, def, 'must not have unknown fields'));
    } else {
      for (const e of compileSchema(s).validate(def)) {
        errs.push({ ...e, field: e.field === '' ? dpath : e.field.startsWith('[') ? `${dpath}${e.field}` : `${dpath}.${e.field}` });
      }
    }
  }
  const props = obj(s['properties']);
  for (const k of Object.keys(props).sort()) {
    const p = props[k];
    if (isPlainObject(p)) errs.push(...validateDefaults(p, fieldPath.key(`${path}.properties`, k)));
  }
  if (isPlainObject(s['items'])) errs.push(...validateDefaults(s['items'], `${path}.items`));
  if (isPlainObject(s['additionalProperties'])) errs.push(...validateDefaults(s['additionalProperties'], `${path}.additionalProperties`));
  return errs;
}
