/**
 * List semantics: label and field selectors (served from indexes where they name a node or an object), and
 * `limit`/`continue` paging with opaque tokens, as kubectl (`limit=500`) and informers use them.
 */
import { KruiseError } from '../../../api/errors.js';
import type { KubeObject } from '../../../api/meta.js';
import { matchesSelector, parseLabelSelector } from '../../../api/label-selector.js';
import { apiErrors } from '../api-error.js';
import { exactNameOrNodeName, matchesFieldSelector, parseFieldSelector } from '../field-selector.js';
import type { ResourceType } from '../resource-type.js';
import { resourceKey } from '../resource-type.js';
import type { ListScope, Storage, StoredEntry } from '../storage/storage.js';

export interface ListQuery {
  namespace: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continueToken?: string;
}

export interface ListResult {
  items: StoredEntry[];
  resourceVersion: number;
  continueToken?: string;
  remainingItemCount?: number;
}

export interface CompiledFilter {
  scope: ListScope;
  matches: (obj: KubeObject) => boolean;
}

export function compileFilter(t: ResourceType, namespace: string, labelSelector?: string, fieldSelector?: string): CompiledFilter {
  let labels;
  try {
    labels = labelSelector ? parseLabelSelector(labelSelector) : undefined;
  } catch (e) {
    if (KruiseError.is(e)) throw apiErrors.badRequest(`unable to parse requirement: ${e.message}`);
    throw e;
  }
  const fields = fieldSelector ? parseFieldSelector(fieldSelector, { group: t.group, resource: t.plural }) : undefined;
  const scope: ListScope = {};
  if (t.namespaced && namespace) scope.namespace = namespace;
  if (fields) {
    const exact = exactNameOrNodeName(fields);
    if (exact.name !== undefined) scope.name = exact.name;
    // `spec.nodeName=` selects unscheduled pods, which the node index does not hold: filter those instead.
    if (exact.nodeName !== undefined && exact.nodeName !== '') scope.nodeName = exact.nodeName;
  }
  return {
    scope,
    matches: (obj) => (!labels || matchesSelector(labels, obj.metadata.labels)) && (!fields || matchesFieldSelector(fields, obj)),
  };
}

interface ContinueToken { rv: number; after: string }

function encodeContinue(tok: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'kruise-ts/1', ...tok })).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { v?: unknown; rv?: unknown; after?: unknown };
    if (parsed.v === 'kruise-ts/1' && typeof parsed.rv === 'number' && typeof parsed.after === 'string') return { rv: parsed.rv, after: parsed.after };
  } catch { /* fall through to the error below */ }
  throw apiErrors.badRequest('continue key is not valid: the continue token is malformed');
}

export function listEntries(storage: Storage, t: ResourceType, q: ListQuery): ListResult {
  const filter = compileFilter(t, q.namespace, q.labelSelector, q.fieldSelector);
  const all = storage.list(resourceKey(t), filter.scope);
  const resourceVersion = storage.resourceVersion;
  let start = 0;
  let rv = resourceVersion;
  if (q.continueToken) {
    const tok = decodeContinue(q.continueToken);
    rv = tok.rv;
    // Entries are in (namespace, name) order: resume after the last one handed out.
    let lo = 0, hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (idOf(all[mid]!) <= tok.after) lo = mid + 1; else hi = mid;
    }
    start = lo;
  }
  const items: StoredEntry[] = [];
  const limit = q.limit !== undefined && q.limit > 0 ? q.limit : Infinity;
  let i = start;
  for (; i < all.length && items.length < limit; i++) {
    if (filter.matches(all[i]!.object)) items.push(all[i]!);
  }
  if (i < all.length && items.length >= limit) {
    let remaining = 0;
    for (let j = i; j < all.length; j++) if (filter.matches(all[j]!.object)) remaining++;
    if (remaining > 0) {
      return { items, resourceVersion: rv, continueToken: encodeContinue({ rv, after: idOf(items[items.length - 1]!) }), remainingItemCount: remaining };
    }
  }
  return { items, resourceVersion: rv };
}

function idOf(e: StoredEntry): string {
  return `${e.object.metadata.namespace ?? ''}/${e.object.metadata.name ?? ''}`;
}
