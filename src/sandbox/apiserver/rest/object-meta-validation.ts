/**
 * apimachinery's ObjectMeta validation, in the parts users hit: names (DNS-1123 subdomain or label), generateName,
 * label keys and values, annotation keys and total size.
 */
import type { FieldError } from '../../../api/field-errors.js';
import { fieldError } from '../../../api/field-errors.js';
import type { ObjectMeta } from '../../../api/meta.js';
import { dns1123SubdomainErrors as validateDns1123Subdomain, labelKeyErrors as validateQualifiedName, labelValueErrors as validateLabelValue } from '../../../api/label-selector.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export type NameRule = 'subdomain' | 'label' | 'path-segment';

export function validateDns1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!DNS1123_LABEL.test(value)) {
    errs.push("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
  }
  return errs;
}

function validatePathSegment(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  if (value.includes('/') || value.includes('%')) return [`may not contain '/' or '%'`];
  return [];
}

function validateName(rule: NameRule, value: string): string[] {
  switch (rule) {
    case 'label': return validateDns1123Label(value);
    case 'subdomain': return validateDns1123Subdomain(value);
    case 'path-segment': return validatePathSegment(value);
  }
}

/** Validates the user-settable parts of metadata. `requireName` is false for creates with generateName. */
export function validateObjectMeta(meta: ObjectMeta, opts: { namespaced: boolean; nameRule: NameRule }): FieldError[] {
  const errs: FieldError[] = [];
  if (meta.name === undefined || meta.name === '') {
    if (meta.generateName === undefined || meta.generateName === '') {
      errs.push(fieldError.required('metadata.name', 'name or generateName is required'));
    }
  } else {
    for (const msg of validateName(opts.nameRule, meta.name)) errs.push(fieldError.invalid('metadata.name', meta.name, msg));
  }
  if (meta.generateName) {
    // generateName gets a 5-character suffix; what must be valid is the prefix with room for it.
    const probe = meta.generateName.replace(/-+$/, '') || 'x';
    for (const msg of validateName(opts.nameRule, probe.toLowerCase() === probe ? probe : meta.generateName)) {
      errs.push(fieldError.invalid('metadata.generateName', meta.generateName, msg));
    }
  }
  if (!opts.namespaced && meta.namespace) {
    errs.push(fieldError.forbidden('metadata.namespace', 'not allowed on this type'));
  }
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    for (const msg of validateQualifiedName(k)) errs.push(fieldError.invalid('metadata.labels', k, msg));
    if (typeof v !== 'string') errs.push(fieldError.invalid(`metadata.labels[${k}]`, v, 'must be a string'));
    else for (const msg of validateLabelValue(v)) errs.push(fieldError.invalid('metadata.labels', v, msg));
  }
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    for (const msg of validateQualifiedName(k.toLowerCase())) errs.push(fieldError.invalid('metadata.annotations', k, msg));
    if (typeof v !== 'string') errs.push(fieldError.invalid(`metadata.annotations[${k}]`, v, 'must be a string'));
    else annotationBytes += k.length + Buffer.byteLength(v);
  }
  if (annotationBytes > TOTAL_ANNOTATION_SIZE_LIMIT) {
    errs.push(fieldError.tooLong('metadata.annotations', TOTAL_ANNOTATION_SIZE_LIMIT));
  }
  (meta.ownerReferences ?? []).forEach((ref, i) => {
    const p = `metadata.ownerReferences[${i}]`;
    if (!ref || typeof ref !== 'object') { errs.push(fieldError.invalid(p, ref, 'must be an object')); return; }
    if (!ref.apiVersion) errs.push(fieldError.invalid(`${p}.apiVersion`, ref.apiVersion ?? '', 'version must not be empty'));
    if (!ref.kind) errs.push(fieldError.invalid(`${p}.kind`, ref.kind ?? '', 'kind must not be empty'));
    if (!ref.name) errs.push(fieldError.invalid(`${p}.name`, ref.name ?? '', 'name must not be empty'));
    if (!ref.uid) errs.push(fieldError.invalid(`${p}.uid`, ref.uid ?? '', 'uid must not be empty'));
  });
  const controllers = (meta.ownerReferences ?? []).filter((r) => r?.controller === true);
  if (controllers.length > 1) {
    errs.push(fieldError.invalid('metadata.ownerReferences', meta.ownerReferences, 'Only one reference can have Controller set to true.'));
  }
  if (meta.finalizers !== undefined) {
    if (!Array.isArray(meta.finalizers)) errs.push(fieldError.invalid('metadata.finalizers', meta.finalizers, 'must be a list'));
    else meta.finalizers.forEach((f, i) => {
      if (typeof f !== 'string') { errs.push(fieldError.invalid(`metadata.finalizers[${i}]`, f, 'must be a string')); return; }
      for (const msg of validateQualifiedName(f)) errs.push(fieldError.invalid(`metadata.finalizers[${i}]`, f, msg));
    });
  }
  return errs;
}

/** Namespaces and nodes have label-style names; most kinds take subdomains; a few take any path segment. */
export function nameRuleFor(kind: string): NameRule {
  if (kind === 'Namespace' || kind === 'Service') return 'label';
  if (kind === 'Event') return 'path-segment';
  return 'subdomain';
}
