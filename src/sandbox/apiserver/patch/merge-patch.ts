/**
 * JSON merge patch (RFC 7386, `application/merge-patch+json`), plus the small JSON helpers the other patch
 * formats share. Everything here is pure: inputs are never mutated and results share no objects with them.
 *
 * Keys are written with `defineProperty`, never `obj[key] = v`, so a document or patch carrying a `__proto__`
 * member (JSON.parse makes it an own property) stays data and cannot change an object's prototype.
 */
import { apiErrors } from '../api-error.js';

export type JsonObject = { [key: string]: unknown };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets an own, enumerable data property, whatever the key (`__proto__` included). */
export function setOwn(obj: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

export function getOwn(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** A deep copy of a JSON value (own enumerable keys only; `__proto__` keys kept as data). */
export function cloneJson<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => cloneJson(x)) as T;
  if (isJsonObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v)) setOwn(out, k, cloneJson(v[k]));
    return out as T;
  }
  return v;
}

/** JSON equality: arrays in order, objects by key set, numbers by value (so 0 equals -0, as in JSON). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Merges `patch` into `target`, which it may change in place (it is always our own copy). */
function mergeInto(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return cloneJson(patch);
  const out: JsonObject = isJsonObject(target) ? target : {};
  for (const k of Object.keys(patch)) {
    const v = patch[k];
    if (v === null) delete out[k];
    else setOwn(out, k, mergeInto(getOwn(out, k), v));
  }
  return out;
}

/**
 * Applies `patch` to `original` per RFC 7386: objects merge recursively, `null` deletes a member, anything else
 * (arrays included) replaces. The result shares nothing with either input.
 */
export function applyMergePatch(original: unknown, patch: unknown): unknown {
  return mergeInto(cloneJson(original), patch);
}

/**
 * Applies a merge patch received over HTTP: the body must be a JSON object (Kubernetes refuses anything else for
 * an object resource) and the result is an object.
 */
export function applyMergePatchToObject(original: JsonObject, patch: unknown): JsonObject {
  if (!isJsonObject(patch)) throw apiErrors.badRequest('merge patch must be a JSON object');
  return applyMergePatch(original, patch) as JsonObject;
}

/**
 * The merge patch that turns `from` into `to` (`applyMergePatch(from, createMergePatch(from, to))` equals `to`).
 * Limitation of RFC 7386 itself: an object member whose value in `to` is `null` cannot be expressed (null means
 * delete), so such members are absent from the result instead.
 */
export function createMergePatch(from: unknown, to: unknown): unknown {
  if (!isJsonObject(from) || !isJsonObject(to)) return cloneJson(to);
  const patch: JsonObject = {};
  for (const k of Object.keys(from)) {
    if (!Object.hasOwn(to, k)) setOwn(patch, k, null);
  }
  for (const k of Object.keys(to)) {
    const a = getOwn(from, k);
    const b = to[k];
    if (Object.hasOwn(from, k) && jsonEqual(a, b)) continue;
    if (isJsonObject(a) && isJsonObject(b)) setOwn(patch, k, createMergePatch(a, b));
    else setOwn(patch, k, cloneJson(b));
  }
  return patch;
}
