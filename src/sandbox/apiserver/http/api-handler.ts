/**
 * The HTTP face of the embedded API server: authentication, routing, content negotiation, and the rendering of
 * results and errors as Kubernetes does them. All semantics live in ResourceService; this file only translates.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import type { KubeObject } from '../../../api/meta.js';
import { KruiseError } from '../../../api/errors.js';
import { ApiError, apiErrors } from '../api-error.js';
import type { ResourceRegistry } from '../resource-registry.js';
import type { ResourceType } from '../resource-type.js';
import { apiVersionOf, resourceKey } from '../resource-type.js';
import type { DeleteOptions, ResourceService } from '../rest/resource-service.js';
import { formatTime, parseResourceVersion } from '../rest/resource-service.js';
import type { PatchPort, PatchType, UserInfo } from '../rest/ports.js';
import type { FieldValidation, RequestContext } from '../rest/request-context.js';
import type { StoredEntry } from '../storage/storage.js';
import type { WatchHub } from '../watch/watch-hub.js';
import { compileFilter, listEntries } from './collection.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery.js';
import { decodeBody, mediaType, readBody } from './request-body.js';
import type { FaultInjector } from './fault-injection.js';
import type { Route } from './route.js';
import { parseRoute } from './route.js';
import type { IncludeObject } from './table.js';
import { toTable, wantsTable } from './table.js';

export interface OpenApiPort {
  serve(pathname: string, hash: string | null, accept: string | undefined): { status: number; headers: Record<string, string>; body?: string };
}

export interface ApiHandlerOptions {
  service: ResourceService;
  registry: ResourceRegistry;
  hub: WatchHub;
  openapi: OpenApiPort;
  patches: PatchPort;
  /** Bearer token → user. */
  tokens: ReadonlyMap<string, UserInfo>;
  serverAddress: () => string;
  /** Interval of BOOKMARK events on watches that allow them. @default 10000 */
  bookmarkIntervalMs?: number;
  /** Slow watchers whose unsent output exceeds this are closed, as Kubernetes drops them. @default 64 MiB */
  watchBufferLimitBytes?: number;
  onRequest?: (info: { verb: string; resource: string; code: number; durationMs: number }) => void;
  /** Test-only: decides per request whether to fail it (see fault-injection.ts). */
  faults?: FaultInjector;
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
};

const DRY_RUN_ALL = 'All';
/** Items written per chunk of a list response. */
const LIST_WRITE_BATCH = 500;

export class ApiHandler {
  private readonly openWatches = new Set<ServerResponse>();
  /** Encoded watch events per committed entry; entries are immutable, so this never goes stale. */
  private readonly lineCache = new WeakMap<StoredEntry, Map<string, Buffer>>();

  constructor(private readonly o: ApiHandlerOptions) {}

  /** Ends every open watch (server shutdown). */
  closeWatches(): void {
    for (const res of this.openWatches) res.end();
    this.openWatches.clear();
  }

  /** Test-only: breaks every open watch connection without a clean end, as a network failure would. */
  dropWatches(): number {
    const n = this.openWatches.size;
    for (const res of this.openWatches) res.socket?.destroy();
    this.openWatches.clear();
    return n;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    let verb = (req.method ?? 'GET').toUpperCase();
    let resource = '';
    try {
      const url = new URL(req.url ?? '/', 'https://sandbox.invalid');
      const route = parseRoute(url.pathname);
      if (route.type === 'health') {
        sendText(res, 200, 'ok');
        return;
      }
      const user = this.authenticate(req);
      if (route.type === 'resource') resource = route.plural;
      if (this.o.faults && !(await this.injectFault(req, res, url))) return;
      verb = await this.dispatch(route, req, res, url, user);
    } catch (e) {
      const err = toApiError(e);
      if (!res.headersSent) sendJson(res, err.code, err.toStatus());
      else res.end();
    } finally {
      this.o.onRequest?.({ verb, resource, code: res.statusCode, durationMs: performance.now() - started });
    }
  }

