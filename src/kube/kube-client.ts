/**
 * The one HTTP boundary to the Kubernetes API for our controllers and agents. Credentials and TLS come from a
 * ClusterAccess (our lean kubeconfig loader, or a client-node KubeConfig in tests and the sandbox); requests go over a
 * keep-alive node:https agent, are rate limited (QPS/burst), carry our user agent, are bounded in time, and
 * fail with KubeApiError carrying the Status reason and code. Watches stream newline-delimited events.
 */
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import type { KubeObject } from '../api/meta.js';
import { KubeApiError, networkError } from './kube-api-error.js';
import type { ResourceRef } from './resource-ref.js';
import { collectionPath, objectPath } from './resource-ref.js';
import { TokenBucket } from './token-bucket.js';
import type { ClusterAccess } from './kubeconfig-loader.js';

export type PatchType = 'merge' | 'json' | 'strategic';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

export interface RequestObserver {
  observeRequest(info: { verb: string; resource: string; code: number; durationMs: number }): void;
}

export interface KubeClientOptions {
  /** Where the server, TLS and credentials come from (client-node's KubeConfig satisfies it too). */
  kubeConfig: ClusterAccess;
  /** Sustained requests per second. */
  qps: number;
  /** Requests allowed at once above the sustained rate. */
  burst: number;
  /** `kruise-ts/<version> (<role>)`. */
  userAgent: string;
  /** Per-attempt timeout of ordinary requests. @default 30000 */
  requestTimeoutMs?: number;
  observer?: RequestObserver;
}

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** For metrics: the resource plural. */
  resource?: string;
  /** For metrics: GET, LIST, CREATE, ...; defaults to the method. */
  verb?: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  signal?: AbortSignal;
  /** No-progress bound of this call (default: the client's request timeout). */
  timeoutMs?: number;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T extends KubeObject = KubeObject> { type: WatchEventType; object: T }

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal: AbortSignal;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  signal?: AbortSignal;
}

