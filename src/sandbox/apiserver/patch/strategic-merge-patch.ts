/**
 * Kubernetes strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds, as kubectl
 * (`apply`, `patch`, `edit`, `scale`...) sends it. Semantics follow apimachinery `pkg/util/strategicpatch`
 * (`StrategicMergeMapPatch`, i.e. MergeParallelList and IgnoreUnmatchedNulls on):
 *
 * - maps merge recursively; `null` deletes a key; a map carrying `$patch: replace` replaces the original map,
 *   `$patch: delete` removes it;
 * - a list with `patchStrategy: merge` and a `patchMergeKey` (strategic-merge-metadata.ts) merges element by
 *   element on that key; elements `{<key>: v, $patch: delete}` remove the matching elements, an element
 *   `{$patch: replace}` makes the rest of the patch list replace the original list;
 * - a primitive list with `merge` (`metadata.finalizers`) is a de-duplicated union;
 *   `$deleteFromPrimitiveList/<field>: [...]` removes values from it;
 * - every other list is atomic: the patch list replaces it;
 * - `$setElementOrder/<field>: [...]` (kubectl apply) fixes the order of the listed elements; elements only on the
 *   server keep their place relative to their neighbours;
 * - `$retainKeys: [...]` drops every key of the original map not listed (kubectl apply sends it for
 *   `retainKeys` fields such as `volumes[]` and Deployment `spec.strategy`).
 *
 * No directive ever reaches the result: values taken from the patch are cleaned of `$patch`, `$retainKeys`,
 * `$setElementOrder/*`, `$deleteFromPrimitiveList/*` and of null members (which delete nothing there).
 *
 * Deliberate differences from apimachinery, each an error or an accident of Go slice aliasing there:
 * - `$patch: merge` on a map or list element is accepted as "merge as usual" (apimachinery: error);
 * - `$patch: delete` on a map removes the key (apimachinery leaves `{}` when the key existed);
 * - a `$setElementOrder` list that disagrees with the patch list's order is not an error: the directive wins;
 * - original list elements lacking the merge key are kept, never matched (apimachinery: error);
 * - new list elements and order: server order is the merged list (original order, deletions removed, new elements
 *   appended), which is what apimachinery yields in the common case through slice aliasing.
 *
 * Errors are ApiError 400 BadRequest with apimachinery's texts where it has one (`invalid patch format of
 * retainKeys`, `map: ... does not contain declared merge key: name`, `unknown patch type: ...`).
 */
import { ApiError, apiErrors } from '../api-error.js';
import { cloneJson, getOwn, isJsonObject, jsonEqual, setOwn, type JsonObject } from './merge-patch.js';
import { patchMetaFor, type FieldPatchMeta, type KindPatchMeta } from './strategic-merge-metadata.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

/**
 * Whether the API server accepts a strategic merge patch for a kind. Kubernetes only has struct tags for its own
 * types: for custom resources it answers 415 (see `strategicMergeNotSupported`).
 */
export function supportsStrategicMerge(_kind: string, builtin: boolean): boolean {
  return builtin;
}

