/**
 * The HTTPS transport of the admission webhooks: AdmissionReview v1 (and v1beta1, answered in kind) over
 * node:https, routed by path to transport-free handlers. The server never lets a handler take it down:
 *
 * - a request that is not a review (wrong method, media type, oversized or undecodable body, missing uid/kind/
 *   operation) gets an HTTP 4xx with a metav1.Status body naming the reason;
 * - a handler that throws gets a denial (`allowed: false`, code 500) carrying the error's message;
 * - every review is bounded in time: the smaller of `requestTimeoutMs` and 90 % of the deadline the API server
 *   sends (`?timeout=10s`); past it the handler's signal aborts and the review is denied with 504.
 *
 * Certificates: given PEM at start; with `certDir`, `tls.crt`/`tls.key` are re-read when the directory changes
 * (fs.watch, which catches Secret-volume symlink swaps) and on a periodic poll (fs.watch is not reliable on every
 * file system), and a changed pair is swapped in with `server.setSecureContext` — new connections use it,
 * established ones keep theirs. A pair that does not load is logged and the old one kept.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { EventEmitter, setMaxListeners } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { readCertDir } from './certificates.js';
import type { AdmissionMetrics } from './metrics.js';
import { errored } from './responses.js';
import {
  isRecord, type AdmissionHandler, type AdmissionOperation, type AdmissionRequest, type AdmissionResponse, type HandlerContext,
} from './types.js';

export interface WebhookServerOptions {
  /** @default '0.0.0.0' */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** The initial serving certificate. */
  certPem: string;
  keyPem: string;
  /** Watch this directory's `tls.crt`/`tls.key` and reload them when they change. */
  certDir?: string;
  /** Path (`/validate-namespace`) → handler. */
  routes: ReadonlyMap<string, AdmissionHandler>;
  logger: Logger;
  metrics?: AdmissionMetrics;
  /** @default () => new Date() */
  now?: () => Date;
  /** Largest request body. @default 7 MiB (object and oldObject near etcd's 1.5 MiB limit, plus envelope) */
  maxBodyBytes?: number;
  /** Upper bound of one review, whatever the API server allows. @default 25000 (the API's max is 30 s) */
  requestTimeoutMs?: number;
  /** Poll of `certDir`, besides fs.watch. @default 10000 */
  certPollIntervalMs?: number;
}

interface CompiledOptions {
  host: string;
  port: number;
  certDir: string | undefined;
  routes: ReadonlyMap<string, AdmissionHandler>;
  logger: Logger;
  metrics: AdmissionMetrics | undefined;
  now: () => Date;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  certPollIntervalMs: number;
}

/** Node's timer limit. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0 || v > MAX_TIMER_MS) throw new RangeError(`${name} must be a positive integer up to ${MAX_TIMER_MS}, got ${String(value)}`);
  return v;
}

function compileOptions(o: WebhookServerOptions): Readonly<CompiledOptions> {
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new RangeError(`port must be 0..65535, got ${String(o.port)}`);
  return Object.freeze({
    host: o.host ?? '0.0.0.0',
    port: o.port,
    certDir: o.certDir,
    routes: o.routes,
    logger: o.logger.child({ component: 'admission-webhook-server' }),
    metrics: o.metrics,
    now: o.now ?? (() => new Date()),
    maxBodyBytes: positiveInt('maxBodyBytes', o.maxBodyBytes, 7 * 1024 * 1024),
    requestTimeoutMs: positiveInt('requestTimeoutMs', o.requestTimeoutMs, 25_000),
    certPollIntervalMs: positiveInt('certPollIntervalMs', o.certPollIntervalMs, 10_000),
  });
}

/** An HTTP-level refusal: the body is not a review we can answer. */
class BadRequest extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
  }
}

const OPERATIONS: ReadonlySet<string> = new Set<AdmissionOperation>(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);
const REVIEW_VERSIONS = new Set(['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']);

