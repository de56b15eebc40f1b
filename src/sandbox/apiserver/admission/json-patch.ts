/**
 * RFC 6902 JSON Patch from a mutating webhook, on top of the API server's own JSON patch engine: decoding
 * failures are call failures (as in the kube-apiserver), and a patch that decodes but does not apply is an
 * internal error regardless of failurePolicy (the kube-apiserver only applies after it accepted the response).
 */
import type { KubeObject } from '../../../api/meta.js';
import { applyJsonPatch as applyPatchDocument, decodeJsonPatch as decodeOperations, type JsonPatchOperation } from '../patch/json-patch.js';

/** Parses the patch bytes into operations; throws with the reason when it is not a JSON Patch document. */
export function decodeJsonPatch(bytes: Buffer): JsonPatchOperation[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new Error(`invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  try {
    return decodeOperations(parsed);
  } catch (err) {
    throw new Error((err as Error).message, { cause: err });
  }
}

/** Applies `ops` to a copy of `object`; throws when an operation does not apply or the result is not an object. */
export function applyJsonPatch(object: KubeObject, ops: readonly JsonPatchOperation[]): KubeObject {
  let result: unknown;
  try {
    result = applyPatchDocument(object, ops);
  } catch (err) {
    throw new Error((err as Error).message.split('\n')[0] ?? String(err), { cause: err });
  }
  if (typeof result !== 'object' || result === null || Array.isArray(result)) throw new Error('the patched document is not an object');
  const obj = result as KubeObject;
  if (typeof obj.metadata !== 'object' || obj.metadata === null || Array.isArray(obj.metadata)) {
    throw new Error('the patched object has no metadata');
  }
  return obj;
}