/** The 415 kube-apiserver returns for a strategic merge patch on a custom resource. */
export function strategicMergeNotSupported(contentType = 'application/strategic-merge-patch+json'): ApiError {
  return new ApiError(415, 'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml; got ${contentType}`);
}

function render(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function isDirectiveKey(k: string): boolean {
  return k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(SET_ELEMENT_ORDER) || k.startsWith(DELETE_FROM_PRIMITIVE_LIST);
}

/**
 * A value taken from the patch as is (nothing to merge it with): a deep copy without directives and without null
 * members. Returns undefined when the value itself says "delete".
 */
function cleanValue(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    for (const item of v) {
      if (isJsonObject(item) && Object.hasOwn(item, DIRECTIVE)) {
        // `{$patch: replace}` alone is a marker; `{name: x, $patch: delete}` deletes. Neither is data.
        if (item[DIRECTIVE] === 'delete' || Object.keys(item).every(isDirectiveKey)) continue;
      }
      const c = cleanValue(item);
      if (c !== undefined) out.push(c);
    }
    return out;
  }
  if (isJsonObject(v)) {
    if (v[DIRECTIVE] === 'delete') return undefined;
    const out: JsonObject = {};
    for (const k of Object.keys(v)) {
      if (isDirectiveKey(k) || v[k] === null) continue;
      const c = cleanValue(v[k]);
      if (c !== undefined) setOwn(out, k, c);
    }
    return out;
  }
  return v;
}

/** The key an element is matched on: the merge key's value for maps, the element itself for primitives. */
type Identity = (item: unknown) => unknown;

function identityFor(mergeKey: string | undefined): Identity {
  if (mergeKey === undefined) return (item) => item;
  return (item) => (isJsonObject(item) ? getOwn(item, mergeKey) : undefined);
}

function indexIn(list: readonly unknown[], id: unknown, identity: Identity): number {
  if (id === undefined) return -1;
  return list.findIndex((x) => identity(x) === id);
}

/**
 * Orders `merged`: elements named in `order` come in that order; the others keep their place in `merged`
 * relative to their neighbours (apimachinery's normalizeElementOrder + mergeSortedSlice, with `merged` as the
 * server order).
 */
function applyOrder(merged: unknown[], order: readonly unknown[], identity: Identity): unknown[] {
  const orderIds = order.map(identity);
  const rank = (item: unknown) => {
    const id = identity(item);
    return id === undefined ? -1 : orderIds.indexOf(id);
  };
  const listed = merged.filter((x) => rank(x) >= 0).sort((a, b) => rank(a) - rank(b));
  const serverOnly = merged.filter((x) => rank(x) < 0);
  const position = new Map<unknown, number>(merged.map((x, i) => [x, i]));
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < listed.length) {
    if (j >= listed.length || (i < serverOnly.length && position.get(serverOnly[i])! < position.get(listed[j])!)) {
      out.push(serverOnly[i++]);
    } else {
      out.push(listed[j++]);
    }
  }
  return out;
}

class Merger {
  constructor(private readonly meta: KindPatchMeta) {}

  private metaAt(path: readonly string[]): FieldPatchMeta | undefined {
    return this.meta[path.join('.')];
  }

  /** Merges patch map `patch` into `original` (ours to change; may be undefined). Undefined means "remove". */
  mergeMap(original: JsonObject | undefined, patch: JsonObject, path: readonly string[]): JsonObject | undefined {
    const directive = getOwn(patch, DIRECTIVE);
    if (directive !== undefined) {
      if (directive === 'replace') return cleanValue(patch) as JsonObject;
      if (directive === 'delete') return undefined;
      if (directive !== 'merge') throw apiErrors.badRequest(`unknown patch type: ${render(directive)} in map: ${render(patch)}`);
    }
    const out: JsonObject = original ?? {};

    if (Object.hasOwn(patch, RETAIN_KEYS)) this.retainKeys(out, patch);

    const orders = new Map<string, unknown[]>();
    for (const k of Object.keys(patch)) {
      if (k.startsWith(SET_ELEMENT_ORDER)) {
        const field = k.slice(SET_ELEMENT_ORDER.length);
        const order = patch[k];
        if (field === '' || !Array.isArray(order)) throw apiErrors.badRequest('invalid patch format of setElementOrder list');
        orders.set(field, order);
      } else if (k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
        const field = k.slice(DELETE_FROM_PRIMITIVE_LIST.length);
        const toDelete = patch[k];
        if (field === '' || !Array.isArray(toDelete)) throw apiErrors.badRequest('invalid patch format of primitive list');
        const current = getOwn(out, field);
        if (Array.isArray(current)) setOwn(out, field, current.filter((x) => !toDelete.some((d) => jsonEqual(d, x))));
      }
    }

    for (const k of Object.keys(patch)) {
      if (isDirectiveKey(k)) continue;
      const pv = patch[k];
      if (pv === null) {
        delete out[k];
        continue;
      }
      const ov = getOwn(out, k);
      const childPath = [...path, k];
      let merged: unknown;
      if (isJsonObject(pv)) {
        merged = this.mergeMap(isJsonObject(ov) ? ov : undefined, pv, childPath);
      } else if (Array.isArray(pv)) {
        merged = this.mergeList(Array.isArray(ov) ? ov : undefined, pv, childPath);
      } else {
        merged = pv;
      }
      if (merged === undefined) delete out[k];
      else setOwn(out, k, merged);
    }

    for (const [field, order] of orders) {
      const list = getOwn(out, field);
      if (!Array.isArray(list)) continue;
      const mergeKey = this.metaAt([...path, field])?.patchMergeKey;
      if (mergeKey === undefined && list.some(isJsonObject)) continue; // nothing to identify elements by
      setOwn(out, field, applyOrder(list, order, identityFor(mergeKey)));
    }
    return out;
  }

