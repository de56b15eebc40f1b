/**
 * Checks shared by the workload update strategies: priority and scatter strategies (upstream `FieldsValidation`,
 * whose plain messages upstream wraps as `Required` errors on the strategy's path) and apps
 * `ValidatePositiveIntOrPercent` (SidecarSet partition / maxUnavailable).
 */
import { fieldError, type FieldError } from '../field-errors.js';
import type { IntOrString } from '../meta.js';
import type { UpdatePriorityStrategy, UpdateScatterStrategy } from '../workload-common-types.js';
import { INVALID_PERCENT_MESSAGE, isValidPercent } from '../int-or-string.js';
import { isEmptySelector, labelSelectorError } from './label-selector-validation.js';
import { validateNonnegative } from './k8s-validation.js';

/** Upstream `UpdatePriorityStrategy.FieldsValidation`: the first problem's message, or undefined. */
export function priorityStrategyProblem(strategy: UpdatePriorityStrategy | undefined | null): string | undefined {
  if (!strategy) return undefined;
  const weights = strategy.weightPriority ?? [];
  const orders = strategy.orderPriority ?? [];
  if (weights.length > 0 && orders.length > 0) return 'only one of weightPriority and orderPriority can be used';
  for (const w of weights) {
    if (w.weight < 0 || w.weight > 100) return 'weight must be valid number in the range 1-100';
    if (!w.matchSelector || isEmptySelector(w.matchSelector)) return 'selector can not be empty';
    const err = labelSelectorError(w.matchSelector, 'matchSelector');
    if (err) return `invalid selector ${err}`;
  }
  for (const o of orders) if (!o.orderedKey) return 'order key can not be empty';
  return undefined;
}

export function validatePriorityStrategy(strategy: UpdatePriorityStrategy | undefined | null, path: string): FieldError[] {
  const problem = priorityStrategyProblem(strategy);
  return problem ? [fieldError.required(path, problem)] : [];
}

/** Upstream `UpdateScatterStrategy.FieldsValidation`: the first problem's message, or undefined. */
export function scatterStrategyProblem(strategy: UpdateScatterStrategy | undefined | null): string | undefined {
  const seen = new Set<string>();
  for (const term of strategy ?? []) {
    if (!term.key) return 'key should not be empty';
    const id = `${term.key}:${term.value}`;
    if (seen.has(id)) return `duplicated key=${term.key} value=${term.value}`;
    seen.add(id);
  }
  return undefined;
}

export function validateScatterStrategy(strategy: UpdateScatterStrategy | undefined | null, path: string): FieldError[] {
  const problem = scatterStrategyProblem(strategy);
  return problem ? [fieldError.required(path, problem)] : [];
}

/** apps `ValidatePositiveIntOrPercent`: a non-negative integer or an `N%` string. */
export function validatePositiveIntOrPercent(v: IntOrString, path: string): FieldError[] {
  if (typeof v === 'string') return isValidPercent(v) ? [] : [fieldError.invalid(path, v, INVALID_PERCENT_MESSAGE)];
  return validateNonnegative(v, path);
}
