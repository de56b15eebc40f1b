/**
 * Building AdmissionResponses the way controller-runtime's helpers do (`admission.Allowed`, `admission.Errored`,
 * `admission.PatchResponseFromRaw`), so the kube-apiserver shows the same `admission webhook "<name>" denied the
 * request: <message>` texts as OpenKruise.
 */
import { aggregateMessage, fieldErrorBody, type FieldError } from '../../api/index.js';
import { jsonPatchDiff } from './json-patch-diff.js';
import { DecodeError, type AdmissionResponse } from './types.js';

const REASONS: Record<number, string> = {
  400: 'BadRequest', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 422: 'Invalid', 500: 'InternalError', 504: 'Timeout',
};

export function allowed(warnings: readonly string[] = []): AdmissionResponse {
  return { allowed: true, ...(warnings.length > 0 ? { warnings: [...warnings] } : {}) };
}

/** `admission.Errored(code, err)`: denied with the code and the message as is. */
export function errored(code: number, message: string, warnings: readonly string[] = []): AdmissionResponse {
  const reason = REASONS[code];
  return {
    allowed: false,
    status: { code, message, ...(reason ? { reason } : {}) },
    ...(warnings.length > 0 ? { warnings: [...warnings] } : {}),
  };
}

/**
 * Denied with field errors: the message is apimachinery's aggregate (`a` or `[a, b]`), as upstream's
 * `admission.Errored(code, errs.ToAggregate())` prints it; the errors are also given as Status causes, so clients
 * that read `details.causes` (kubectl does) see each field.
 */
export function fieldErrorsDenied(code: number, errors: readonly FieldError[], warnings: readonly string[] = []): AdmissionResponse {
  const response = errored(code, aggregateMessage(errors), warnings);
  response.status!.details = { causes: errors.map((e) => ({ type: e.type, field: e.field, message: fieldErrorBody(e) })) };
  return response;
}

/** `admission.PatchResponseFromRaw(original, defaulted)`: allowed, with the JSON patch between the two. */
export function patched(original: unknown, defaulted: unknown, warnings: readonly string[] = []): AdmissionResponse {
  const patch = jsonPatchDiff(original, defaulted);
  return { ...allowed(warnings), ...(patch.length > 0 ? { patch } : {}) };
}

/**
 * Runs a handler body, answering a DecodeError (the object is not the kind's JSON shape) with upstream's 400;
 * any other error propagates to the server, which denies with its message.
 */
export async function withDecode(fn: () => AdmissionResponse | Promise<AdmissionResponse>): Promise<AdmissionResponse> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof DecodeError) return errored(400, e.message);
    throw e;
  }
}
