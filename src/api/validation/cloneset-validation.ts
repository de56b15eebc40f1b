/**
 * CloneSet admission validation (upstream `pkg/webhook/cloneset/validating/validation.go`, spec §2.4, §3.1) with
 * upstream's paths and messages. Expects a defaulted object (run `defaultCloneSet` first), as the webhook does.
 *
 * Not done here: `podsToDelete` Pod lookups need the cluster, so they run only when the caller passes
 * `options.getPod` (the webhook does; pure callers may omit it).
 */
import { fieldError, type FieldError } from '../field-errors.js';
import type { CloneSet, CloneSetScaleStrategy, CloneSetUpdateStrategy } from '../cloneset-types.js';
import type { IntOrString, ObjectMeta } from '../meta.js';
import type { Pod } from '../pod-types.js';
import { intOrStringToString, tryScaledValue } from '../int-or-string.js';
import {
  goStringSlice, semanticDeepEqual, validateNonnegative, validateObjectName,
} from './k8s-validation.js';
import {
  isEmptySelector, selectorMatchesLabels, validateLabelSelector,
} from './label-selector-validation.js';
import { validatePodTemplate } from './pod-validation.js';
import { validatePriorityStrategy, validateScatterStrategy } from './update-strategy-validation.js';

export interface CloneSetValidationOptions {
  /**
   * Looks up a Pod in the CloneSet's namespace for the newly added `podsToDelete` names. Returns the Pod, or an
   * Error whose message upstream puts after `find pod X failed: ` (e.g. `pods "X" not found`).
   */
  getPod?: (namespace: string, name: string) => Pod | Error;
}

export function validateCloneSet(cs: CloneSet, old?: CloneSet, options: CloneSetValidationOptions = {}): FieldError[] {
  const errs: FieldError[] = [];
  if (old) errs.push(...validateCloneSetUpdate(cs, old));
  errs.push(...validateObjectName(cs.metadata, 'metadata'));
  errs.push(...validateSpec(cs, old, options));
  return errs;
}

const UPDATABLE_SPEC_FIELDS = [
  'replicas', 'template', 'scaleStrategy', 'updateStrategy', 'minReadySeconds', 'lifecycle', 'revisionHistoryLimit',
] as const;

function validateCloneSetUpdate(cs: CloneSet, old: CloneSet): FieldError[] {
  const errs: FieldError[] = [];
  const a: Record<string, unknown> = { ...cs.spec };
  const b: Record<string, unknown> = { ...old.spec };
  for (const f of UPDATABLE_SPEC_FIELDS) { delete a[f]; delete b[f]; }
  if (!semanticDeepEqual(a, b)) {
    errs.push(fieldError.forbidden('spec',
      "updates to cloneset spec for fields other than 'replicas', 'template', 'lifecycle', 'scaleStrategy', 'updateStrategy', 'minReadySeconds' and 'revisionHistoryLimit' are forbidden"));
  }
  if (cs.spec.updateStrategy?.type === 'InPlaceOnly') {
    const op = firstPatchOp(old.spec.template?.spec, cs.spec.template?.spec, '');
    if (op && !(op.op === 'replace' && IN_PLACE_PATH_RE.test(op.path))) {
      errs.push(fieldError.forbidden('spec',
        `only allowed to update images in spec for InPlaceOnly, but found ${op.op} ${op.path}`));
    }
  }
  return errs;
}

/** Upstream `inPlaceUpdateTemplateSpecPatchRexp`. */
const IN_PLACE_PATH_RE = /^\/containers\/([0-9]+)\/image$/;

interface PatchOp { op: 'add' | 'remove' | 'replace'; path: string }

function dropEmpty(v: unknown): unknown {
  return v === null || (Array.isArray(v) && v.length === 0) ? undefined : v;
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * The first JSON-patch operation turning `a` into `b` (keys in sorted order, arrays index by index), or undefined
 * when equal; `null` and empty lists count as absent, as Go's omitempty marshalling drops them.
 */
export function firstPatchOp(a: unknown, b: unknown, path: string): PatchOp | undefined {
  const x = dropEmpty(a);
  const y = dropEmpty(b);
  if (x === undefined && y === undefined) return undefined;
  if (x === undefined) return { op: 'add', path };
  if (y === undefined) return { op: 'remove', path };
  if (Array.isArray(x) && Array.isArray(y)) {
    const n = Math.max(x.length, y.length);
    for (let i = 0; i < n; i++) {
      if (i >= x.length) return { op: 'add', path: `${path}/${i}` };
      if (i >= y.length) return { op: 'remove', path: `${path}/${i}` };
      const r = firstPatchOp(x[i], y[i], `${path}/${i}`);
      if (r) return r;
    }
    return undefined;
  }
  if (typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !Array.isArray(y)) {
    const xo = x as Record<string, unknown>;
    const yo = y as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(xo), ...Object.keys(yo)])].sort();
    for (const k of keys) {
      const r = firstPatchOp(xo[k], yo[k], `${path}/${escapePointer(k)}`);
      if (r) return r;
    }
    return undefined;
  }
  return x === y ? undefined : { op: 'replace', path };
}

