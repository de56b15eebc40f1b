/**
 * Kubernetes-style field errors (apimachinery's field.Error), rendered exactly as the API server renders them, so
 * that users see `spec.parallelism: Invalid value: -1: must be >= 0` whether the check ran in our webhook, in
 * the sandbox API server or in a CLI.
 */

/** The `type` of a StatusCause, as Kubernetes names them. */
export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueTypeInvalid'
  | 'InternalError';

export interface FieldError {
  type: FieldErrorType;
  /** Dotted path with indexes and keys, e.g. `spec.containers[0].image`, `metadata.labels[app]`. */
  field: string;
  /** The offending value; omitted for Required and Forbidden, as Kubernetes prints none for them. */
  badValue?: unknown;
  detail?: string;
}

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueTypeInvalid: 'Invalid value',
  InternalError: 'Internal error',
};

/** Go's %#v-like rendering used by field.Error: strings quoted, numbers and booleans bare, objects as JSON. */
export function renderBadValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

export function fieldErrorMessage(e: FieldError): string {
  const parts = [`${e.field}: ${TYPE_TEXT[e.type]}`];
  const hasValue = e.type !== 'FieldValueRequired' && e.type !== 'FieldValueForbidden' &&
    e.type !== 'FieldValueTooLong' && e.type !== 'FieldValueTooMany' && e.type !== 'InternalError' &&
    'badValue' in e;
  let text = parts[0]!;
  if (hasValue) text += `: ${renderBadValue(e.badValue)}`;
  if (e.detail !== undefined && e.detail !== '') text += `: ${e.detail}`;
  return text;
}

/** apimachinery's `ErrorBody()`: the text without the `field: ` prefix, what a Status cause's `message` carries. */
export function fieldErrorBody(e: FieldError): string {
  const full = fieldErrorMessage(e);
  return full.startsWith(`${e.field}: `) ? full.slice(e.field.length + 2) : full;
}

/** Joins several errors the way apimachinery's aggregate does: one alone as is, several as `[a, b]`. */
export function aggregateMessage(errors: readonly FieldError[]): string {
  const msgs = errors.map(fieldErrorMessage);
  if (msgs.length === 1) return msgs[0]!;
  return `[${msgs.join(', ')}]`;
}

/** Builders, so callers read like Kubernetes validation code. */
export const fieldError = {
  required: (field: string, detail?: string): FieldError => ({ type: 'FieldValueRequired', field, ...(detail ? { detail } : {}) }),
  invalid: (field: string, badValue: unknown, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, badValue, detail }),
  notSupported: (field: string, badValue: unknown, valid: readonly string[]): FieldError => ({
    type: 'FieldValueNotSupported', field, badValue,
    detail: `supported values: ${valid.map((v) => JSON.stringify(v)).join(', ')}`,
  }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail }),
  duplicate: (field: string, badValue: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, badValue }),
  notFound: (field: string, badValue: unknown): FieldError => ({ type: 'FieldValueNotFound', field, badValue }),
  tooLong: (field: string, maxLength: number): FieldError => ({ type: 'FieldValueTooLong', field, detail: `must have at most ${maxLength} bytes` }),
  typeInvalid: (field: string, badValue: unknown, detail: string): FieldError => ({ type: 'FieldValueTypeInvalid', field, badValue, detail }),
};