  /** Applies a test fault; returns false when the request must not be handled further. */
  private async injectFault(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const watch = isTrue(url.searchParams.get('watch'));
    const action = this.o.faults!.beforeRequest({ method: req.method ?? 'GET', path: url.pathname, watch, query: url.searchParams, userAgent: req.headers['user-agent'] ?? '' });
    switch (action.kind) {
      case 'none': return true;
      case 'delay': await new Promise((r) => setTimeout(r, action.ms)); return true;
      case 'drop': req.socket.destroy(); return false;
      case 'half-open': req.resume(); return false;
      case 'status': {
        const err = new ApiError(action.code, action.code === 410 ? 'Expired' : action.code === 429 ? 'TooManyRequests' : 'InternalError',
          `injected fault: ${action.code}`, action.retryAfterSeconds !== undefined ? { retryAfterSeconds: action.retryAfterSeconds } : undefined);
        if (watch) {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(`${JSON.stringify({ type: 'ERROR', object: err.toStatus() })}\n`);
        } else {
          if (action.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(action.retryAfterSeconds));
          sendJson(res, err.code, err.toStatus());
        }
        return false;
      }
      case 'lose-response': {
        if (watch) { req.socket.destroy(); return false; }
        // Let the request run to its commit, then cut the connection instead of answering.
        const socket = req.socket;
        res.writeHead = (() => res) as typeof res.writeHead;
        res.write = (() => true) as typeof res.write;
        res.end = ((..._args: unknown[]) => { socket.destroy(); return res; }) as typeof res.end;
        return true;
      }
    }
  }

  private authenticate(req: IncomingMessage): UserInfo {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (m) {
      const presented = Buffer.from(m[1]!.trim());
      for (const [token, user] of this.o.tokens) {
        const expected = Buffer.from(token);
        if (presented.length === expected.length && timingSafeEqual(presented, expected)) return user;
      }
    }
    throw apiErrors.unauthorized();
  }

