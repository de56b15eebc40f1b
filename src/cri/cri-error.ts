/**
 * The one error type of the CRI boundary. It keeps the gRPC status code and the runtime's message (scrubbed of
 * credentials) and maps the code to a stable `reason` callers branch on (STYLE habit 8): `NotFound`,
 * `Unavailable`, `DeadlineExceeded`, `Unauthorized`, ... The raw grpc-js error is deliberately not kept as
 * `cause`: its message and metadata are unscrubbed.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { KruiseError } from '../api/errors.js';
import type { CriMethod } from './cri-types.js';
import type { Redactor } from './redact.js';

/** Stable reasons of CriError, one per gRPC code family. */
export type CriErrorReason =
  | 'Cancelled'
  | 'DeadlineExceeded'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Unauthorized'
  | 'Invalid'
  | 'ResourceExhausted'
  | 'FailedPrecondition'
  | 'Aborted'
  | 'Unimplemented'
  | 'Unavailable'
  | 'Internal'
  | 'Unknown';

const CODE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(GrpcStatus)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .map(([name, code]) => [code, name]),
);

export function grpcCodeName(code: number): string {
  return CODE_NAMES.get(code) ?? `CODE_${code}`;
}

/**
 * containerd answers a registry 401/403 as UNKNOWN with the HTTP status in the text (notes/containerd-for-tests.md),
 * so the boundary is the one place that reads message text to classify it.
 */
const REGISTRY_AUTH_FAILURE = /\b(401 Unauthorized|403 Forbidden|unauthorized:|authorization failed|authentication required|pull access denied)/i;

export function reasonForCode(code: number, details = ''): CriErrorReason {
  switch (code) {
    case GrpcStatus.CANCELLED: return 'Cancelled';
    case GrpcStatus.DEADLINE_EXCEEDED: return 'DeadlineExceeded';
    case GrpcStatus.NOT_FOUND: return 'NotFound';
    case GrpcStatus.ALREADY_EXISTS: return 'AlreadyExists';
    case GrpcStatus.UNAUTHENTICATED:
    case GrpcStatus.PERMISSION_DENIED: return 'Unauthorized';
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.OUT_OF_RANGE: return 'Invalid';
    case GrpcStatus.RESOURCE_EXHAUSTED: return 'ResourceExhausted';
    case GrpcStatus.FAILED_PRECONDITION: return 'FailedPrecondition';
    case GrpcStatus.ABORTED: return 'Aborted';
    case GrpcStatus.UNIMPLEMENTED: return 'Unimplemented';
    case GrpcStatus.UNAVAILABLE: return 'Unavailable';
    case GrpcStatus.INTERNAL:
    case GrpcStatus.DATA_LOSS: return 'Internal';
    default: return REGISTRY_AUTH_FAILURE.test(details) ? 'Unauthorized' : 'Unknown';
  }
}

/** Codes after which the same call may succeed unchanged. */
const RETRYABLE_CODES: ReadonlySet<number> = new Set([
  GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.ABORTED,
]);

export interface CriErrorOptions {
  method: CriMethod;
  grpcCode: number;
  /** The runtime's message (grpc `details`), already scrubbed or to be scrubbed by `redact`. */
  details: string;
  /** Attempts made, when the call was retried. */
  attempts?: number;
  redact?: Redactor;
  cause?: unknown;
}

const BRAND = Symbol.for('kruise-ts.CriError');

export class CriError extends KruiseError {
  /** The gRPC status code (`@grpc/grpc-js` `status`). */
  readonly grpcCode: number;
  /** The code's name, e.g. `UNAVAILABLE`. */
  readonly grpcCodeName: string;
  /** The runtime's message, scrubbed of credentials. */
  readonly details: string;
  readonly method: CriMethod;
  readonly attempts: number;
  declare readonly reason: CriErrorReason;

  constructor(options: CriErrorOptions) {
    const details = options.redact === undefined ? options.details : options.redact(options.details);
    const codeName = grpcCodeName(options.grpcCode);
    const attempts = options.attempts ?? 1;
    const suffix = attempts > 1 ? ` (after ${attempts} attempts)` : '';
    super(`CRI ${options.method}: ${codeName}: ${details}${suffix}`, {
      reason: reasonForCode(options.grpcCode, details),
      retryable: RETRYABLE_CODES.has(options.grpcCode),
      cause: options.cause,
    });
    this.name = 'CriError';
    this.grpcCode = options.grpcCode;
    this.grpcCodeName = codeName;
    this.details = details;
    this.method = options.method;
    this.attempts = attempts;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** Brand check that survives duplicate module copies. */
  static override is(value: unknown): value is CriError {
    return KruiseError.is(value) && (value as unknown as Record<symbol, unknown>)[BRAND] === true;
  }
}