/** Checks the envelope and the fields every handler relies on; the objects themselves are the handlers' to decode. */
export function parseReview(body: unknown): { apiVersion: string; request: AdmissionRequest } {
  if (!isRecord(body)) throw new BadRequest(400, 'BadRequest', 'the request body is not a JSON object');
  const apiVersion = body['apiVersion'];
  if (body['kind'] !== 'AdmissionReview' || typeof apiVersion !== 'string' || !REVIEW_VERSIONS.has(apiVersion)) {
    throw new BadRequest(400, 'BadRequest', `expected an admission.k8s.io/v1 AdmissionReview, got apiVersion=${JSON.stringify(apiVersion ?? '')} kind=${JSON.stringify(body['kind'] ?? '')}`);
  }
  const r = body['request'];
  if (!isRecord(r)) throw new BadRequest(400, 'BadRequest', 'the AdmissionReview has no request');
  if (typeof r['uid'] !== 'string' || r['uid'] === '') throw new BadRequest(400, 'BadRequest', 'request.uid must be a non-empty string');
  const kind = r['kind'];
  if (!isRecord(kind) || typeof kind['kind'] !== 'string' || typeof kind['version'] !== 'string' || (kind['group'] !== undefined && typeof kind['group'] !== 'string')) {
    throw new BadRequest(400, 'BadRequest', 'request.kind must be a group/version/kind');
  }
  if (typeof r['operation'] !== 'string' || !OPERATIONS.has(r['operation'])) {
    throw new BadRequest(400, 'BadRequest', `request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got ${JSON.stringify(r['operation'] ?? '')}`);
  }
  for (const f of ['name', 'namespace', 'subResource'] as const) {
    if (r[f] !== undefined && typeof r[f] !== 'string') throw new BadRequest(400, 'BadRequest', `request.${f} must be a string`);
  }
  const resource = isRecord(r['resource']) ? r['resource'] : {};
  const request: AdmissionRequest = {
    ...(r as unknown as AdmissionRequest),
    kind: { group: (kind['group'] as string | undefined) ?? '', version: kind['version'], kind: kind['kind'] },
    resource: {
      group: typeof resource['group'] === 'string' ? resource['group'] : '',
      version: typeof resource['version'] === 'string' ? resource['version'] : '',
      resource: typeof resource['resource'] === 'string' ? resource['resource'] : '',
    },
    userInfo: isRecord(r['userInfo']) ? r['userInfo'] as AdmissionRequest['userInfo'] & object : {},
  };
  return { apiVersion, request };
}

/** `?timeout=10s` (client-go's rendering of the webhook's timeoutSeconds) in ms, or undefined. */
function parseTimeoutQuery(value: string | null): number | undefined {
  if (value === null) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
  return ms > 0 ? ms : undefined;
}

function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

export type WebhookServerEvents = {
  /** A changed certificate pair from certDir is in use. */
  reload: [];
  /** Reading or loading certDir failed; the previous pair stays. */
  'reload-error': [Error];
};

export class WebhookServer extends EventEmitter<WebhookServerEvents> {
  private readonly o: Readonly<CompiledOptions>;
  private readonly server: Server;
  private readonly closing = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();
  private current: { certPem: string; keyPem: string };
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private reloading: Promise<boolean> = Promise.resolve(false);
  private closed: Promise<void> | undefined;

