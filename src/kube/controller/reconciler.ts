/**
 * The reconcile contract (A1): a reconcile takes a key (`namespace/name`, or `name` for cluster-scoped objects),
 * reads the cache, acts, and either resolves (done, or requeue after a delay) or throws (retried with backoff).
 */
import type { Logger } from 'pino';
import { KruiseError } from '../../api/errors.js';

export interface ReconcileContext {
  /** Aborted when the reconcile timeout passes or the controller's shutdown grace runs out. */
  signal: AbortSignal;
  /** Carries `controller`, `key` and `reconcileId`. */
  logger: Logger;
  /** Unique per reconcile call; ties together its log lines. */
  reconcileId: string;
}

export interface ReconcileResult {
  /**
   * Reconcile the key again after this many ms even if nothing changes (for time-based work: minReadySeconds,
   * expectation timeouts, polling). Clears the key's failure backoff. Absent or ≤ 0: done.
   */
  requeueAfterMs?: number;
}

export interface Reconciler {
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void>;
}

const TERMINAL_BRAND = Symbol.for('kruise-ts.TerminalError');

/**
 * An error that retrying cannot fix (an invalid spec, a missing prerequisite that only a user can add). The
 * controller logs and counts it but does not requeue the key; the next change of the object reconciles it again.
 */
export class TerminalError extends KruiseError {
  constructor(message: string, o: { reason?: string; fieldPath?: string; cause?: unknown } = {}) {
    super(message, {
      reason: o.reason ?? 'Terminal',
      retryable: false,
      ...(o.fieldPath !== undefined ? { fieldPath: o.fieldPath } : {}),
      ...(o.cause !== undefined ? { cause: o.cause } : {}),
    });
    this.name = 'TerminalError';
    Object.defineProperty(this, TERMINAL_BRAND, { value: true });
  }

  /** Brand check that survives duplicate module copies, unlike `instanceof`. */
  static override is(value: unknown): value is TerminalError {
    return KruiseError.is(value) && (value as unknown as Record<symbol, unknown>)[TERMINAL_BRAND] === true;
  }
}
