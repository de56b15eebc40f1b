/**
 * How the chain reaches a webhook: `WebhookCaller` is the whole transport boundary (POST a review, get JSON back),
 * so the dispatch logic is tested without sockets and the sandbox can swap transports. `createHttpsWebhookCaller`
 * is the real one over node:https.
 *
 * Error texts imitate Go's net/http and client-go for the common failures (`Post "<url>": context deadline
 * exceeded`, `dial tcp …: connect: connection refused`, `x509: certificate signed by unknown authority`), so
 * messages read like a real cluster's; uncommon failures fall back to Node's own message.
 */
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { WebhookCallError } from './admission-errors.js';

/**
 * POSTs `review` as JSON to `url` and resolves with the parsed JSON body of a 2xx answer. `caBundlePem`, when
 * given, is the only trust root; otherwise Node's bundled roots are used. Must settle within `timeoutMs` and
 * when `signal` aborts; rejects with WebhookCallError.
 */
export interface WebhookCaller {
  (url: string, caBundlePem: string | undefined, review: object, timeoutMs: number, signal: AbortSignal): Promise<object>;
}

export interface HttpsWebhookCallerOptions {
  /** Largest response body accepted. @default 3 MiB (a patch for an object near etcd's 1.5 MiB limit fits). */
  maxResponseBytes?: number;
}

const DEFAULT_MAX_RESPONSE_BYTES = 3 * 1024 * 1024;
/** Node's setTimeout limit; longer delays fire immediately. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** Go-style text for a Node socket/TLS error. */
function transportText(err: NodeJS.ErrnoException & { host?: string; hostname?: string; address?: string; port?: number; reason?: string }, url: URL): string {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return `dial tcp ${err.address ?? url.hostname}:${String(err.port ?? url.port)}: connect: connection refused`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `dial tcp: lookup ${err.hostname ?? url.hostname}: no such host`;
  if (code === 'ECONNRESET') return 'read: connection reset by peer';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `dial tcp ${url.host}: connect: no route to host`;
  if (UNKNOWN_AUTHORITY.has(code)) return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `tls: failed to verify certificate: x509: certificate is not valid for ${url.hostname}${err.reason ? ` (${err.reason})` : ''}`;
  }
  return err.message;
}

/** What client-go reports for a non-2xx answer that is not a Status (apierrors.NewGenericServerResponse). */
function httpStatusText(statusCode: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed === 'object' && parsed !== null && (parsed as Record<string, unknown>)['kind'] === 'Status') {
      const message = (parsed as Record<string, unknown>)['message'];
      if (typeof message === 'string' && message !== '') return message;
    }
  } catch {
    // not JSON: fall through to the generic text
  }
  if (statusCode === 404) return 'the server could not find the requested resource';
  if (statusCode >= 500) {
    const snippet = body.trim().slice(0, 200);
    return `an error on the server (${JSON.stringify(snippet === '' ? 'unknown' : snippet)}) has prevented the request from succeeding`;
  }
  return `the server responded with the status code ${statusCode} but did not return more information`;
}

/** Agents unused this long are closed. */
const AGENT_IDLE_DROP_MS = 60_000;

export function createHttpsWebhookCaller(options: HttpsWebhookCallerOptions = {}): WebhookCaller {
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!Number.isInteger(maxResponseBytes) || maxResponseBytes <= 0) throw new RangeError('maxResponseBytes must be a positive integer');

  // One keep-alive agent per trust root: a new TLS handshake per call cost ~2.4 ms of CPU (admission benchmark).
  // Keying by the CA bundle means a pooled socket is only reused with the trust root it was verified against.
  const agents = new Map<string, { agent: https.Agent; lastUsed: number }>();
  const agentFor = (caBundlePem: string | undefined): https.Agent => {
    const key = caBundlePem ?? '';
    const now = Date.now();
    for (const [k, v] of agents) {
      if (now - v.lastUsed > AGENT_IDLE_DROP_MS) { v.agent.destroy(); agents.delete(k); }
    }
    let entry = agents.get(key);
    if (!entry) {
      // Idle sockets close before the webhook server's usual 5 s keep-alive, so a reused socket is rarely stale.
      entry = { agent: new https.Agent({ keepAlive: true, maxSockets: 32, timeout: 4000, ...(caBundlePem === undefined ? {} : { ca: caBundlePem }) }), lastUsed: now };
      agents.set(key, entry);
    }
    entry.lastUsed = now;
    return entry.agent;
  };

  const call = (url: string, caBundlePem: string | undefined, review: object, timeoutMs: number, signal: AbortSignal, retryStale: boolean) => new Promise<object>((resolve, reject) => {
    const post = (why: string) => `Post ${JSON.stringify(url)}: ${why}`;
    let target: URL;
    try {
      target = new URL(url);
    } catch (err) {
      reject(new WebhookCallError('Setup', `parse ${JSON.stringify(url)}: invalid URL`, err));
      return;
    }
    if (target.protocol !== 'https:') {
      reject(new WebhookCallError('Setup', post(`unsupported protocol scheme ${JSON.stringify(target.protocol.replace(/:$/, ''))}`)));
      return;
    }
    if (signal.aborted) {
      reject(new WebhookCallError('Canceled', post('context canceled'), signal.reason));
      return;
    }

    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), Math.min(Math.max(timeoutMs, 1), MAX_TIMER_MS));
    timer.unref();
    const combined = AbortSignal.any([signal, deadline.signal]);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const fail = (err: unknown) => finish(() => {
      if (deadline.signal.aborted) reject(new WebhookCallError('Timeout', post('context deadline exceeded'), err));
      else if (signal.aborted) reject(new WebhookCallError('Canceled', post('context canceled'), err));
      else reject(new WebhookCallError('Transport', post(transportText(err as NodeJS.ErrnoException, target)), err));
    });

    const body = Buffer.from(JSON.stringify(review));
    const req = https.request(target, {
      method: 'POST',
      agent: agentFor(caBundlePem),
      ...(caBundlePem === undefined ? {} : { ca: caBundlePem }),
      headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': body.length },
      signal: combined,
    }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxResponseBytes) {
          finish(() => reject(new WebhookCallError('Transport', post(`response body larger than ${maxResponseBytes} bytes`))));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', fail);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          finish(() => reject(new WebhookCallError('Transport', httpStatusText(status, text))));
          return;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          finish(() => reject(new WebhookCallError('InvalidResponse', `couldn't decode the response body as JSON: ${(err as Error).message}`, err)));
          return;
        }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          finish(() => reject(new WebhookCallError('InvalidResponse', 'the response body is not a JSON object')));
          return;
        }
        finish(() => resolve(parsed as object));
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A pooled socket the server closed while idle: send once more on a fresh connection.
      if (retryStale && req.reusedSocket && err.code === 'ECONNRESET' && !settled && !combined.aborted) {
        settled = true;
        clearTimeout(timer);
        call(url, caBundlePem, review, timeoutMs, signal, false).then(resolve, reject);
        return;
      }
      fail(err);
    });
    req.end(body);
  });
  return (url, caBundlePem, review, timeoutMs, signal) => call(url, caBundlePem, review, timeoutMs, signal, true);
}
