/**
 * RFC 6902 JSON Patch from a mutating webhook: decoded (a failure is a call failure, as in the kube-apiserver)
 * and applied to a copy of the object (a failure is an internal error regardless of failurePolicy, also as in
 * the kube-apiserver, which only reaches apply after it accepted the response).
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { KubeObject } from '../../../api/meta.js';

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** Parses the patch bytes into operations; throws with the reason when it is not a JSON Patch document. */
export function decodeJsonPatch(bytes: Buffer): Operation[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new Error(`invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(parsed)) throw new Error('a JSON patch must be an array of operations');
  parsed.forEach((op: unknown, i) => {
    if (typeof op !== 'object' || op === null || Array.isArray(op)) throw new Error(`operation ${i} is not an object`);
    const o = op as Record<string, unknown>;
    // fast-json-patch also knows a private `_get`; only RFC 6902 operations are accepted from a webhook.
    if (typeof o['op'] !== 'string' || !OPS.has(o['op'])) throw new Error(`operation ${i} has unsupported op ${JSON.stringify(o['op'])}`);
    if (typeof o['path'] !== 'string') throw new Error(`operation ${i} has no path`);
  });
  return parsed as Operation[];
}

/** Applies `ops` to a copy of `object`; throws when an operation does not apply or the result is not an object. */
export function applyJsonPatch(object: KubeObject, ops: readonly Operation[]): KubeObject {
  let result: unknown;
  try {
    // validate=true rejects operations whose path does not resolve; prototype changes stay banned (default).
    result = fastJsonPatch.applyPatch(structuredClone(object), ops, true, true).newDocument;
  } catch (err) {
    const e = err as { name?: string; message?: string; index?: number };
    const where = typeof e.index === 'number' ? `operation ${e.index}: ` : '';
    throw new Error(`${where}${(e.message ?? String(err)).split('\n')[0] ?? ''}`, { cause: err });
  }
  if (typeof result !== 'object' || result === null || Array.isArray(result)) throw new Error('the patched document is not an object');
  const obj = result as KubeObject;
  if (typeof obj.metadata !== 'object' || obj.metadata === null || Array.isArray(obj.metadata)) {
    throw new Error('the patched object has no metadata');
  }
  return obj;
}