  private async dispatch(route: Route, req: IncomingMessage, res: ServerResponse, url: URL, user: UserInfo): Promise<string> {
    const q = url.searchParams;
    const method = (req.method ?? 'GET').toUpperCase();
    const readOnly = (): void => {
      if (method !== 'GET' && method !== 'HEAD') throw apiErrors.methodNotAllowed(`the server does not allow this method on the requested resource`);
    };
    switch (route.type) {
      case 'version': readOnly(); sendJson(res, 200, SERVER_VERSION); return 'GET';
      case 'api-versions': readOnly(); sendJson(res, 200, apiVersions(this.o.serverAddress())); return 'GET';
      case 'api-groups': readOnly(); sendJson(res, 200, apiGroupList(this.o.registry)); return 'GET';
      case 'api-group': {
        readOnly();
        const doc = apiGroup(this.o.registry, route.group);
        if (!doc) throw notFoundPath();
        sendJson(res, 200, doc);
        return 'GET';
      }
      case 'resource-list': {
        readOnly();
        const doc = apiResourceList(this.o.registry, route.group, route.version);
        if (!doc) throw notFoundPath();
        sendJson(res, 200, doc);
        return 'GET';
      }
      case 'openapi-v3-index':
      case 'openapi-v3': {
        readOnly();
        const r = this.o.openapi.serve(url.pathname, q.get('hash'), req.headers.accept);
        res.writeHead(r.status, { ...r.headers, ...(r.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(r.body)) } : {}) });
        res.end(r.body);
        return 'GET';
      }
      case 'openapi-v2':
      case 'unknown':
      case 'health':
        throw notFoundPath();
      case 'resource':
        return this.resource(route, method, req, res, q, user);
    }
  }

  private async resource(route: Extract<Route, { type: 'resource' }>, method: string, req: IncomingMessage, res: ServerResponse, q: URLSearchParams, user: UserInfo): Promise<string> {
    const t = this.o.registry.lookup(route.group, route.version, route.plural);
    if (!t) throw notFoundPath();
    const svc = this.o.service;
    const ns = t.namespaced ? route.namespace : '';
    if (!t.namespaced && route.namespace) throw notFoundPath();
    const sub = route.subresource;
    if (sub !== '' && !isKnownSubresource(t, sub)) throw notFoundPath();
    const ctx = this.context(q, user);

    if (route.name === '') {
      if (sub !== '') throw notFoundPath();
      switch (method) {
        case 'GET':
          if (isTrue(q.get('watch'))) { this.watch(t, ns, req, res, q); return 'WATCH'; }
          await this.list(t, ns, req, res, q);
          return 'LIST';
        case 'POST': {
          if (t.namespaced && !ns) throw apiErrors.methodNotAllowed('the server does not allow this method on the requested resource: create needs a namespace in the path');
          const body = decodeBody(await readBody(req), req.headers['content-type']);
          const created = await svc.create(t, ns, body, ctx);
          this.respond(res, ctx, 201, created, t, req);
          return 'CREATE';
        }
        case 'DELETE': {
          const options = await this.deleteOptions(req, q, ctx);
          const filter = compileFilter(t, ns, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined);
          const victims = svc.storage.list(resourceKey(t), filter.scope).filter((e) => filter.matches(e.object));
          const items: KubeObject[] = [];
          for (const v of victims) {
            try {
              items.push((await svc.delete(t, v.object.metadata.namespace ?? '', v.object.metadata.name ?? '', options, ctx)).object);
            } catch (e) {
              if (!(ApiError.is(e) && e.code === 404)) throw e;
            }
          }
          this.respond(res, ctx, 200, { kind: t.listKind, apiVersion: apiVersionOf(t), metadata: {}, items }, t, req, true);
          return 'DELETECOLLECTION';
        }
        default: throw apiErrors.methodNotAllowed('the server does not allow this method on the requested resource');
      }
    }

    const name = route.name;
    if (sub === 'scale') return this.scale(t, ns, name, method, req, res, ctx);
    if (sub === 'binding') {
      if (method !== 'POST') throw apiErrors.methodNotAllowed('the server does not allow this method on the requested resource');
      const body = decodeBody(await readBody(req), req.headers['content-type']) as { target?: { name?: string } };
      const target = body?.target?.name;
      if (!target) throw apiErrors.invalid('', 'Binding', name, [{ type: 'FieldValueRequired', field: 'target.name' }]);
      const pod = svc.get(t, ns, name);
      const current = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
      if (current) throw apiErrors.conflict({ group: '', resource: 'pods' }, name, `pod ${name} is already assigned to node "${current}"`);
      await svc.patch(t, ns, name, 'merge', { spec: { nodeName: target } }, ctx);
      // As the API server's binding does: the pod is now scheduled (conditions merge by type).
      await svc.patch(t, ns, name, 'strategic', {
        status: { conditions: [{ type: 'PodScheduled', status: 'True', reason: null, message: null, lastProbeTime: null, lastTransitionTime: formatTime(svc.now()) }] },
      }, ctx, 'status');
      sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      return 'CREATE';
    }
    const subresource = sub === 'status' ? 'status' : '';
    switch (method) {
      case 'GET': {
        const obj = svc.get(t, ns, name);
        if (isTrue(q.get('watch'))) throw apiErrors.badRequest('watch of a single object: use a fieldSelector of metadata.name on the collection');
        this.respond(res, ctx, 200, obj, t, req);
        return 'GET';
      }
      case 'PUT': {
        const body = decodeBody(await readBody(req), req.headers['content-type']);
        const updated = await svc.update(t, ns, name, body, ctx, subresource);
        this.respond(res, ctx, 200, updated, t, req);
        return 'UPDATE';
      }
      case 'PATCH': {
        const type = patchTypeOf(req.headers['content-type']);
        const patch = decodeBody(await readBody(req), 'application/json');
        const patched = await svc.patch(t, ns, name, type, patch, ctx, subresource);
        this.respond(res, ctx, 200, patched, t, req);
        return 'PATCH';
      }
      case 'DELETE': {
        if (subresource !== '') throw apiErrors.methodNotAllowed('the server does not allow this method on the requested resource');
        const options = await this.deleteOptions(req, q, ctx);
        const result = await svc.delete(t, ns, name, options, ctx);
        if (result.removed && !(t.builtin && t.kind === 'Pod')) {
          this.respond(res, ctx, 200, {
            kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success',
            details: { name, group: t.group, kind: t.plural, uid: result.object.metadata.uid },
          }, t, req, true);
        } else {
          this.respond(res, ctx, result.removed ? 200 : 202, result.object, t, req);
        }
        return 'DELETE';
      }
      default: throw apiErrors.methodNotAllowed('the server does not allow this method on the requested resource');
    }
  }

  private async scale(t: ResourceType, ns: string, name: string, method: string, req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<string> {
    const svc = this.o.service;
    const scaleSpec = t.subresources.scale!;
    const current = svc.get(t, ns, name);
    const toScale = (obj: KubeObject): KubeObject => ({
      kind: 'Scale', apiVersion: 'autoscaling/v1',
      metadata: {
        name: obj.metadata.name, ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}),
        uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion, creationTimestamp: obj.metadata.creationTimestamp,
      },
      spec: { replicas: numberAt(obj, scaleSpec.specReplicasPath) },
      status: {
        replicas: numberAt(obj, scaleSpec.statusReplicasPath),
        ...(scaleSpec.labelSelectorPath ? selectorAt(obj, scaleSpec.labelSelectorPath) : {}),
      },
    });
    if (method === 'GET') { sendJson(res, 200, toScale(current)); return 'GET'; }
    if (method !== 'PUT' && method !== 'PATCH') throw apiErrors.methodNotAllowed('the server does not allow this method on the requested resource');
    const raw = await readBody(req);
    let desired: KubeObject;
    if (method === 'PUT') desired = decodeBody(raw, req.headers['content-type']) as KubeObject;
    else {
      const type = patchTypeOf(req.headers['content-type']);
      const patchDoc = decodeBody(raw, 'application/json');
      // Scale is a built-in kind with no list fields: a strategic merge patch on it is a merge patch.
      desired = this.o.patches.apply(type === 'strategic' ? 'merge' : type, toScale(current), patchDoc, { ...t, kind: 'Scale', builtin: true });
    }
    const replicas = (desired?.spec as { replicas?: unknown } | undefined)?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw apiErrors.invalid('autoscaling', 'Scale', name, [{ type: 'FieldValueInvalid', field: 'spec.replicas', badValue: replicas ?? null, detail: 'must be greater than or equal to 0' }]);
    }
    const rv = desired.metadata?.resourceVersion;
    if (rv && parseResourceVersion(rv, 'metadata.resourceVersion') !== Number(current.metadata.resourceVersion)) {
      throw apiErrors.conflict({ group: t.group, resource: t.plural }, name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    const updated = await svc.patch(t, ns, name, 'merge', nestedPatch(scaleSpec.specReplicasPath, replicas), ctx);
    setWarnings(res, ctx.warnings);
    sendJson(res, 200, toScale(updated));
    return 'UPDATE';
  }

  private async list(t: ResourceType, ns: string, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const limit = parseOptionalInt(q.get('limit'), 'limit');
    const result = listEntries(this.o.service.storage, t, {
      namespace: ns,
      ...(q.get('labelSelector') ? { labelSelector: q.get('labelSelector')! } : {}),
      ...(q.get('fieldSelector') ? { fieldSelector: q.get('fieldSelector')! } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(q.get('continue') ? { continueToken: q.get('continue')! } : {}),
    });
    const listMeta = {
      resourceVersion: String(result.resourceVersion),
      ...(result.continueToken ? { continue: result.continueToken } : {}),
      ...(result.remainingItemCount !== undefined ? { remainingItemCount: result.remainingItemCount } : {}),
    };
    if (wantsTable(req.headers.accept)) {
      sendJson(res, 200, toTable(t, result.items.map((e) => this.o.service.present(t, e.object)), this.o.service.now(), includeObjectOf(q), listMeta));
      return;
    }
    // Items were serialised at commit: splice them in rather than stringify 30,000 pods again, and stream them
    // in batches so a list of everything never builds one 50 MB string.
    const head = JSON.stringify({ kind: t.listKind, apiVersion: apiVersionOf(t), metadata: listMeta });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(`${head.slice(0, -1)},"items":[`);
    for (let i = 0; i < result.items.length; i += LIST_WRITE_BATCH) {
      const batch = result.items.slice(i, i + LIST_WRITE_BATCH).map((e) => this.o.service.presentJson(t, e)).join(',');
      const more = res.write(i === 0 ? batch : `,${batch}`);
      if (!more && !res.destroyed) await once(res, 'drain');
    }
    res.end(']}');
  }

  private watch(t: ResourceType, ns: string, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): void {
    const filter = compileFilter(t, ns, q.get('labelSelector') ?? undefined, q.get('fieldSelector') ?? undefined);
    const rvText = q.get('resourceVersion') ?? '';
    const sendInitial = q.get('sendInitialEvents');
    let from: number | undefined;
    if (rvText !== '' && rvText !== '0') from = parseResourceVersion(rvText, 'resourceVersion');
    if (sendInitial === 'true') from = undefined;
    const table = wantsTable(req.headers.accept);
    const include = includeObjectOf(q);
    const bookmarks = isTrue(q.get('allowWatchBookmarks'));
    const timeoutSeconds = parseOptionalInt(q.get('timeoutSeconds'), 'timeoutSeconds');
    const limit = this.o.watchBufferLimitBytes ?? 64 * 1024 * 1024;

    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    let closed = false;
    let firstTable = true;
    const write = (line: string | Buffer): void => {
      if (closed) return;
      res.write(line);
      if (res.writableLength > limit) finish();
    };
    const eventLine = (type: string, entry: StoredEntry): string | Buffer => {
      if (!table) return this.watchLine(t, type, entry);
      const obj = this.o.service.present(t, entry.object);
      const tbl = toTable(t, [obj], this.o.service.now(), include, { resourceVersion: obj.metadata.resourceVersion ?? '' }, firstTable);
      firstTable = false;
      return `${JSON.stringify({ type, object: tbl })}\n`;
    };
    const bookmark = (extra: Record<string, string> = {}): void => {
      const meta = { resourceVersion: String(this.o.service.storage.resourceVersion), ...(Object.keys(extra).length ? { annotations: extra } : {}) };
      write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: t.kind, apiVersion: apiVersionOf(t), metadata: meta } })}\n`);
    };
    const stop = this.o.hub.start(resourceKey(t), { ...(filter.scope.namespace !== undefined ? { namespace: filter.scope.namespace } : {}), matches: filter.matches }, from,
      { deliver: (type, entry) => write(eventLine(type, entry)) });
    if (stop === 'gone') {
      const oldest = this.o.service.storage.oldestWatchable(resourceKey(t));
      const status = apiErrors.gone(`too old resource version: ${rvText} (${oldest})`).toStatus();
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    if (sendInitial === 'true' && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    this.openWatches.add(res);
    const timers: NodeJS.Timeout[] = [];
    const finish = (): void => {
      if (closed) return;
      closed = true;
      stop();
      for (const tm of timers) clearTimeout(tm);
      this.openWatches.delete(res);
      res.end();
    };
    if (bookmarks) timers.push(setInterval(() => bookmark(), this.o.bookmarkIntervalMs ?? 10000).unref());
    if (timeoutSeconds !== undefined && timeoutSeconds > 0) timers.push(setTimeout(finish, Math.min(timeoutSeconds * 1000, 2 ** 31 - 1)).unref());
    req.on('close', finish);
    res.on('close', finish);
  }

  /**
   * The encoded watch event for an entry, built once and shared by every watcher that gets the same event (a
   * write to a pod watched by 100 informers is serialised once, not 100 times).
   */
  private watchLine(t: ResourceType, type: string, entry: StoredEntry): Buffer {
    const apiVersion = apiVersionOf(t);
    let cached = this.lineCache.get(entry);
    if (!cached) { cached = new Map(); this.lineCache.set(entry, cached); }
    const k = `${type} ${apiVersion}`;
    let line = cached.get(k);
    if (!line) {
      line = Buffer.from(`{"type":"${type}","object":${this.o.service.presentJson(t, entry)}}\n`);
      cached.set(k, line);
    }
    return line;
  }

  private context(q: URLSearchParams, user: UserInfo): RequestContext {
    const dryRun = q.getAll('dryRun');
    for (const d of dryRun) if (d !== DRY_RUN_ALL) throw apiErrors.badRequest(`Invalid dryRun value: ${JSON.stringify(d)}: supported values: "All"`);
    const fv = q.get('fieldValidation') ?? 'Warn';
    if (fv !== 'Strict' && fv !== 'Warn' && fv !== 'Ignore') {
      throw apiErrors.badRequest(`Invalid fieldValidation: ${JSON.stringify(fv)}: supported values: "Ignore", "Strict", "Warn"`);
    }
    return { user, dryRun: dryRun.length > 0, fieldValidation: fv as FieldValidation, warnings: [], bodyOwned: true };
  }

  private async deleteOptions(req: IncomingMessage, q: URLSearchParams, ctx: RequestContext): Promise<DeleteOptions> {
    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    if (raw.length > 0 && raw.toString('utf8').trim() !== '') {
      const decoded = decodeBody(raw, req.headers['content-type']);
      if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) throw apiErrors.badRequest('DeleteOptions must be an object');
      body = decoded as Record<string, unknown>;
    }
    const policy = (body.propagationPolicy ?? q.get('propagationPolicy') ?? undefined) as string | undefined;
    if (policy !== undefined && policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
      throw apiErrors.badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`);
    }
    const grace = body.gracePeriodSeconds ?? parseOptionalInt(q.get('gracePeriodSeconds'), 'gracePeriodSeconds');
    if (grace !== undefined && (typeof grace !== 'number' || !Number.isInteger(grace))) throw apiErrors.badRequest('gracePeriodSeconds must be an integer');
    const dryRun = body.dryRun;
    if (Array.isArray(dryRun) && dryRun.includes(DRY_RUN_ALL)) ctx.dryRun = true;
    const orphan = body.orphanDependents ?? (q.get('orphanDependents') === null ? undefined : isTrue(q.get('orphanDependents')));
    const pre = body.preconditions as DeleteOptions['preconditions'] | undefined;
    return {
      ...(policy ? { propagationPolicy: policy as DeleteOptions['propagationPolicy'] } : {}),
      ...(grace !== undefined ? { gracePeriodSeconds: grace as number } : {}),
      ...(pre ? { preconditions: pre } : {}),
      ...(orphan !== undefined ? { orphanDependents: orphan === true } : {}),
    };
  }

  private respond(res: ServerResponse, ctx: RequestContext, code: number, obj: unknown, t: ResourceType, req: IncomingMessage, raw = false): void {
    setWarnings(res, ctx.warnings);
    if (!raw && wantsTable(req.headers.accept) && obj && typeof obj === 'object' && (obj as KubeObject).kind === t.kind) {
      sendJson(res, code, toTable(t, [obj as KubeObject], this.o.service.now(), 'Metadata'));
      return;
    }
    sendJson(res, code, obj);
  }
}

