/**
 * An error the API server answers with a `Status` object (reason, code, details, causes), as Kubernetes does.
 * Everything below the HTTP layer throws these; the HTTP layer is the only place that renders them.
 */
import { KruiseError } from '../../api/errors.js';
import type { FieldError } from '../../api/field-errors.js';
import { aggregateMessage, fieldErrorBody } from '../../api/field-errors.js';

export type StatusReason =
  | 'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Gone' | 'Invalid'
  | 'MethodNotAllowed' | 'NotAcceptable' | 'RequestEntityTooLarge' | 'UnsupportedMediaType' | 'Timeout'
  | 'TooManyRequests' | 'InternalError' | 'Expired' | 'ServiceUnavailable';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: StatusReason | '';
  details?: StatusDetails;
  code: number;
}

export class ApiError extends KruiseError {
  readonly code: number;
  readonly details: StatusDetails | undefined;
  declare readonly reason: StatusReason;

  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails) {
    super(message, { reason, retryable: code === 409 || code === 429 || code >= 500 });
    this.name = 'ApiError';
    this.code = code;
    this.details = details;
  }

  toStatus(): Status {
    return {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: this.message, reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }

  static override is(value: unknown): value is ApiError {
    return KruiseError.is(value) && typeof (value as ApiError).code === 'number' && typeof (value as ApiError).toStatus === 'function';
  }
}

/** `group` is the API group, `resource` the plural (Kubernetes puts the plural in `details.kind`). */
export interface GroupResource { group: string; resource: string }

function qualified(gr: GroupResource): string {
  return gr.group === '' ? gr.resource : `${gr.resource}.${gr.group}`;
}

export const apiErrors = {
  notFound: (gr: GroupResource, name: string) =>
    new ApiError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, { name, group: gr.group, kind: gr.resource }),
  alreadyExists: (gr: GroupResource, name: string) =>
    new ApiError(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, { name, group: gr.group, kind: gr.resource }),
  conflict: (gr: GroupResource, name: string, why: string) =>
    new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`,
      { name, group: gr.group, kind: gr.resource }),
  /** 422 with one cause per field error; `kind` here is the Kind (Kubernetes uses the GroupKind for Invalid). */
  invalid: (group: string, kind: string, name: string, errors: readonly FieldError[]) => {
    const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
    return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${aggregateMessage(errors)}`, {
      name, group, kind,
      causes: errors.map((e) => ({ reason: e.type, message: fieldErrorBody(e), field: e.field })),
    });
  },
  badRequest: (message: string) => new ApiError(400, 'BadRequest', message),
  forbidden: (gr: GroupResource, name: string, why: string) =>
    new ApiError(403, 'Forbidden', `${qualified(gr)} "${name}" is forbidden: ${why}`, { name, group: gr.group, kind: gr.resource }),
  methodNotAllowed: (message: string) => new ApiError(405, 'MethodNotAllowed', message),
  gone: (message: string) => new ApiError(410, 'Expired', message),
  tooLarge: (message: string) => new ApiError(413, 'RequestEntityTooLarge', message),
  unsupportedMediaType: (contentType: string) =>
    new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (kubectl create generators), application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json; got ${contentType}`),
  unauthorized: () => new ApiError(401, 'Unauthorized', 'Unauthorized'),
  internal: (message: string) => new ApiError(500, 'InternalError', `Internal error occurred: ${message}`),
  timeout: (message: string) => new ApiError(504, 'Timeout', message),
};

