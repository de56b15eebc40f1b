/**
 * The benchmark's HTTPS client: keep-alive requests timed to the last byte, and raw watch streams split into
 * newline-delimited JSON events stamped with their arrival time. Deliberately plain node:https, so the client
 * adds as little as possible to what is measured.
 */
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';

export interface Target {
  /** `https://127.0.0.1:<port>` */
  url: string;
  token: string;
  caCertPem: string;
}

export interface TimedResponse {
  status: number;
  body: Buffer;
  /** Request start to last byte of the response, ms. */
  ms: number;
  /** performance.now() when the last byte arrived. */
  endedAt: number;
}

export class BenchClient {
  private readonly agent: Agent;

  constructor(private readonly target: Target, maxSockets: number) {
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, ca: target.caCertPem });
  }

  request(method: string, path: string, body?: string, contentType = 'application/json', headers: Record<string, string> = {}): Promise<TimedResponse> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const req = request(`${this.target.url}${path}`, {
        method,
        agent: this.agent,
        headers: {
          Authorization: `Bearer ${this.target.token}`,
          Accept: 'application/json',
          ...(body !== undefined ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) } : {}),
          ...headers,
        },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const endedAt = performance.now();
          resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), ms: endedAt - started, endedAt });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void { this.agent.destroy(); }
}

export interface WatchStream {
  /** Resolves when the response headers arrived (the watch is registered on the server). */
  ready: Promise<void>;
  close(): void;
}

/**
 * Opens one watch on its own TLS connection. `onEvent` gets each parsed event and the arrival time of the chunk
 * that completed it (all events completed by one chunk share that time).
 */
export function openWatch(target: Target, path: string, onEvent: (event: { type: string; object: unknown }, receivedAt: number) => void, onError: (e: Error) => void): WatchStream {
  let pending = '';
  let closed = false;
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => { resolveReady = res; rejectReady = rej; });
  const req = request(`${target.url}${path}`, {
    method: 'GET',
    agent: false,
    ca: target.caCertPem,
    headers: { Authorization: `Bearer ${target.token}`, Accept: 'application/json' },
  }, (res) => {
    if (res.statusCode !== 200) {
      rejectReady(new Error(`watch ${path}: HTTP ${res.statusCode}`));
      res.resume();
      return;
    }
    res.setEncoding('utf8');
    resolveReady();
    res.on('data', (chunk: string) => {
      const at = performance.now();
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() === '') continue;
        onEvent(JSON.parse(line) as { type: string; object: unknown }, at);
      }
    });
    res.on('error', (e) => { if (!closed) onError(e); });
  });
  req.on('error', (e) => {
    rejectReady(e);
    if (!closed) onError(e);
  });
  req.end();
  return { ready, close: () => { closed = true; req.destroy(); } };
}