/** How long the TLS/auth options from the ClusterAccess are reused before asking it again (tokens rotate). */
const AUTH_REFRESH_MS = 60_000;
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export class KubeClient {
  readonly server: string;
  private readonly socketPath: string | undefined;
  private readonly bucket: TokenBucket;
  private readonly agent: Agent | HttpAgent;
  private auth: { at: number; options: Promise<RequestOptions> } | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly o: KubeClientOptions) {
    const cluster = o.kubeConfig.getCurrentCluster();
    if (!cluster) throw new KubeApiError('the kubeconfig has no current cluster', { code: 0, reason: 'BadRequest' });
    this.server = cluster.server.replace(/\/+$/, '');
    this.socketPath = cluster.socketPath;
    if (this.socketPath !== undefined && !this.server.startsWith('http:')) {
      throw new KubeApiError(`a cluster reached through a Unix socket must have an http:// server, got ${this.server}`, { code: 0, reason: 'BadRequest' });
    }
    this.bucket = new TokenBucket(o.qps, o.burst);
    this.agent = this.server.startsWith('https:') ? new Agent({ keepAlive: true, maxSockets: 64 }) : new HttpAgent({ keepAlive: true, maxSockets: 64 });
    this.timeoutMs = o.requestTimeoutMs ?? 30_000;
  }

  get userAgent(): string { return this.o.userAgent; }

  /** Closes idle keep-alive sockets. */
  close(): void { this.agent.destroy(); }

  private authOptions(): Promise<RequestOptions> {
    const now = Date.now();
    if (!this.auth || now - this.auth.at > AUTH_REFRESH_MS) {
      const opts: RequestOptions = {};
      const p = this.o.kubeConfig.applyToHTTPSOptions(opts).then(() => opts);
      this.auth = { at: now, options: p };
      p.catch(() => { this.auth = undefined; });
    }
    return this.auth.options;
  }

  private url(path: string, query?: RequestSpec['query']): URL {
    const u = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
    return u;
  }

  private async open(spec: RequestSpec, stream: boolean): Promise<IncomingMessage> {
    await this.bucket.take(spec.signal);
    const auth = await this.authOptions();
    const url = this.url(spec.path, spec.query);
    const payload = spec.body === undefined ? undefined : Buffer.from(typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body));
    const headers: Record<string, string> = {
      // client-node puts basic auth in `auth` rather than a header.
      ...(auth.auth ? { Authorization: `Basic ${Buffer.from(auth.auth).toString('base64')}` } : {}),
      ...(auth.headers as Record<string, string> | undefined),
      'User-Agent': this.o.userAgent,
      Accept: 'application/json',
      ...(payload ? { 'Content-Type': spec.contentType ?? 'application/json', 'Content-Length': String(payload.length) } : {}),
    };
    const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const timeoutMs = spec.timeoutMs ?? this.timeoutMs;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = requestFn(url, {
        method: spec.method,
        agent: this.agent as Agent,
        ...(this.socketPath !== undefined ? { socketPath: this.socketPath } : {}),
        ...(url.protocol === 'https:' ? {
          ca: auth.ca, cert: auth.cert, key: auth.key, rejectUnauthorized: auth.rejectUnauthorized ?? true,
          ...(auth.servername ? { servername: auth.servername } : {}),
        } : {}),
        headers,
        ...(spec.signal ? { signal: spec.signal } : {}),
      }, (res) => {
        // A watch may rightly be quiet for minutes: its silence watchdog lives in the informer. Ordinary answers
        // keep the socket's idle timeout, so a body that stops arriving fails instead of hanging.
        if (stream) res.setTimeout(0);
        resolve(res);
      });
      // Until headers arrive the whole request is bounded; a stream is then governed by its own watchdog.
      req.setTimeout(timeoutMs, () => req.destroy(networkError(`request timed out after ${timeoutMs} ms`, 'Timeout')));
      req.on('error', (e) => reject(spec.signal?.aborted ? spec.signal.reason ?? e : KubeApiError.is(e) ? e : networkError(e.message)));
      req.end(payload);
    });
  }

  /** Sends one request and decodes its JSON answer; non-2xx answers throw KubeApiError. */
  async request<T = unknown>(spec: RequestSpec): Promise<T> {
    const started = performance.now();
    let code = 0;
    try {
      const res = await this.open(spec, false);
      code = res.statusCode ?? 0;
      const text = await readAll(res, MAX_RESPONSE_BYTES);
      let body: unknown;
      try { body = text === '' ? undefined : JSON.parse(text); } catch { body = text; }
      if (code < 200 || code >= 300) throw KubeApiError.fromResponse(code, body);
      return body as T;
    } finally {
      this.o.observer?.observeRequest({ verb: verbOf(spec), resource: spec.resource ?? '', code, durationMs: performance.now() - started });
    }
  }

  /**
   * Opens a watch and yields its events. The iterator ends when the server closes the stream; it throws on
   * transport errors. Aborting `signal` ends it.
   */
  async *watch<T extends KubeObject = KubeObject>(ref: ResourceRef, o: WatchOptions): AsyncGenerator<WatchEvent<T>> {
    const started = performance.now();
    let res: IncomingMessage;
    try {
      res = await this.open({
        method: 'GET', path: collectionPath(ref, o.namespace), signal: o.signal, resource: ref.plural,
        query: {
          watch: 'true', resourceVersion: o.resourceVersion, labelSelector: o.labelSelector, fieldSelector: o.fieldSelector,
          allowWatchBookmarks: o.allowWatchBookmarks ? 'true' : undefined, timeoutSeconds: o.timeoutSeconds,
        },
      }, true);
    } catch (e) {
      this.o.observer?.observeRequest({ verb: 'WATCH', resource: ref.plural, code: 0, durationMs: performance.now() - started });
      throw e;
    }
    const code = res.statusCode ?? 0;
    this.o.observer?.observeRequest({ verb: 'WATCH', resource: ref.plural, code, durationMs: performance.now() - started });
    if (code < 200 || code >= 300) {
      const text = await readAll(res, MAX_RESPONSE_BYTES).catch(() => '');
      let body: unknown;
      try { body = JSON.parse(text); } catch { body = text; }
      throw KubeApiError.fromResponse(code, body);
    }
    let buffered = '';
    try {
      for await (const chunk of res) {
        buffered += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === '') continue;
          let ev: WatchEvent<T>;
          try { ev = JSON.parse(line) as WatchEvent<T>; } catch {
            throw networkError(`undecodable watch event: ${line.slice(0, 200)}`);
          }
          yield ev;
        }
      }
    } catch (e) {
      if (o.signal.aborted) return;
      throw KubeApiError.is(e) ? e : networkError((e as Error).message);
    } finally {
      res.destroy();
    }
  }

  // -------------------------------------------------------------- typed helpers for objects

  get<T extends KubeObject = KubeObject>(ref: ResourceRef, namespace: string, name: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>({ method: 'GET', path: objectPath(ref, namespace, name), resource: ref.plural, ...(signal ? { signal } : {}) });
  }

  list<T extends KubeObject = KubeObject>(ref: ResourceRef, o: ListOptions = {}): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>({
      method: 'GET', verb: 'LIST', path: collectionPath(ref, o.namespace), resource: ref.plural, ...(o.signal ? { signal: o.signal } : {}),
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      query: { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector, limit: o.limit, continue: o.continueToken, resourceVersion: o.resourceVersion },
    });
  }

  create<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: KubeObject, signal?: AbortSignal): Promise<T> {
    return this.request<T>({ method: 'POST', path: collectionPath(ref, ref.namespaced ? obj.metadata.namespace ?? 'default' : undefined), body: obj, resource: ref.plural, ...(signal ? { signal } : {}) });
  }

  update<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: KubeObject, signal?: AbortSignal): Promise<T> {
    return this.request<T>({ method: 'PUT', path: objectPath(ref, obj.metadata.namespace ?? '', obj.metadata.name ?? ''), body: obj, resource: ref.plural, ...(signal ? { signal } : {}) });
  }

  /** PUT to `/status`: only the status of `obj` is taken. */
  updateStatus<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: KubeObject, signal?: AbortSignal): Promise<T> {
    return this.request<T>({ method: 'PUT', path: `${objectPath(ref, obj.metadata.namespace ?? '', obj.metadata.name ?? '')}/status`, body: obj, resource: ref.plural, ...(signal ? { signal } : {}) });
  }

  patch<T extends KubeObject = KubeObject>(ref: ResourceRef, namespace: string, name: string, type: PatchType, patch: unknown, o: { subresource?: 'status'; signal?: AbortSignal } = {}): Promise<T> {
    const path = objectPath(ref, namespace, name) + (o.subresource ? `/${o.subresource}` : '');
    return this.request<T>({ method: 'PATCH', path, body: patch, contentType: PATCH_CONTENT_TYPES[type], resource: ref.plural, ...(o.signal ? { signal: o.signal } : {}) });
  }

  delete(ref: ResourceRef, namespace: string, name: string, o: DeleteOptions = {}): Promise<unknown> {
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', ...(o.propagationPolicy ? { propagationPolicy: o.propagationPolicy } : {}),
      ...(o.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: o.gracePeriodSeconds } : {}), ...(o.preconditions ? { preconditions: o.preconditions } : {}) };
    return this.request({ method: 'DELETE', path: objectPath(ref, namespace, name), body, resource: ref.plural, ...(o.signal ? { signal: o.signal } : {}) });
  }
}

function verbOf(spec: RequestSpec): string {
  return spec.verb ?? spec.method;
}

async function readAll(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res) {
    size += (c as Buffer).length;
    if (size > limit) { res.destroy(); throw networkError(`response larger than ${limit} bytes`); }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
