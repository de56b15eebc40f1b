/** Turns a request path into what it addresses, following the Kubernetes URL layout. */

export type Route =
  | { type: 'version' }
  | { type: 'health'; which: 'healthz' | 'readyz' | 'livez' }
  | { type: 'api-versions' }
  | { type: 'api-groups' }
  | { type: 'api-group'; group: string }
  | { type: 'resource-list'; group: string; version: string }
  | { type: 'openapi-v3-index' }
  | { type: 'openapi-v3'; group: string; version: string }
  | { type: 'openapi-v2' }
  | { type: 'resource'; group: string; version: string; namespace: string; plural: string; name: string; subresource: string }
  | { type: 'unknown' };

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function parseRoute(pathname: string): Route {
  const raw = pathname.split('/').filter((s) => s !== '');
  let segs: string[];
  try {
    segs = raw.map((s) => decodeURIComponent(s));
  } catch {
    return { type: 'unknown' };
  }
  if (segs.length === 0) return { type: 'unknown' };
  const [first, ...rest] = segs;
  if (first === 'version' && rest.length === 0) return { type: 'version' };
  if ((first === 'healthz' || first === 'readyz' || first === 'livez')) return { type: 'health', which: first };
  if (first === 'openapi') {
    if (rest[0] === 'v2' && rest.length === 1) return { type: 'openapi-v2' };
    if (rest[0] === 'v3') {
      if (rest.length === 1) return { type: 'openapi-v3-index' };
      if (rest[1] === 'api' && rest.length === 3) return { type: 'openapi-v3', group: '', version: rest[2]! };
      if (rest[1] === 'apis' && rest.length === 4) return { type: 'openapi-v3', group: rest[2]!, version: rest[3]! };
    }
    return { type: 'unknown' };
  }
  if (first === 'api') {
    if (rest.length === 0) return { type: 'api-versions' };
    const [version, ...tail] = rest;
    if (tail.length === 0) return { type: 'resource-list', group: '', version: version! };
    return resourceRoute('', version!, tail);
  }
  if (first === 'apis') {
    if (rest.length === 0) return { type: 'api-groups' };
    if (rest.length === 1) return { type: 'api-group', group: rest[0]! };
    const [group, version, ...tail] = rest;
    if (tail.length === 0) return { type: 'resource-list', group: group!, version: version! };
    return resourceRoute(group!, version!, tail);
  }
  return { type: 'unknown' };
}

function resourceRoute(group: string, version: string, segs: string[]): Route {
  const base = { type: 'resource' as const, group, version };
  if (segs[0] === 'namespaces' && segs.length >= 3 && !(group === '' && segs.length === 3 && NAMESPACE_SUBRESOURCES.has(segs[2]!))) {
    const [, namespace, plural, name, subresource, ...extra] = segs;
    if (extra.length > 0) return { type: 'unknown' };
    return { ...base, namespace: namespace!, plural: plural!, name: name ?? '', subresource: subresource ?? '' };
  }
  const [plural, name, subresource, ...extra] = segs;
  if (extra.length > 0) return { type: 'unknown' };
  return { ...base, namespace: '', plural: plural!, name: name ?? '', subresource: subresource ?? '' };
}
