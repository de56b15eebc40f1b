/**
 * An RFC 6902 JSON patch from one JSON document to another, for mutating webhooks (upstream uses
 * gomodules.xyz/jsonpatch via controller-runtime's PatchResponseFromRaw; this is our own, smaller one).
 *
 * Objects are diffed key by key (removals, then changes and additions, in key order); arrays of equal length
 * element by element; arrays whose length changed are replaced whole, which is always correct and keeps the
 * patch free of index arithmetic. Values are compared as JSON, so `undefined` members count as absent, as they
 * would after serialisation. Applying `jsonPatchDiff(a, b)` to `a` gives `b` (property-tested).
 */
import { isRecord, type JsonPatchOperation } from './types.js';

/** RFC 6901 escaping of one reference token. */
export function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function jsonPatchDiff(from: unknown, to: unknown): JsonPatchOperation[] {
  const ops: JsonPatchOperation[] = [];
  diffValue(toJson(from), toJson(to), '', ops);
  return ops;
}

/** The value as JSON would carry it (drops undefined members, turns NaN into null, ...). */
function toJson(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value)) as unknown;
}

function diffValue(a: unknown, b: unknown, path: string, ops: JsonPatchOperation[]): void {
  if (isRecord(a) && isRecord(b)) {
    diffObject(a, b, path, ops);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) {
      ops.push({ op: 'replace', path, value: b });
      return;
    }
    for (let i = 0; i < a.length; i++) diffValue(a[i], b[i], `${path}/${i}`, ops);
    return;
  }
  if (!jsonEqual(a, b)) ops.push({ op: 'replace', path, value: b });
}

function diffObject(a: Record<string, unknown>, b: Record<string, unknown>, path: string, ops: JsonPatchOperation[]): void {
  for (const key of Object.keys(a).sort()) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) ops.push({ op: 'remove', path: `${path}/${escapePointerToken(key)}` });
  }
  for (const key of Object.keys(b).sort()) {
    const child = `${path}/${escapePointerToken(key)}`;
    if (!Object.prototype.hasOwnProperty.call(a, key)) ops.push({ op: 'add', path: child, value: b[key] });
    else diffValue(a[key], b[key], child, ops);
  }
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = Object.keys(ao);
  return keys.length === Object.keys(bo).length && keys.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual(ao[k], bo[k]));
}
