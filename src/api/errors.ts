/**
 * The one error base of kruise-ts. Code branches on `reason` (a Kubernetes StatusReason or a CRI/pull reason such
 * as `ErrImagePull`), never on message text. The brand survives duplicate module copies, unlike `instanceof`.
 */
const BRAND = Symbol.for('kruise-ts.KruiseError');

export interface KruiseErrorOptions {
  /** Stable machine-readable reason, e.g. `Invalid`, `NotFound`, `ErrImagePull`. */
  reason: string;
  /** The field the error is about, in Kubernetes path form (`spec.updateStrategy.partition`). */
  fieldPath?: string;
  /** True when the same call may succeed if retried unchanged. */
  retryable?: boolean;
  cause?: unknown;
}

export class KruiseError extends Error {
  readonly reason: string;
  readonly fieldPath: string | undefined;
  readonly retryable: boolean;

  constructor(message: string, options: KruiseErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KruiseError';
    this.reason = options.reason;
    this.fieldPath = options.fieldPath;
    this.retryable = options.retryable ?? false;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static is(value: unknown): value is KruiseError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
