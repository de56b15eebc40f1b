/**
 * Write helpers for controllers (habit 13: writes are minimal):
 * - `retryOnConflict` re-runs a read-modify-write on 409 Conflict with client-go's `retry.DefaultRetry` backoff
 *   (5 steps of 10 ms, factor 1, jitter 0.1): conflicts are expected between our own workers and other
 *   controllers, and a short retry on a fresh read is cheaper than a requeue.
 * - `updateWithRetry` / `updateStatusWithRetry` are the read-mutate-write loops built on it. The mutation gets a
 *   fresh copy of the object read from the API (never the cache's, habit 14), may return `undefined` for "no
 *   change", and is re-applied to a re-read object after each conflict, so it must be a pure function of its input.
 * - `mergePatch` / `jsonPatch` are thin typed wrappers; a JSON patch can carry a `test` of
 *   `/metadata/resourceVersion` for optimistic concurrency without a full PUT.
 * Every wait (request or backoff sleep) takes the caller's signal (habit 5).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../api/meta.js';
import { isConflict } from './kube-api-error.js';
import type { KubeClient } from './kube-client.js';
import type { ResourceRef } from './resource-ref.js';

/** wait.Backoff as client-go's retry package uses it. */
export interface RetryBackoff {
  /** Attempts in total (client-go `Steps`), the first one immediate. @default 5 */
  attempts: number;
  /** Sleep before the second attempt. @default 10 */
  initialDelayMs: number;
  /** Multiplier of the sleep after each failed attempt. @default 1 */
  factor: number;
  /** Each sleep is lengthened by up to this fraction of itself, at random. @default 0.1 */
  jitter: number;
  /** Upper bound of one sleep (clamped to Node's timer limit). @default 30000 */
  capMs: number;
}

/** client-go `retry.DefaultRetry`. */
export const DEFAULT_RETRY: Readonly<RetryBackoff> = Object.freeze({ attempts: 5, initialDelayMs: 10, factor: 1, jitter: 0.1, capMs: 30_000 });

export interface RetryOptions extends Partial<RetryBackoff> {
  signal?: AbortSignal;
  /** Which errors are retried. @default isConflict */
  retriable?: (e: unknown) => boolean;
  /** For tests. @default Math.random */
  random?: () => number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function compileBackoff(o: Partial<RetryBackoff>): RetryBackoff {
  const b = { ...DEFAULT_RETRY, ...definedOnly(o) };
  if (!Number.isInteger(b.attempts) || b.attempts < 1) throw new RangeError(`attempts must be a positive integer, got ${b.attempts}`);
  if (!(b.initialDelayMs >= 0) || !(b.factor >= 1) || !(b.jitter >= 0) || !(b.capMs >= 0)) {
    throw new RangeError(`invalid backoff ${JSON.stringify(b)}`);
  }
  return b;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Runs `fn` until it succeeds, throws an error that is not retriable (default: anything but a 409 Conflict), or
 * the attempts run out (then the last error is thrown, as client-go does). `fn` gets the attempt number from 1.
 */
export async function retryOnConflict<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const b = compileBackoff(o);
  const retriable = o.retriable ?? isConflict;
  const random = o.random ?? Math.random;
  let delay = b.initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    o.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (e) {
      // Aborted while the attempt ran: the caller asked to stop, which matters more than why the attempt failed.
      o.signal?.throwIfAborted();
      if (attempt >= b.attempts || !retriable(e)) throw e;
    }
    const jittered = Math.min(b.capMs, delay + (b.jitter > 0 ? random() * b.jitter * delay : 0), MAX_TIMER_MS);
    try {
      await sleep(jittered, undefined, { ref: false, ...(o.signal ? { signal: o.signal } : {}) });
    } catch (e) {
      // timers/promises wraps the reason in an AbortError; callers get the reason they aborted with.
      o.signal?.throwIfAborted();
      throw e;
    }
    delay = Math.min(delay * b.factor, b.capMs);
  }
}