function validateSpec(cs: CloneSet, old: CloneSet | undefined, options: CloneSetValidationOptions): FieldError[] {
  const spec = cs.spec;
  const errs: FieldError[] = [];
  const replicas = spec.replicas ?? 1;
  errs.push(...validateNonnegative(replicas, 'spec.replicas'));
  if (!spec.selector) {
    errs.push(fieldError.required('spec.selector', ''));
  } else {
    const selectorErrs = validateLabelSelector(spec.selector, 'spec.selector');
    errs.push(...selectorErrs);
    if (isEmptySelector(spec.selector)) {
      errs.push(fieldError.invalid('spec.selector', spec.selector, 'empty selector is invalid for cloneset'));
    } else if (selectorErrs.length === 0 && !selectorMatchesLabels(spec.selector, spec.template?.metadata?.labels)) {
      errs.push(fieldError.invalid('spec.template.metadata.labels', spec.template?.metadata?.labels ?? null,
        '`selector` does not match template `labels`'));
    }
  }
  // PVC templates become implicit volumes, so mounts may reference them (upstream mocks them into the template).
  const claimNames = (spec.volumeClaimTemplates ?? []).map((pvc) => pvc.metadata?.name ?? '');
  errs.push(...validatePodTemplate(spec.template, 'spec.template', claimNames));
  const podSpec = spec.template?.spec;
  if (podSpec?.restartPolicy && podSpec.restartPolicy !== 'Always') {
    errs.push(fieldError.notSupported('spec.template.spec.restartPolicy', podSpec.restartPolicy, ['Always']));
  }
  if (podSpec?.activeDeadlineSeconds !== undefined && podSpec.activeDeadlineSeconds !== null) {
    errs.push(fieldError.forbidden('spec.template.spec.activeDeadlineSeconds',
      'activeDeadlineSeconds in cloneset is not Supported'));
  }
  errs.push(...validateScaleStrategy(spec.scaleStrategy ?? {}, old?.spec.scaleStrategy, cs.metadata, options));
  errs.push(...validateUpdateStrategy(spec.updateStrategy ?? {}, replicas));
  return errs;
}

function findDuplicates(items: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const s of items) (seen.has(s) ? dup : seen).add(s);
  return [...dup];
}

function validateScaleStrategy(
  strategy: CloneSetScaleStrategy, old: CloneSetScaleStrategy | undefined, meta: ObjectMeta,
  options: CloneSetValidationOptions,
): FieldError[] {
  const path = 'spec.scaleStrategy.podsToDelete';
  const names = strategy.podsToDelete ?? [];
  const dups = findDuplicates(names);
  if (dups.length > 0) return [fieldError.invalid(path, names, `duplicated items ${goStringSlice(dups)}`)];
  if (!options.getPod) return [];
  const before = new Set(old?.podsToDelete ?? []);
  const added = [...new Set(names)].filter((n) => !before.has(n)).sort();
  const errs: FieldError[] = [];
  for (const name of added) {
    const pod = options.getPod(meta.namespace ?? '', name);
    if (pod instanceof Error) {
      errs.push(fieldError.invalid(path, name, `find pod ${name} failed: ${pod.message}`));
    } else if (pod.metadata.deletionTimestamp) {
      errs.push(fieldError.invalid(path, name, `find pod ${name} already terminating`));
    } else {
      const owner = pod.metadata.ownerReferences?.find((r) => r.controller === true);
      if (!owner || owner.uid !== meta.uid) {
        errs.push(fieldError.invalid(path, name, `find pod ${name} owner is not this CloneSet`));
      }
    }
  }
  return errs;
}

function scaled(
  v: IntOrString, name: string, replicas: number, errs: FieldError[],
): number {
  const r = tryScaledValue(v, replicas, true);
  if ('error' in r) {
    errs.push(fieldError.invalid(`spec.updateStrategy.${name}`, intOrStringToString(v),
      `failed getValueFromIntOrPercent for ${name}: ${r.error}`));
    return 0;
  }
  return r.value;
}

function validateUpdateStrategy(strategy: CloneSetUpdateStrategy, replicas: number): FieldError[] {
  const errs: FieldError[] = [];
  const path = 'spec.updateStrategy';
  if (strategy.type !== 'ReCreate' && strategy.type !== 'InPlaceIfPossible' && strategy.type !== 'InPlaceOnly') {
    // Upstream's format string really quotes only two of the three names.
    errs.push(fieldError.invalid(`${path}.type`, strategy.type ?? '', "must be 'ReCreate', InPlaceIfPossible or 'InPlaceOnly'"));
  }
  const partition = scaled(strategy.partition ?? 0, 'partition', replicas, errs);
  errs.push(...validateNonnegative(partition, `${path}.partition`));
  errs.push(...validatePriorityStrategy(strategy.priorityStrategy, `${path}.priorityStrategy`));
  errs.push(...validateScatterStrategy(strategy.scatterStrategy, `${path}.scatterStrategy`));
  const maxUnavailable = strategy.maxUnavailable === undefined || strategy.maxUnavailable === null
    ? 0 : scaled(strategy.maxUnavailable, 'maxUnavailable', replicas, errs);
  let maxSurge = 0;
  if (strategy.maxSurge !== undefined && strategy.maxSurge !== null) {
    maxSurge = scaled(strategy.maxSurge, 'maxSurge', replicas, errs);
    if (strategy.type === 'InPlaceOnly' && maxSurge > 0) {
      errs.push(fieldError.invalid(`${path}.maxSurge`, intOrStringToString(strategy.maxSurge),
        'can not use maxSurge with strategy type InPlaceOnly'));
    }
  }
  if (replicas > 0 && maxUnavailable < 1 && maxSurge < 1) {
    errs.push(fieldError.invalid(`${path}.maxUnavailable`, strategy.maxUnavailable ?? null,
      'maxUnavailable and maxSurge should not both be less than 1'));
  }
  return errs;
}