  /** `$retainKeys`: keys of `out` not listed go; every data key of the patch must be listed. */
  private retainKeys(out: JsonObject, patch: JsonObject): void {
    const keep = patch[RETAIN_KEYS];
    if (!Array.isArray(keep) || !keep.every((k) => typeof k === 'string')) {
      throw apiErrors.badRequest('invalid patch format of retainKeys');
    }
    for (const k of Object.keys(patch)) {
      if (isDirectiveKey(k) || patch[k] === null) continue;
      if (!keep.includes(k)) throw apiErrors.badRequest('invalid patch format of retainKeys');
    }
    for (const k of Object.keys(out)) {
      if (!keep.includes(k)) delete out[k];
    }
  }

  /** Merges patch list `patch` into `original` (ours to change; undefined when absent or not a list). */
  mergeList(original: unknown[] | undefined, patch: unknown[], path: readonly string[]): unknown[] {
    const meta = this.metaAt(path);
    if (original === undefined || meta === undefined || !meta.patchStrategy.startsWith('merge')) {
      return cleanValue(patch) as unknown[];
    }
    const mergeKey = meta.patchMergeKey;
    const identity = identityFor(mergeKey);

    // Directive elements first: deletions, and whether the list is replaced.
    let replace = false;
    let working = original;
    const items: unknown[] = [];
    for (const item of patch) {
      if (!isJsonObject(item) || !Object.hasOwn(item, DIRECTIVE)) {
        items.push(item);
        continue;
      }
      const directive = item[DIRECTIVE];
      if (directive === 'replace') {
        replace = true;
      } else if (directive === 'delete') {
        if (mergeKey === undefined) throw apiErrors.badRequest(`cannot use $patch: delete in the primitive list ${path.join('.')}`);
        const id = getOwn(item, mergeKey);
        if (id === undefined) throw apiErrors.badRequest(`map: ${render(item)} does not contain declared merge key: ${mergeKey}`);
        working = working.filter((x) => identity(x) !== id);
      } else if (directive === 'merge') {
        // Explicitly the default; the element may also carry data.
        if (Object.keys(item).some((k) => !isDirectiveKey(k))) items.push(item);
      } else {
        throw apiErrors.badRequest(`unknown patch type: ${render(directive)} in map: ${render(item)}`);
      }
    }
    if (replace) return cleanValue(items) as unknown[];

    if (mergeKey === undefined) {
      if (items.some((x) => typeof x === 'object' && x !== null)) {
        throw apiErrors.badRequest(`cannot merge lists without merge key for ${path.join('.')}`);
      }
      const merged = [...working];
      for (const x of items) if (!merged.includes(x)) merged.push(x);
      return applyOrder(merged, items, identity);
    }

    const merged = [...working];
    for (const item of items) {
      if (!isJsonObject(item)) throw apiErrors.badRequest(`expected a map in the list ${path.join('.')}, got ${render(item)}`);
      const id = getOwn(item, mergeKey);
      if (id === undefined) throw apiErrors.badRequest(`map: ${render(item)} does not contain declared merge key: ${mergeKey}`);
      const at = indexIn(merged, id, identity);
      if (at >= 0) {
        const current = merged[at];
        const result = this.mergeMap(isJsonObject(current) ? current : undefined, item, path);
        if (result === undefined) merged.splice(at, 1);
        else merged[at] = result;
      } else {
        const fresh = this.mergeMap(undefined, item, path);
        if (fresh !== undefined) merged.push(fresh);
      }
    }
    return applyOrder(merged, items, identity);
  }
}

/**
 * Applies strategic merge patch `patch` (the decoded request body) to `original`, a built-in object of kind
 * `kind`, and returns the result. Neither input is changed. Throws ApiError 400 for a patch that is not an object
 * or misuses a directive.
 */
export function applyStrategicMergePatch(original: object, patch: unknown, kind: string): JsonObject {
  if (!isJsonObject(patch)) throw apiErrors.badRequest('strategic merge patch must be a JSON object');
  if (!isJsonObject(original)) throw apiErrors.badRequest('the object to patch must be a JSON object');
  const merger = new Merger(patchMetaFor(kind));
  return merger.mergeMap(cloneJson(original), patch, []) ?? {};
}
