/**
 * Field selectors (`?fieldSelector=metadata.name=x,spec.nodeName!=`), as the API server implements them: terms
 * split on unescaped commas and ANDed, each `field=value`, `field==value` or `field!=value`, values unescaped
 * (`\,` `\=` `\\`). No whitespace trimming: Kubernetes does none either, so `metadata.name = x` names the field
 * `metadata.name ` and is refused.
 *
 * Each resource supports only a fixed set of field labels (`metadata.name` and `metadata.namespace` for all, more
 * for a few core resources, see FIELD_LABELS). Unsupported labels are refused with Kubernetes' words: resources
 * with their own conversion function say `field label not supported: x`, the others use the generic
 * `"x" is not a known field selector: only "metadata.name", "metadata.namespace"`.
 *
 * The list handler wraps these messages the way kube-apiserver does (`Unable to find ... that match label
 * selector ..., field selector ...: <message>`) if it wants to; this module throws the bare message.
 */
import type { KubeObject } from '../../api/meta.js';
import { apiErrors, type GroupResource } from './api-error.js';

export type FieldOperator = '=' | '==' | '!=';

export interface FieldRequirement {
  readonly field: string;
  readonly operator: FieldOperator;
  /** Unescaped value; '' matches a missing field. */
  readonly value: string;
}

export interface FieldSelector {
  /** AND of all; none matches everything. Sorted by term text, as apimachinery sorts terms. */
  readonly requirements: readonly FieldRequirement[];
}

export const everyField: FieldSelector = Object.freeze({ requirements: Object.freeze([]) });

type Extractor = (obj: KubeObject) => unknown;

function at(obj: unknown, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null || !Object.hasOwn(cur, p)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

const COMMON: Readonly<Record<string, Extractor>> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace,
};

/** Booleans select as `true`/`false`, a missing one as `false` (Go's zero value, then strconv.FormatBool). */
const bool = (...path: string[]): Extractor => (o) => String(at(o, ...path) === true);
const str = (...path: string[]): Extractor => (o) => at(o, ...path);

/**
 * Extra field labels per core resource (`<group>/<plural>`), from kube-apiserver's `ToSelectableFields` /
 * field-label conversion functions (pkg/registry/core/{pod,event,secret,namespace,node}).
 */
const FIELD_LABELS: Readonly<Record<string, Readonly<Record<string, Extractor>>>> = {
  '/pods': {
    'spec.nodeName': str('spec', 'nodeName'),
    'spec.restartPolicy': str('spec', 'restartPolicy'),
    'spec.schedulerName': str('spec', 'schedulerName'),
    'spec.serviceAccountName': str('spec', 'serviceAccountName'),
    'spec.hostNetwork': bool('spec', 'hostNetwork'),
    'status.phase': str('status', 'phase'),
    'status.podIP': str('status', 'podIP'),
    'status.nominatedNodeName': str('status', 'nominatedNodeName'),
  },
  '/events': {
    'involvedObject.kind': str('involvedObject', 'kind'),
    'involvedObject.namespace': str('involvedObject', 'namespace'),
    'involvedObject.name': str('involvedObject', 'name'),
    'involvedObject.uid': str('involvedObject', 'uid'),
    'involvedObject.apiVersion': str('involvedObject', 'apiVersion'),
    'involvedObject.resourceVersion': str('involvedObject', 'resourceVersion'),
    'involvedObject.fieldPath': str('involvedObject', 'fieldPath'),
    reason: str('reason'),
    reportingComponent: str('reportingComponent'),
    // `source` selects on source.component, as in kube-apiserver's event field set.
    source: str('source', 'component'),
    type: str('type'),
  },
  '/secrets': { type: str('type') },
  '/namespaces': { 'status.phase': str('status', 'phase') },
  '/nodes': { 'spec.unschedulable': bool('spec', 'unschedulable') },
};

function labelsFor(resource: GroupResource): Readonly<Record<string, Extractor>> | undefined {
  return FIELD_LABELS[`${resource.group}/${resource.resource}`];
}

