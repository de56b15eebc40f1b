/**
 * OpenAPI v3 documents for the sandbox API server, built from the served ResourceTypes: the `/openapi/v3` index
 * and one OpenAPI 3.0 document per group-version, shaped like kube-apiserver's (kube-openapi `handler3`,
 * `builder3`) where kubectl 1.32 and client-go look:
 *
 * - the index is `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=<SHA-512, upper hex>"}}}`,
 *   the hash being that of the group-version document's JSON bytes (kube-openapi `computeETag`);
 * - each PATCH operation carries `x-kubernetes-group-version-kind` and a `fieldValidation` query parameter:
 *   cli-runtime `supportsQueryParamV3` decides from exactly that whether the server validates fields, and
 *   only then does kubectl skip client-side validation (which would need /openapi/v2) and send
 *   `fieldValidation=Strict`;
 * - components.schemas carry `x-kubernetes-group-version-kind` as a list, which is how kubectl's apply patcher
 *   and `kubectl explain` find a kind's schema.
 *
 * Built-in kinds get permissive schemas (apiVersion, kind, metadata and x-kubernetes-preserve-unknown-fields)
 * and their PATCH does not list strategic-merge-patch: kubectl then computes strategic merge patches from its
 * compiled-in types (after one /openapi/v2 attempt, for which a 404 is fine), which know the list merge keys a
 * permissive schema cannot express. Custom resources embed the CRD version's schema.
 */
import { createHash } from 'node:crypto';
import type { JsonSchemaProps, ResourceType } from '../resource-type.js';
import { DELETE_OPTIONS, LIST_META, OBJECT_META, PATCH, SCALE, STATUS, metaSchemas, ref } from './meta-schemas.js';

export interface OpenApiV3Document {
  openapi: '3.0.0';
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchemaProps> };
}

export interface OpenApiV3GroupVersion {
  /** `api/v1` or `apis/<group>/<version>`: the index key and the URL path below /openapi/v3/. */
  key: string;
  document: OpenApiV3Document;
  /** The exact bytes to serve; the hash is computed over them. */
  json: string;
  hash: string;
}

export interface OpenApiV3Set {
  index: { paths: Record<string, { serverRelativeURL: string }> };
  indexJson: string;
  indexHash: string;
  groupVersions: ReadonlyMap<string, OpenApiV3GroupVersion>;
}

export interface OpenApiV3Options {
  /** `info.version`, the server's git version. @default 'v1.32.0' */
  serverVersion?: string;
}

/** kube-openapi's ETag: SHA-512 of the bytes, upper-case hex. */
export function openApiV3Hash(json: string): string {
  return createHash('sha512').update(json).digest('hex').toUpperCase();
}

export function groupVersionKey(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

/** All group-version documents and the index for the given served types. */
export function buildOpenApiV3(types: readonly ResourceType[], options: OpenApiV3Options = {}): OpenApiV3Set {
  const byGv = new Map<string, ResourceType[]>();
  for (const t of types) {
    const key = groupVersionKey(t.group, t.version);
    const list = byGv.get(key) ?? [];
    list.push(t);
    byGv.set(key, list);
  }
  const groupVersions = new Map<string, OpenApiV3GroupVersion>();
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const key of [...byGv.keys()].sort()) {
    const gvTypes = byGv.get(key)!;
    const document = buildGroupVersionDocument(gvTypes, gvTypes[0]!.group, gvTypes[0]!.version, options);
    const json = JSON.stringify(document);
    const hash = openApiV3Hash(json);
    groupVersions.set(key, { key, document, json, hash });
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  const index = { paths };
  const indexJson = JSON.stringify(index);
  return { index, indexJson, indexHash: openApiV3Hash(indexJson), groupVersions };
}

/** The OpenAPI 3.0 document of one group-version (types of other group-versions are ignored). */
export function buildGroupVersionDocument(
  types: readonly ResourceType[], group: string, version: string, options: OpenApiV3Options = {},
): OpenApiV3Document {
  const schemas: Record<string, JsonSchemaProps> = { ...metaSchemas() };
  const paths: Record<string, Record<string, unknown>> = {};
  const served = types.filter((t) => t.group === group && t.version === version)
    .sort((a, b) => (a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0));
  for (const t of served) {
    const kindName = schemaName(t, t.kind);
    schemas[kindName] = kindSchema(t);
    schemas[schemaName(t, t.listKind)] = listSchema(t, kindName);
    if (t.subresources.scale) schemas[SCALE] = scaleSchema();
    Object.assign(paths, resourcePaths(t, kindName, schemaName(t, t.listKind)));
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: options.serverVersion ?? 'v1.32.0' },
    paths,
    components: { schemas },
  };
}

// ---- schema names and schemas -------------------------------------------------------------------------------