function isKnownSubresource(t: ResourceType, sub: string): boolean {
  if (sub === 'status') return t.subresources.status;
  if (sub === 'scale') return t.subresources.scale !== undefined;
  if (sub === 'binding') return t.builtin && t.kind === 'Pod';
  return false;
}

function numberAt(obj: KubeObject, path: string): number {
  let v: unknown = obj;
  for (const p of path.replace(/^\./, '').split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return typeof v === 'number' ? v : 0;
}

function selectorAt(obj: KubeObject, path: string): { selector?: string } {
  let v: unknown = obj;
  for (const p of path.replace(/^\./, '').split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  if (typeof v === 'string') return { selector: v };
  if (v && typeof v === 'object') {
    const ml = (v as { matchLabels?: Record<string, string> }).matchLabels ?? {};
    return { selector: Object.entries(ml).map(([k, x]) => `${k}=${x}`).join(',') };
  }
  return {};
}

function nestedPatch(path: string, value: unknown): Record<string, unknown> {
  const parts = path.replace(/^\./, '').split('.');
  let out: unknown = value;
  for (let i = parts.length - 1; i >= 0; i--) out = { [parts[i]!]: out };
  return out as Record<string, unknown>;
}

function patchTypeOf(contentType: string | undefined): PatchType {
  const mt = mediaType(contentType);
  const type = PATCH_TYPES[mt];
  if (!type) {
    if (mt === 'application/apply-patch+yaml') {
      throw new ApiError(415, 'UnsupportedMediaType', 'server-side apply is not supported by the kruise-ts sandbox: use client-side `kubectl apply` (the default)');
    }
    throw apiErrors.unsupportedMediaType(mt || '<none>');
  }
  return type;
}

function includeObjectOf(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'Object' || v === 'None' ? v : 'Metadata';
}

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1';
}

function parseOptionalInt(v: string | null, name: string): number | undefined {
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw apiErrors.badRequest(`${name}: Invalid value: ${JSON.stringify(v)}: must be an integer`);
  return Number(v);
}

function notFoundPath(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', { causes: [{ reason: 'UnexpectedServerResponse', message: '404 page not found' }] });
}

function toApiError(e: unknown): ApiError {
  if (ApiError.is(e)) return e;
  if (KruiseError.is(e) && (e.reason === 'BadRequest' || e.reason === 'Invalid')) return apiErrors.badRequest(e.message);
  return apiErrors.internal(e instanceof Error ? e.message : String(e));
}

function setWarnings(res: ServerResponse, warnings: string[]): void {
  if (warnings.length === 0 || res.headersSent) return;
  const unique = [...new Set(warnings)];
  res.setHeader('Warning', unique.map((w) => `299 - ${JSON.stringify(w.replace(/[\r\n]+/g, ' '))}`));
}

export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
