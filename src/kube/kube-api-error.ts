/**
 * Errors from the Kubernetes API, keeping the Status the server sent: branch on `reason` (`NotFound`, `Conflict`,
 * `Gone`/`Expired`, `TooManyRequests`, ...) or `code`, never on the message.
 */
import { KruiseError } from '../api/errors.js';

export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[]; retryAfterSeconds?: number };
}

const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict',
  410: 'Gone', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError',
  503: 'ServiceUnavailable', 504: 'Timeout',
};

export class KubeApiError extends KruiseError {
  /** HTTP status; 0 when no answer came (connection refused, reset, timed out). */
  readonly code: number;
  readonly status: ApiStatus | undefined;

  constructor(message: string, o: { code: number; reason: string; status?: ApiStatus; cause?: unknown }) {
    super(message, { reason: o.reason, retryable: o.code === 0 || o.code === 429 || o.code >= 500, ...(o.cause !== undefined ? { cause: o.cause } : {}) });
    this.name = 'KubeApiError';
    this.code = o.code;
    this.status = o.status;
  }

  static fromResponse(code: number, body: unknown): KubeApiError {
    const status = body && typeof body === 'object' && (body as ApiStatus).kind === 'Status' ? body as ApiStatus : undefined;
    const reason = status?.reason || REASON_BY_CODE[code] || (code >= 500 ? 'InternalError' : 'Unknown');
    const message = status?.message || (typeof body === 'string' && body !== '' ? body.slice(0, 500) : `the server answered ${code}`);
    return new KubeApiError(message, { code, reason, ...(status ? { status } : {}) });
  }

  static override is(value: unknown): value is KubeApiError {
    return KruiseError.is(value) && typeof (value as KubeApiError).code === 'number' && (value as KubeApiError).name === 'KubeApiError';
  }
}

export function networkError(message: string, reason = 'ConnectionError'): KubeApiError {
  return new KubeApiError(message, { code: 0, reason });
}

export const isNotFound = (e: unknown): boolean => KubeApiError.is(e) && e.code === 404;
export const isConflict = (e: unknown): boolean => KubeApiError.is(e) && e.code === 409 && e.reason === 'Conflict';
export const isAlreadyExists = (e: unknown): boolean => KubeApiError.is(e) && e.code === 409 && e.reason === 'AlreadyExists';
/** 410 Gone, or a watch ERROR event with reason Expired/Gone: the resourceVersion is too old. */
export const isGone = (e: unknown): boolean => KubeApiError.is(e) && (e.code === 410 || e.reason === 'Expired' || e.reason === 'Gone');