  private constructor(o: Readonly<CompiledOptions>, certPem: string, keyPem: string) {
    super();
    this.o = o;
    this.current = { certPem, keyPem };
    // Each review in flight listens on it (two listeners, removed when it ends): many at once is load, not a leak.
    setMaxListeners(0, this.closing.signal);
    this.server = createServer({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' }, (req, res) => this.serve(req, res));
    // Bounds a slow client before the handler runs (headers and body); the handler has its own bound.
    this.server.requestTimeout = o.requestTimeoutMs + 5_000;
    this.server.headersTimeout = Math.min(60_000, o.requestTimeoutMs + 5_000);
    this.server.on('tlsClientError', (err) => this.o.logger.debug({ err }, 'TLS handshake failed'));
  }

  static async start(options: WebhookServerOptions): Promise<WebhookServer> {
    const o = compileOptions(options);
    // Fails here, not at the first handshake, when the pair does not load.
    checkPair(options.certPem, options.keyPem);
    const s = new WebhookServer(o, options.certPem, options.keyPem);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(o.port, o.host, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    s.server.on('error', (err) => s.o.logger.error({ err }, 'webhook server error'));
    if (o.certDir !== undefined) s.watchCertDir(o.certDir);
    s.o.logger.info({ host: o.host, port: s.port, paths: [...o.routes.keys()] }, 'admission webhook server listening');
    return s;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The serving certificate in use (PEM). */
  get certificatePem(): string {
    return this.current.certPem;
  }

  private watchCertDir(dir: string): void {
    const trigger = () => { void this.reloadCertificates(); };
    try {
      this.watcher = watch(dir, { persistent: false }, trigger);
      this.watcher.on('error', (err) => this.o.logger.warn({ err, dir }, 'cert-dir watch failed; polling only'));
    } catch (err) {
      this.o.logger.warn({ err, dir }, 'cannot watch cert-dir; polling only');
    }
    this.poll = setInterval(trigger, this.o.certPollIntervalMs);
    this.poll.unref();
  }

  /**
   * Re-reads certDir and swaps the pair in when it changed. Resolves true when swapped. Reloads are serialised.
   * Exposed for callers that know the files changed (and for tests).
   */
  reloadCertificates(): Promise<boolean> {
    const dir = this.o.certDir;
    if (dir === undefined) return Promise.resolve(false);
    this.reloading = this.reloading.then(async () => {
      try {
        const next = await readCertDir(dir);
        if (next.certPem === this.current.certPem && next.keyPem === this.current.keyPem) return false;
        checkPair(next.certPem, next.keyPem);
        this.server.setSecureContext({ cert: next.certPem, key: next.keyPem, minVersion: 'TLSv1.2' });
        this.current = { certPem: next.certPem, keyPem: next.keyPem };
        this.o.logger.info({ dir }, 'serving certificate reloaded');
        this.emit('reload');
        return true;
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        // A half-written pair is normal mid-rotation: the next change or poll retries.
        this.o.logger.warn({ err, dir }, 'serving certificate not reloaded; keeping the previous one');
        this.emit('reload-error', err);
        return false;
      }
    });
    return this.reloading;
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const work = this.handle(req, res).catch((err: unknown) => {
      // Only a bug in this file gets here; answer if we still can.
      this.o.logger.error({ err }, 'unexpected error serving an admission review');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(statusBody(500, 'InternalError', 'internal error'));
    });
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'https://webhook.invalid');
    const route = this.o.routes.get(url.pathname);
    const metricPath = route ? url.pathname : 'unknown';
    const done = (result: string) => this.o.metrics?.observeRequest(metricPath, result, (performance.now() - started) / 1000);
    const refuse = (code: number, reason: string, message: string) => {
      res.writeHead(code, { 'content-type': 'application/json', connection: code === 413 ? 'close' : 'keep-alive' })
        .end(statusBody(code, reason, message));
      done('bad_request');
    };

    if (req.method === 'GET' && (url.pathname === '/healthz' || url.pathname === '/readyz')) {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (!route) {
      req.resume();
      refuse(404, 'NotFound', `no admission webhook at ${url.pathname}`);
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      refuse(405, 'MethodNotAllowed', `method ${req.method ?? ''} is not allowed; admission reviews are POSTed`);
      return;
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/json') {
      req.resume();
      refuse(415, 'UnsupportedMediaType', `contentType=${contentType ?? ''}, expected application/json`);
      return;
    }

    let review: { apiVersion: string; request: AdmissionRequest };
    try {
      const text = await readBody(req, this.o.maxBodyBytes);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new BadRequest(400, 'BadRequest', `couldn't decode the request body as JSON: ${(e as Error).message}`);
      }
      review = parseReview(parsed);
    } catch (e) {
      if (e instanceof BadRequest) {
        refuse(e.code, e.reason, e.message);
        if (e.code === 413) req.destroy();
        return;
      }
      // The client went away mid-body: nobody to answer.
      this.o.logger.debug({ err: e }, 'reading an admission review failed');
      res.destroy();
      done('bad_request');
      return;
    }

    const { apiVersion, request } = review;
    const fromApi = parseTimeoutQuery(url.searchParams.get('timeout'));
    const boundMs = Math.max(1, Math.floor(Math.min(this.o.requestTimeoutMs, fromApi === undefined ? Infinity : fromApi * 0.9)));
    const response = await this.runHandler(route, request, url.pathname, boundMs);
    const result = response.allowed ? 'allowed' : response.status?.code === 504 ? 'timeout' : 'denied';
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(encodeReview(apiVersion, request.uid, response)));
    done(result);
  }

  private async runHandler(handler: AdmissionHandler, request: AdmissionRequest, path: string, boundMs: number): Promise<AdmissionResponse> {
    const deadline = new AbortController();
    const signal = AbortSignal.any([deadline.signal, this.closing.signal]);
    const logger = this.o.logger.child({ path, uid: request.uid, kind: request.kind.kind, operation: request.operation,
      namespace: request.namespace, name: request.name });
    const ctx: HandlerContext = { signal, logger, now: this.o.now };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<AdmissionResponse>((resolve) => {
      const fire = () => {
        deadline.abort(new Error(`admission handler timed out after ${boundMs} ms`));
        resolve(errored(504, `admission webhook ${path} did not answer within ${boundMs} ms`));
      };
      timer = setTimeout(fire, boundMs);
      timer.unref();
      this.closing.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(errored(503, 'the admission webhook server is shutting down'));
      }, { once: true, signal: deadline.signal });
    });
    try {
      return await Promise.race([
        Promise.resolve().then(() => handler(request, ctx)).then(checkResponse),
        timedOut,
      ]);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      logger.error({ err: e }, 'admission handler failed');
      return errored(500, message === '' ? 'admission handler failed' : message);
    } finally {
      clearTimeout(timer);
      if (!deadline.signal.aborted) deadline.abort(new Error('admission review answered'));
    }
  }