/**
 * Component names as kube-apiserver spells them: `io.k8s.api.core.v1.ConfigMap`, `io.k8s.api.apps.v1.Deployment`,
 * and for custom resources the reversed group: `io.kruise.apps.v1alpha1.CloneSet`.
 */
export function schemaName(t: Pick<ResourceType, 'group' | 'version' | 'builtin'>, kind: string): string {
  if (t.group === '') return `io.k8s.api.core.${t.version}.${kind}`;
  if (t.group === 'apiextensions.k8s.io') return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${t.version}.${kind}`;
  if (t.builtin && t.group.endsWith('.k8s.io')) return `io.k8s.api.${t.group.split('.')[0]}.${t.version}.${kind}`;
  if (t.builtin && !t.group.includes('.')) return `io.k8s.api.${t.group}.${t.version}.${kind}`;
  return `${t.group.split('.').reverse().join('.')}.${t.version}.${kind}`;
}

const API_VERSION_PROP = {
  description: 'APIVersion defines the versioned schema of this representation of an object.',
  type: 'string',
};
const KIND_PROP = { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' };

function gvkList(t: ResourceType, kind: string): { group: string; kind: string; version: string }[] {
  return [{ group: t.group, kind, version: t.version }];
}

function kindSchema(t: ResourceType): JsonSchemaProps {
  const metadata = { allOf: [ref(OBJECT_META)], default: {}, description: "Standard object's metadata." };
  if (t.schema) {
    const s = structuredClone(t.schema);
    const props = { ...(s['properties'] as Record<string, unknown> | undefined ?? {}) };
    props['apiVersion'] = API_VERSION_PROP;
    props['kind'] = KIND_PROP;
    props['metadata'] = metadata;
    return { ...s, type: 'object', properties: props, 'x-kubernetes-group-version-kind': gvkList(t, t.kind) };
  }
  return {
    description: `${t.kind} (schema not published by the sandbox; fields are not checked).`,
    type: 'object',
    properties: { apiVersion: API_VERSION_PROP, kind: KIND_PROP, metadata },
    'x-kubernetes-preserve-unknown-fields': true,
    'x-kubernetes-group-version-kind': gvkList(t, t.kind),
  };
}

function listSchema(t: ResourceType, kindName: string): JsonSchemaProps {
  return {
    description: `${t.listKind} is a list of ${t.kind}`,
    type: 'object',
    required: ['items'],
    properties: {
      apiVersion: API_VERSION_PROP,
      items: { description: `List of ${t.plural}.`, type: 'array', items: { allOf: [ref(kindName)], default: {} } },
      kind: KIND_PROP,
      metadata: { allOf: [ref(LIST_META)], default: {}, description: 'Standard list metadata.' },
    },
    'x-kubernetes-group-version-kind': gvkList(t, t.listKind),
  };
}

function scaleSchema(): JsonSchemaProps {
  return {
    description: 'Scale represents a scaling request for a resource.',
    type: 'object',
    properties: {
      apiVersion: API_VERSION_PROP, kind: KIND_PROP,
      metadata: { allOf: [ref(OBJECT_META)], default: {} },
      spec: { type: 'object', properties: { replicas: { type: 'integer', format: 'int32' } } },
      status: {
        type: 'object', required: ['replicas'],
        properties: { replicas: { type: 'integer', format: 'int32', default: 0 }, selector: { type: 'string' } },
      },
    },
    'x-kubernetes-group-version-kind': [{ group: 'autoscaling', kind: 'Scale', version: 'v1' }],
  };
}

// ---- paths and operations -----------------------------------------------------------------------------------

type Action = 'get' | 'list' | 'post' | 'put' | 'patch' | 'delete' | 'deletecollection';

interface Param { name: string; in: 'query' | 'path'; description: string; required?: boolean; schema: Record<string, unknown>; uniqueItems?: boolean }

const q = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }): Param =>
  ({ name, in: 'query', description, schema: { ...schema, uniqueItems: true } });

const P = {
  pretty: q('pretty', "If 'true', then the output is pretty printed."),
  dryRun: q('dryRun', 'When present, indicates that modifications should not be persisted. Valid value: All.'),
  fieldManager: q('fieldManager', 'A name associated with the actor or entity that is making these changes.'),
  fieldValidation: q('fieldValidation',
    'How the server handles unknown or duplicate fields in the request object: Ignore (drop them silently), ' +
    'Warn (drop them and return a warning per field), Strict (fail the request with BadRequest listing them; the ' +
    'default of kubectl).'),
  force: q('force', 'Force is going to "force" Apply requests. It must be unset for non-apply patch requests.', { type: 'boolean' }),
  gracePeriodSeconds: q('gracePeriodSeconds', 'The duration in seconds before the object should be deleted.', { type: 'integer' }),
  propagationPolicy: q('propagationPolicy', "Whether and how garbage collection will be performed: 'Orphan', 'Background' or 'Foreground'."),
  orphanDependents: q('orphanDependents', 'Deprecated: please use the PropagationPolicy.', { type: 'boolean' }),
  allowWatchBookmarks: q('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK".', { type: 'boolean' }),
  continue: q('continue', 'The continue option should be set when retrieving more results from the server.'),
  fieldSelector: q('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
  labelSelector: q('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  limit: q('limit', 'limit is a maximum number of responses to return for a list call.', { type: 'integer' }),
  resourceVersion: q('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  resourceVersionMatch: q('resourceVersionMatch', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
  sendInitialEvents: q('sendInitialEvents', 'Requests synthetic events for the initial state of a watch.', { type: 'boolean' }),
  timeoutSeconds: q('timeoutSeconds', 'Timeout for the list/watch call.', { type: 'integer' }),
  watch: q('watch', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.', { type: 'boolean' }),
  name: (kind: string): Param => ({ name: 'name', in: 'path', description: `name of the ${kind}`, required: true, schema: { type: 'string', uniqueItems: true } }),
  namespace: { name: 'namespace', in: 'path', description: 'object name and auth scope, such as for teams and projects', required: true, schema: { type: 'string', uniqueItems: true } } as Param,
};

const LIST_PARAMS = [P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit, P.resourceVersion,
  P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds, P.watch];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];

const JSON_TYPES = ['application/json', 'application/yaml'];

function tagOf(t: ResourceType): string {
  if (t.group === '') return `core_${t.version}`;
  const parts = t.group.split('.').map((p, i) => (i === 0 ? p : p.charAt(0).toUpperCase() + p.slice(1)));
  return `${parts.join('')}_${t.version}`;
}

function opIdPrefix(t: ResourceType): string {
  const tag = tagOf(t).replace('_', '');
  return tag.charAt(0).toUpperCase() + tag.slice(1).replace(/_(.)/, (_, c: string) => c.toUpperCase());
}

function content(schemaRef: string, types: readonly string[] = JSON_TYPES): Record<string, unknown> {
  return Object.fromEntries(types.map((ct) => [ct, { schema: ref(schemaRef) }]));
}

interface OpSpec {
  action: Action;
  verb: string;
  kind: string;
  gvk: { group: string; version: string; kind: string };
  params: Param[];
  body?: { ref: string; types?: readonly string[] };
  responses: Record<string, string | undefined>;
}

function operation(t: ResourceType, spec: OpSpec, operationId: string): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [code, schemaRef] of Object.entries(spec.responses)) {
    responses[code] = schemaRef === undefined ? { description: code === '401' ? 'Unauthorized' : 'OK' }
      : { description: code === '201' ? 'Created' : code === '202' ? 'Accepted' : 'OK', content: content(schemaRef) };
  }
  return {
    tags: [tagOf(t)],
    description: `${spec.verb} ${spec.kind}`,
    operationId,
    ...(spec.params.length > 0 ? { parameters: spec.params } : {}),
    ...(spec.body ? { requestBody: { content: content(spec.body.ref, spec.body.types), required: true } } : {}),
    responses: { ...responses, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': spec.action,
    'x-kubernetes-group-version-kind': spec.gvk,
  };
}

function resourcePaths(t: ResourceType, kindName: string, listName: string): Record<string, Record<string, unknown>> {
  const prefix = t.group === '' ? `/api/${t.version}` : `/apis/${t.group}/${t.version}`;
  const nsPrefix = t.namespaced ? `${prefix}/namespaces/{namespace}` : prefix;
  const ns = t.namespaced ? 'Namespaced' : '';
  const id = opIdPrefix(t);
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const pathParams = (withName: boolean): Param[] =>
    [...(withName ? [P.name(t.kind)] : []), ...(t.namespaced ? [P.namespace] : []), P.pretty];
  // Custom resources accept no strategic merge patch; built-in ones do, but see the module comment.
  const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
  const paths: Record<string, Record<string, unknown>> = {};

  paths[`${nsPrefix}/${t.plural}`] = {
    get: operation(t, { action: 'list', verb: 'list or watch objects of kind', kind: t.kind, gvk, params: LIST_PARAMS,
      responses: { '200': listName } }, `list${id}${ns}${t.kind}`),
    post: operation(t, { action: 'post', verb: 'create a', kind: t.kind, gvk, params: WRITE_PARAMS,
      body: { ref: kindName }, responses: { '200': kindName, '201': kindName, '202': kindName } }, `create${id}${ns}${t.kind}`),
    delete: operation(t, { action: 'deletecollection', verb: 'delete collection of', kind: t.kind, gvk,
      params: [P.continue, P.dryRun, P.fieldSelector, P.gracePeriodSeconds, P.labelSelector, P.limit, P.orphanDependents,
        P.propagationPolicy, P.resourceVersion, P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds],
      body: { ref: DELETE_OPTIONS }, responses: { '200': STATUS } }, `deletecollection${id}${ns}${t.kind}`),
    parameters: pathParams(false),
  };
  if (t.namespaced) {
    paths[`${prefix}/${t.plural}`] = {
      get: operation(t, { action: 'list', verb: 'list or watch objects of kind', kind: t.kind, gvk, params: LIST_PARAMS,
        responses: { '200': listName } }, `list${id}${t.kind}ForAllNamespaces`),
      parameters: [P.pretty],
    };
  }
  const item = (schemaRef: string, opGvk: typeof gvk, idSuffix: string): Record<string, unknown> => ({
    get: operation(t, { action: 'get', verb: 'read the specified', kind: opGvk.kind, gvk: opGvk, params: [],
      responses: { '200': schemaRef } }, `read${id}${ns}${t.kind}${idSuffix}`),
    put: operation(t, { action: 'put', verb: 'replace the specified', kind: opGvk.kind, gvk: opGvk, params: WRITE_PARAMS,
      body: { ref: schemaRef }, responses: { '200': schemaRef, '201': schemaRef } }, `replace${id}${ns}${t.kind}${idSuffix}`),
    patch: operation(t, { action: 'patch', verb: 'partially update the specified', kind: opGvk.kind, gvk: opGvk,
      params: [...WRITE_PARAMS, P.force], body: { ref: PATCH, types: patchTypes },
      responses: { '200': schemaRef, '201': schemaRef } }, `patch${id}${ns}${t.kind}${idSuffix}`),
    parameters: pathParams(true),
  });
  const named = `${nsPrefix}/${t.plural}/{name}`;
  paths[named] = {
    ...item(kindName, gvk, ''),
    delete: operation(t, { action: 'delete', verb: 'delete a', kind: t.kind, gvk,
      params: [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy],
      body: { ref: DELETE_OPTIONS }, responses: { '200': STATUS, '202': STATUS } }, `delete${id}${ns}${t.kind}`),
  };
  if (t.subresources.status) paths[`${named}/status`] = item(kindName, gvk, 'Status');
  if (t.subresources.scale) {
    paths[`${named}/scale`] = item(SCALE, { group: 'autoscaling', version: 'v1', kind: 'Scale' }, 'Scale');
  }
  return paths;
}

// ---- serving ------------------------------------------------------------------------------------------------

export interface OpenApiV3Response {
  status: 200 | 301 | 404 | 406;
  headers: Record<string, string>;
  body?: string;
}

/**
 * How kube-openapi's handler answers `GET /openapi/v3[/<gv>]`: the index; a document (JSON only: the sandbox
 * has no protobuf encoding, so an Accept listing only protobuf gets 406); a 301 to the current hash when the
 * `hash` query parameter is stale; and, with a matching hash, immutable caching for a year.
 */
export function resolveOpenApiV3Request(
  set: OpenApiV3Set, pathname: string, hash: string | null, accept: string | undefined, now: Date,
): OpenApiV3Response {
  const rest = pathname.replace(/^\/openapi\/v3\/?/, '');
  if (rest === '') {
    return { status: 200, headers: { 'Content-Type': 'application/json', Etag: `"${set.indexHash}"` }, body: set.indexJson };
  }
  const gv = set.groupVersions.get(rest.replace(/\/$/, ''));
  if (!gv) return { status: 404, headers: { 'Content-Type': 'text/plain' }, body: '404 page not found\n' };
  if (!acceptsJson(accept)) return { status: 406, headers: { Vary: 'Accept' } };
  const headers: Record<string, string> = { 'Content-Type': 'application/json', Etag: `"${gv.hash}"`, Vary: 'Accept' };
  if (hash !== null && hash !== '') {
    if (hash !== gv.hash) return { status: 301, headers: { Location: `/openapi/v3/${gv.key}?hash=${gv.hash}`, Vary: 'Accept' } };
    headers['Cache-Control'] = 'public, immutable';
    const expires = new Date(now.getTime());
    expires.setUTCFullYear(expires.getUTCFullYear() + 1);
    headers['Expires'] = expires.toUTCString();
  }
  return { status: 200, headers, body: gv.json };
}

function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((clause) => {
    const [mediaRange, ...params] = clause.trim().split(';').map((s) => s.trim());
    const qParam = params.find((p) => p.startsWith('q='));
    if (qParam !== undefined && Number(qParam.slice(2)) === 0) return false;
    return mediaRange === 'application/json' || mediaRange === 'application/*' || mediaRange === '*/*';
  });
}
