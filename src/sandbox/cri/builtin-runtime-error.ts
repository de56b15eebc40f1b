/**
 * Errors of the built-in runtime. Each carries the gRPC status code containerd 1.6 would answer with and a message
 * worded like containerd's (notes/containerd-for-tests.md; containerd `pkg/cri/server`, v1.6.20). containerd maps
 * errors to codes in one place (`errdefs.ToGRPC`): wrapped `ErrNotFound` is NOT_FOUND, a context deadline is
 * DEADLINE_EXCEEDED, and a plain `fmt.Errorf` — most state errors ("container is in CONTAINER_EXITED state") — is
 * UNKNOWN. The gRPC adapter and the in-process client pass code and message through unchanged.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { KruiseError } from '../../api/errors.js';
import { reasonForCode } from '../../cri/cri-error.js';

const BRAND = Symbol.for('kruise-ts.BuiltinRuntimeError');

export class BuiltinRuntimeError extends KruiseError {
  /** `@grpc/grpc-js` `status` code sent to the client. */
  readonly grpcCode: number;

  constructor(grpcCode: number, message: string) {
    super(message, { reason: reasonForCode(grpcCode, message), retryable: false });
    this.name = 'BuiltinRuntimeError';
    this.grpcCode = grpcCode;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override is(value: unknown): value is BuiltinRuntimeError {
    return KruiseError.is(value) && (value as unknown as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** containerd's `errdefs.ErrNotFound` text is `not found`; callers give the wrapping context. */
export function notFound(context: string): BuiltinRuntimeError {
  return new BuiltinRuntimeError(GrpcStatus.NOT_FOUND, `${context}: not found`);
}

/** A plain error in containerd: code UNKNOWN. */
export function unknown(message: string): BuiltinRuntimeError {
  return new BuiltinRuntimeError(GrpcStatus.UNKNOWN, message);
}

export function deadlineExceeded(message: string): BuiltinRuntimeError {
  return new BuiltinRuntimeError(GrpcStatus.DEADLINE_EXCEEDED, message);
}

/** The caller went away (client deadline or cancel): what containerd answers is never seen, gRPC reports CANCELLED. */
export function cancelled(message = 'context canceled'): BuiltinRuntimeError {
  return new BuiltinRuntimeError(GrpcStatus.CANCELLED, message);
}

export function invalidArgument(message: string): BuiltinRuntimeError {
  return new BuiltinRuntimeError(GrpcStatus.INVALID_ARGUMENT, message);
}