/** What a mutation returns: the changed object, or `undefined` when nothing needs writing. */
export type Mutation<T extends KubeObject> = (obj: T) => T | undefined | Promise<T | undefined>;

export type WriteOptions = RetryOptions;

function toOptions(o: AbortSignal | WriteOptions | undefined): WriteOptions {
  if (o === undefined) return {};
  return o instanceof AbortSignal ? { signal: o } : o;
}

/**
 * GET, mutate, PUT; on conflict re-reads and re-applies `mutate`. Returns the object as written, or as read when
 * `mutate` returned `undefined` (nothing written). Errors other than Conflict (NotFound included) are thrown.
 */
export async function updateWithRetry<T extends KubeObject>(
  client: KubeClient, ref: ResourceRef, namespace: string, name: string, mutate: Mutation<T>, options?: AbortSignal | WriteOptions,
): Promise<T> {
  const o = toOptions(options);
  const signal = o.signal;
  return retryOnConflict(async () => {
    const current = await client.get<T>(ref, namespace, name, signal);
    const next = await mutate(structuredClone(current));
    if (next === undefined) return current;
    return client.update<T>(ref, withIdentity(next, current), signal);
  }, o);
}

/**
 * Like `updateWithRetry`, through the `/status` subresource, and skipped (no request) when the mutated status is
 * deep-equal to the one read: most reconciles end with an unchanged status (habit 13; Kruise's daemon
 * `statusUpdater` does the same).
 */
export async function updateStatusWithRetry<T extends KubeObject>(
  client: KubeClient, ref: ResourceRef, namespace: string, name: string, mutate: Mutation<T>, options?: AbortSignal | WriteOptions,
): Promise<T> {
  const o = toOptions(options);
  const signal = o.signal;
  return retryOnConflict(async () => {
    const current = await client.get<T>(ref, namespace, name, signal);
    const next = await mutate(structuredClone(current));
    if (next === undefined || isDeepStrictEqual(next.status, current.status)) return current;
    return client.updateStatus<T>(ref, withIdentity(next, current), signal);
  }, o);
}

/**
 * The write must carry the resourceVersion that was read, so a concurrent change is a 409 and not a lost update,
 * whatever the mutation did to metadata.
 */
function withIdentity<T extends KubeObject>(next: T, read: T): T {
  return { ...next, metadata: { ...next.metadata, namespace: read.metadata.namespace, name: read.metadata.name, resourceVersion: read.metadata.resourceVersion } };
}

export interface PatchOptions {
  subresource?: 'status';
  signal?: AbortSignal;
}

/** RFC 7386 merge patch: `null` deletes a key; lists are replaced whole. */
export function mergePatch<T extends KubeObject = KubeObject>(
  client: KubeClient, ref: ResourceRef, namespace: string, name: string, patch: Record<string, unknown>, o: PatchOptions = {},
): Promise<T> {
  return client.patch<T>(ref, namespace, name, 'merge', patch, o);
}

/** One RFC 6902 operation. Paths are JSON pointers (`~1` for `/`, `~0` for `~`); see `jsonPointer`. */
export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

/** RFC 6902 JSON patch; the whole list applies or none of it. */
export function jsonPatch<T extends KubeObject = KubeObject>(
  client: KubeClient, ref: ResourceRef, namespace: string, name: string, ops: readonly JsonPatchOp[], o: PatchOptions = {},
): Promise<T> {
  return client.patch<T>(ref, namespace, name, 'json', ops, o);
}

/** Builds a JSON pointer from path segments, escaping `~` and `/` (label keys such as `apps.kruise.io/x`). */
export function jsonPointer(...segments: readonly (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

/** A `test` op that makes the whole JSON patch fail unless the object is still at `resourceVersion`. */
export function testResourceVersion(resourceVersion: string): JsonPatchOp {
  return { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion };
}