  /**
   * Stops accepting connections, lets reviews in flight finish for up to `graceMs`, then aborts them (their
   * signals fire; they are answered 503) and closes every connection. Idempotent.
   */
  close(graceMs = 5_000): Promise<void> {
    this.closed ??= (async () => {
      this.watcher?.close();
      clearInterval(this.poll);
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      if (this.inFlight.size > 0) {
        let graceTimer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((resolve) => { graceTimer = setTimeout(resolve, Math.min(graceMs, MAX_TIMER_MS)); graceTimer.unref(); });
        await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
        clearTimeout(graceTimer);
      }
      this.closing.abort(new Error('webhook server closing'));
      await Promise.allSettled([...this.inFlight]);
      this.server.closeAllConnections();
      await stopped;
      this.o.logger.info('admission webhook server stopped');
    })();
    return this.closed;
  }
}

/**
 * Throws unless `certPem` holds a certificate whose public key matches `keyPem`. createSecureContext alone accepts
 * an empty certificate (a file caught mid-write), which would then fail every handshake.
 */
function checkPair(certPem: string, keyPem: string): void {
  const cert = new X509Certificate(certPem);
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the private key does not match the certificate');
  createSecureContext({ cert: certPem, key: keyPem });
}

/** A handler's answer must be a response object; anything else is a handler bug, answered as an error. */
function checkResponse(r: unknown): AdmissionResponse {
  if (!isRecord(r) || typeof r['allowed'] !== 'boolean') throw new Error('admission handler returned no response');
  return r as unknown as AdmissionResponse;
}

function encodeReview(apiVersion: string, uid: string, r: AdmissionResponse): object {
  const response: Record<string, unknown> = { uid, allowed: r.allowed };
  if (r.status) response['status'] = { ...r.status, status: r.allowed ? 'Success' : 'Failure' };
  if (r.patch && r.patch.length > 0) {
    response['patchType'] = 'JSONPatch';
    response['patch'] = Buffer.from(JSON.stringify(r.patch), 'utf8').toString('base64');
  }
  if (r.warnings && r.warnings.length > 0) response['warnings'] = r.warnings;
  return { apiVersion, kind: 'AdmissionReview', response };
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new BadRequest(413, 'RequestEntityTooLarge', `request body of ${declared} bytes is larger than ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(new BadRequest(413, 'RequestEntityTooLarge', `request body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
    req.once('aborted', () => reject(new Error('request aborted')));
  });
}
