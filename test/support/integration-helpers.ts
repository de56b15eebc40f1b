/**
 * Small helpers shared by the API server integration tests: reading a Kubernetes Status out of a client-node
 * ApiException or a raw response, and asserting its code and reason.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

export interface StatusLike {
  kind?: string;
  status?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: { name?: string; kind?: string; group?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

/** The Status carried by a client-node ApiException (its body is a string or already parsed). */
export function statusOf(e: unknown): StatusLike & { httpCode: number } {
  const err = e as { code?: number; body?: unknown };
  let body = err.body;
  if (typeof body === 'string') {
    try { body = JSON.parse(body); } catch { body = {}; }
  }
  return { ...(body as StatusLike | undefined ?? {}), httpCode: err.code ?? 0 };
}

/** Asserts that `p` rejects with a Status of this code and reason, and returns the Status. */
export async function rejectsWithStatus(p: Promise<unknown>, code: number, reason: string): Promise<StatusLike> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a ${code} ${reason} failure, but the call succeeded`);
  const s = statusOf(caught);
  assert.equal(s.httpCode, code, `HTTP code (status ${JSON.stringify(s)})`);
  assert.equal(s.kind, 'Status');
  assert.equal(s.code, code);
  assert.equal(s.reason, reason, `reason (message: ${s.message ?? ''})`);
  return s;
}

/** Asserts a raw harness response is a Failure Status with this code and reason. */
export function assertStatus(r: { status: number; json: unknown; text: string }, code: number, reason: string): StatusLike {
  assert.equal(r.status, code, `HTTP ${r.status}: ${r.text.slice(0, 500)}`);
  const s = r.json as StatusLike;
  assert.equal(s?.kind, 'Status', r.text.slice(0, 500));
  assert.equal(s.status, 'Failure');
  assert.equal(s.code, code);
  assert.equal(s.reason, reason, s.message);
  return s;
}

/** A unique lowercase name for one test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
