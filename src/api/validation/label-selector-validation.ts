/**
 * metav1 `ValidateLabelSelector` plus the value checks `LabelSelectorAsSelector` makes, as field errors. Also the
 * two selector predicates validation needs (does a selector match a label set; can two selectors overlap), kept
 * here so the contract layer does not depend on the runtime selector code in `label-selector.ts`.
 */
import { fieldError, aggregateMessage, type FieldError } from '../field-errors.js';
import type { LabelSelector } from '../meta.js';
import { isQualifiedName, isValidLabelValue, validateLabels } from './k8s-validation.js';

export function validateLabelSelector(sel: LabelSelector | undefined | null, path: string): FieldError[] {
  if (!sel) return [];
  const errs: FieldError[] = [];
  (sel.matchExpressions ?? []).forEach((req, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          errs.push(fieldError.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          errs.push(fieldError.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        }
        break;
      default:
        errs.push(fieldError.invalid(`${p}.operator`, req.operator, 'not a valid selector operator'));
    }
    for (const m of isQualifiedName(req.key ?? '')) errs.push(fieldError.invalid(`${p}.key`, req.key, m));
    values.forEach((v, j) => {
      for (const m of isValidLabelValue(v)) errs.push(fieldError.invalid(`${p}.values[${j}]`, v, m));
    });
  });
  errs.push(...validateLabels(sel.matchLabels, `${path}.matchLabels`));
  return errs;
}

/** The text `LabelSelectorAsSelector` would fail with, or undefined; for messages like `invalid selector: …`. */
export function labelSelectorError(sel: LabelSelector | undefined | null, path = 'selector'): string | undefined {
  const errs = validateLabelSelector(sel, path);
  return errs.length === 0 ? undefined : aggregateMessage(errs);
}

export function isEmptySelector(sel: LabelSelector): boolean {
  return Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0;
}

/** Whether a (valid) selector matches a label set; an empty selector matches everything. */
export function selectorMatchesLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const req of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In': if (!has || !values.includes(l[req.key]!)) return false; break;
      case 'NotIn': if (has && values.includes(l[req.key]!)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

const ALL = Symbol('all values');

/** One direction of upstream's `isDisjoint` (pkg/util/selector.go): can `b` exclude everything `a` selects? */
function isDisjoint(a: LabelSelector, b: LabelSelector): boolean {
  const allowed = new Map<string, (string | typeof ALL)[]>();
  for (const [k, v] of Object.entries(a.matchLabels ?? {})) allowed.set(k, [v]);
  for (const req of a.matchExpressions ?? []) {
    if (req.operator === 'In') allowed.set(req.key, [...(allowed.get(req.key) ?? []), ...(req.values ?? [])]);
    else if (req.operator === 'Exists') allowed.set(req.key, [ALL]);
  }
  for (const [k, v] of Object.entries(b.matchLabels ?? {})) {
    const values = allowed.get(k);
    if (values && !values.includes(ALL) && !values.includes(v)) return true;
  }
  for (const req of b.matchExpressions ?? []) {
    const values = allowed.get(req.key);
    const reqValues = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (values && !values.includes(ALL) && !reqValues.some((v) => values.includes(v))) return true;
        break;
      case 'NotIn':
        if (values && values.every((v) => v !== ALL && reqValues.includes(v))) return true;
        break;
      case 'Exists':
        if (!values) return true;
        break;
      case 'DoesNotExist':
        if (values) return true;
        break;
    }
  }
  return false;
}

/** Upstream `IsSelectorOverlapping`: true unless one selector provably excludes the other's Pods. */
export function selectorsOverlap(a: LabelSelector, b: LabelSelector): boolean {
  return !(isDisjoint(a, b) || isDisjoint(b, a));
}
