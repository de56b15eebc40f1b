/**
 * The Status errors the admission chain answers with, shaped as the kube-apiserver 1.32 shapes them
 * (webhook/errors.ToStatusErr, apierrors.NewInternalError, NewBadRequest, NewTimeoutError), so kubectl prints
 * the same `Error from server …` line.
 */
import { KruiseError } from '../../../api/errors.js';
import { ApiError, type StatusDetails, type StatusReason } from '../api-error.js';
import type { ResultStatus } from './review.js';

/**
 * An ApiError plus the warnings webhooks returned before the request failed: the kube-apiserver sends those
 * `Warning` headers with the error response too.
 */
export class AdmissionError extends ApiError {
  readonly warnings: readonly string[];

  constructor(error: ApiError, warnings: readonly string[]) {
    super(error.code, error.reason, error.message, error.details);
    this.name = 'AdmissionError';
    this.warnings = Object.freeze([...warnings]);
  }
}

/**
 * A webhook's denial. The webhook's Status is kept (reason, details); the message is prefixed with who denied,
 * a missing or < 400 code becomes 400, as in Kubernetes 1.32. (Later releases default to 403 and add a
 * `<resource> "<name>" is forbidden:` prefix; kubectl 1.32 talks to 1.32 servers.)
 */
export function webhookDenial(webhookName: string, result: ResultStatus | undefined): ApiError {
  const deniedBy = `admission webhook ${JSON.stringify(webhookName)} denied the request`;
  const message = typeof result?.message === 'string' ? result.message : '';
  const reason = typeof result?.reason === 'string' ? result.reason : '';
  const text = message !== '' ? `${deniedBy}: ${message}` : reason !== '' ? `${deniedBy}: ${reason}` : `${deniedBy} without explanation`;
  const rawCode = typeof result?.code === 'number' && Number.isInteger(result.code) ? result.code : 0;
  const code = rawCode < 400 ? 400 : rawCode;
  const details = typeof result?.details === 'object' && result.details !== null && !Array.isArray(result.details)
    ? structuredClone(result.details) as StatusDetails
    : undefined;
  // The reason is the webhook's own word and is passed through unchecked, as Kubernetes does.
  return new ApiError(code, reason as StatusReason, text, details);
}

/** `failed calling webhook "<name>": <why>` (webhookutil.ErrCallingWebhook.Error). */
export function callingWebhookMessage(webhookName: string, why: string): string {
  return `failed calling webhook ${JSON.stringify(webhookName)}: ${why}`;
}

/** apierrors.NewInternalError: 500 with the error text repeated as the only cause. */
export function internalError(text: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${text}`, { causes: [{ message: text }] });
}

/** A webhook could not be called and its failurePolicy is Fail. */
export function webhookCallFailure(webhookName: string, why: string): ApiError {
  return internalError(callingWebhookMessage(webhookName, why));
}

/** A dry-run request reached a webhook that declares side effects (not subject to failurePolicy). */
export function dryRunUnsupported(webhookName: string): ApiError {
  return new ApiError(400, 'BadRequest', `admission webhook ${JSON.stringify(webhookName)} does not support dry run`);
}

/** The whole request's deadline passed while webhooks were being called. */
export function requestTimedOut(): ApiError {
  return new ApiError(504, 'Timeout', 'Timeout: request did not complete within requested timeout', { retryAfterSeconds: 0 });
}

export type WebhookCallFailureKind =
  /** The configuration cannot be turned into a call (no url, bad caBundle, no v1 review version…). */
  | 'Setup'
  /** Connecting, TLS, the request or reading the response failed, or the webhook answered non-2xx. */
  | 'Transport'
  /** The per-webhook timeout (timeoutSeconds) expired. */
  | 'Timeout'
  /** The caller's signal aborted the call. */
  | 'Canceled'
  /** The response was not a valid AdmissionReview for this request. */
  | 'InvalidResponse';

/**
 * A webhook call that did not produce a usable answer: the chain fails open or closed on it per failurePolicy.
 * `message` is the text after `failed calling webhook "<name>": `.
 */
export class WebhookCallError extends KruiseError {
  readonly failure: WebhookCallFailureKind;

  constructor(failure: WebhookCallFailureKind, message: string, cause?: unknown) {
    super(message, { reason: 'ServiceUnavailable', retryable: failure !== 'Setup', cause });
    this.name = 'WebhookCallError';
    this.failure = failure;
  }

  static override is(value: unknown): value is WebhookCallError {
    return KruiseError.is(value) && typeof (value as WebhookCallError).failure === 'string';
  }
}
