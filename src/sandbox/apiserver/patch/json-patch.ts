/**
 * JSON patch (RFC 6902, `application/json-patch+json`) over JSON pointers (RFC 6901).
 *
 * Written here rather than delegated to fast-json-patch so that the document is never mutated (we work on our own
 * copy), `__proto__` members stay data, and each failure names the operation, its index and its path. Status codes
 * follow kube-apiserver: a patch that cannot be decoded is 400 BadRequest; a well-formed patch that does not apply
 * to the object (a failed `test`, a missing path, an index out of range) is 422 Invalid. Like Kubernetes, a patch
 * may hold at most 10,000 operations (413 otherwise).
 *
 * Known gap: evanphx/json-patch (used by Kubernetes) also accepts negative array indexes; RFC 6902 does not, nor
 * do we.
 */
import { ApiError, apiErrors } from '../api-error.js';
import { cloneJson, isJsonObject, jsonEqual, setOwn, type JsonObject } from './merge-patch.js';

export type JsonPatchOp = 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';

export interface JsonPatchOperation {
  readonly op: JsonPatchOp;
  readonly path: string;
  /** For `move` and `copy`. */
  readonly from?: string;
  /** For `add`, `replace` and `test`. */
  readonly value?: unknown;
}

export const MAX_JSON_PATCH_OPERATIONS = 10_000;

const OPS: ReadonlySet<string> = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** Splits a JSON pointer into unescaped reference tokens; undefined when it is not a valid pointer. */
export function parseJsonPointer(pointer: string): string[] | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  const tokens: string[] = [];
  for (const raw of pointer.slice(1).split('/')) {
    if (/~[^01]|~$/.test(raw)) return undefined;
    tokens.push(raw.replace(/~1/g, '/').replace(/~0/g, '~'));
  }
  return tokens;
}

/** Checks the shape of a decoded patch body. Throws 400 for anything that is not a list of valid operations. */
export function decodeJsonPatch(body: unknown): JsonPatchOperation[] {
  if (!Array.isArray(body)) throw apiErrors.badRequest('json patch must be a JSON array of operations');
  if (body.length > MAX_JSON_PATCH_OPERATIONS) {
    throw apiErrors.tooLarge(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${body.length}`);
  }
  return body.map((raw, index) => {
    const bad = (why: string) => apiErrors.badRequest(`json patch operation ${index}: ${why}`);
    if (!isJsonObject(raw)) throw bad('must be an object');
    const op = raw['op'];
    if (typeof op !== 'string' || !OPS.has(op)) {
      throw bad(`"op" must be one of add, remove, replace, move, copy, test; got ${JSON.stringify(op ?? null)}`);
    }
    const path = raw['path'];
    if (typeof path !== 'string') throw bad(`${op}: "path" must be a string`);
    if (parseJsonPointer(path) === undefined) throw bad(`${op}: "path" ${JSON.stringify(path)} is not a valid JSON pointer`);
    const out: { op: JsonPatchOp; path: string; from?: string; value?: unknown } = { op: op as JsonPatchOp, path };
    if (op === 'move' || op === 'copy') {
      const from = raw['from'];
      if (typeof from !== 'string') throw bad(`${op} ${path}: "from" must be a string`);
      if (parseJsonPointer(from) === undefined) throw bad(`${op} ${path}: "from" ${JSON.stringify(from)} is not a valid JSON pointer`);
      out.from = from;
    }
    if (op === 'add' || op === 'replace' || op === 'test') {
      if (!Object.hasOwn(raw, 'value')) throw bad(`${op} ${path}: "value" is required`);
      out.value = raw['value'];
    }
    return out;
  });
}

/** Why an operation does not apply; turned into a 422 naming the operation by `applyJsonPatch`. */
class NotApplicable extends Error {}

type Container = JsonObject | unknown[];

function arrayIndex(arr: unknown[], token: string, pointer: string, forInsert: boolean): number {
  if (forInsert && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new NotApplicable(`${JSON.stringify(token)} is not an array index (in ${pointer})`);
  const i = Number(token);
  const limit = forInsert ? arr.length : arr.length - 1;
  if (i > limit) throw new NotApplicable(`index ${i} is out of bounds (array length ${arr.length}) in ${pointer}`);
  return i;
}

/** The container holding the last token of `tokens`, walking existing members only. */
function parentOf(doc: unknown, tokens: string[], pointer: string): Container {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, pointer, false)];
    else if (isJsonObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw new NotApplicable(`path ${pointer} does not exist`);
  }
  if (!Array.isArray(cur) && !isJsonObject(cur)) throw new NotApplicable(`path ${pointer} does not exist`);
  return cur;
}

function getAt(doc: unknown, pointer: string): unknown {
  const tokens = parseJsonPointer(pointer)!;
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, pointer, false)];
  if (!Object.hasOwn(parent, last)) throw new NotApplicable(`path ${pointer} does not exist`);
  return parent[last];
}

/** Adds `value` at `pointer` and returns the (possibly new) document. */
function addAt(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parseJsonPointer(pointer)!;
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, pointer, true), 0, value);
  else setOwn(parent, last, value);
  return doc;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = parseJsonPointer(pointer)!;
  if (tokens.length === 0) throw new NotApplicable('the document root cannot be removed');
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(parent, last, pointer, false), 1);
  } else {
    if (!Object.hasOwn(parent, last)) throw new NotApplicable(`path ${pointer} does not exist`);
    delete parent[last];
  }
  return doc;
}

function applyOne(doc: unknown, op: JsonPatchOperation): unknown {
  switch (op.op) {
    case 'add':
      return addAt(doc, op.path, cloneJson(op.value));
    case 'remove':
      return removeAt(doc, op.path);
    case 'replace': {
      getAt(doc, op.path); // must exist
      const tokens = parseJsonPointer(op.path)!;
      if (tokens.length === 0) return cloneJson(op.value);
      return addAt(removeAt(doc, op.path), op.path, cloneJson(op.value));
    }
    case 'move': {
      const from = op.from!;
      if (op.path.startsWith(`${from}/`)) throw new NotApplicable(`cannot move ${from} into its own child ${op.path}`);
      const value = getAt(doc, from);
      if (from === op.path) return doc;
      return addAt(removeAt(doc, from), op.path, value);
    }
    case 'copy':
      return addAt(doc, op.path, cloneJson(getAt(doc, op.from!)));
    case 'test': {
      const actual = getAt(doc, op.path);
      if (!jsonEqual(actual, op.value)) throw new NotApplicable('the value differs from the test value');
      return doc;
    }
  }
}

/**
 * Applies a JSON patch (the decoded request body) to `original`, returning a new document; `original` and
 * `patch` are not changed. Throws ApiError 400 for a malformed patch, 413 for too many operations, 422 when an
 * operation does not apply, e.g. `json patch operation 1 (test /spec/replicas) failed: the value differs from the
 * test value`.
 */
export function applyJsonPatch(original: unknown, patch: unknown): unknown {
  const ops = decodeJsonPatch(patch);
  let doc = cloneJson(original);
  ops.forEach((op, index) => {
    try {
      doc = applyOne(doc, op);
    } catch (err) {
      if (!(err instanceof NotApplicable)) throw err;
      const where = op.from === undefined ? op.path : `${op.from} -> ${op.path}`;
      throw new ApiError(422, 'Invalid', `json patch operation ${index} (${op.op} ${where}) failed: ${err.message}`);
    }
  });
  return doc;
}