/** Field labels `resource` can be selected on, common ones first. */
export function supportedFieldLabels(resource: GroupResource): readonly string[] {
  return [...Object.keys(COMMON), ...Object.keys(labelsFor(resource) ?? {})];
}

/** Splits on commas not preceded by a backslash, keeping escapes for `unescapeValue`. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

/** The first occurrence of `!=`, `==` or `=` splits a term; the left side has no escaping (as upstream). */
function splitTerm(term: string): [string, FieldOperator, string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '='] as const) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

function unescapeValue(raw: string): string {
  let out = '';
  let escaped = false;
  for (const c of raw) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw apiErrors.badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      escaped = false;
    } else if (c === '\\') {
      escaped = true;
    } else if (c === ',' || c === '=') {
      // Upstream prints the rune as a number (%v of a rune); we print the character.
      throw apiErrors.badRequest(`invalid field selector: unescaped character in value: ${c}`);
    } else {
      out += c;
    }
  }
  if (escaped) throw apiErrors.badRequest('invalid field selector: invalid escape sequence: \\');
  return out;
}

function unsupported(resource: GroupResource, field: string): Error {
  if (labelsFor(resource) !== undefined) return apiErrors.badRequest(`field label not supported: ${field}`);
  return apiErrors.badRequest(`"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`);
}

/**
 * Parses `text` for `resource` ({group: '', resource: 'pods'}). Empty text selects everything. Throws ApiError
 * 400 BadRequest for syntax errors and for field labels the resource does not support.
 */
export function parseFieldSelector(text: string, resource: GroupResource): FieldSelector {
  const known = supportedFieldLabels(resource);
  const terms = splitTerms(text).filter((t) => t !== '').sort();
  const requirements: FieldRequirement[] = [];
  for (const term of terms) {
    const parts = splitTerm(term);
    if (parts === undefined) throw apiErrors.badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const [field, operator, raw] = parts;
    const value = unescapeValue(raw);
    if (!known.includes(field)) throw unsupported(resource, field);
    requirements.push(Object.freeze({ field, operator, value }));
  }
  return requirements.length === 0 ? everyField : Object.freeze({ requirements: Object.freeze(requirements) });
}

/**
 * The string value of field label `field` on `obj`, as the API server's field set holds it: a missing string is
 * '', booleans are `true`/`false`. Undefined only for labels no resource supports.
 */
export function fieldLabelValue(obj: KubeObject, field: string): string | undefined {
  const extract = COMMON[field] ?? extractorAnywhere(field);
  if (extract === undefined) return undefined;
  const v = extract(obj);
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function extractorAnywhere(field: string): Extractor | undefined {
  for (const labels of Object.values(FIELD_LABELS)) {
    if (Object.hasOwn(labels, field)) return labels[field];
  }
  return undefined;
}

/** True when every term holds for `obj`. The selector was parsed for `obj`'s resource. */
export function matchesFieldSelector(sel: FieldSelector, obj: KubeObject): boolean {
  return sel.requirements.every((r) => {
    const actual = fieldLabelValue(obj, r.field) ?? '';
    return r.operator === '!=' ? actual !== r.value : actual === r.value;
  });
}

/**
 * The exact `metadata.name` and `spec.nodeName` the selector requires (`=`/`==` terms), so the store can answer
 * from its name or node index and then filter the few candidates with `matchesFieldSelector`.
 */
export function exactNameOrNodeName(sel: FieldSelector): { name?: string; nodeName?: string } {
  const out: { name?: string; nodeName?: string } = {};
  for (const r of sel.requirements) {
    if (r.operator === '!=') continue;
    if (r.field === 'metadata.name' && out.name === undefined) out.name = r.value;
    if (r.field === 'spec.nodeName' && out.nodeName === undefined) out.nodeName = r.value;
  }
  return out;
}

function escapeValue(v: string): string {
  return v.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** The canonical text of `sel` (terms sorted, values escaped); '' for everything. */
export function fieldSelectorToString(sel: FieldSelector): string {
  return sel.requirements.map((r) => `${r.field}${r.operator}${escapeValue(r.value)}`).join(',');
}
