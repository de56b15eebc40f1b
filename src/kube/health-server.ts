/**
 * The probe and metrics endpoint of the coordinator and the agent:
 * - `/healthz`: 200 while the process serves HTTP at all (liveness; a wedged event loop fails it by timing out).
 * - `/readyz`: 200 `ok` when every registered readiness check passes (informers synced; leader or standby), else
 *   503 listing the failing checks; `?verbose` lists every check, in the apiserver's `[+]name ok` form.
 * - `/metrics`: the prom-client Registry in its own content type.
 * Only GET and HEAD are served.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { KruiseError } from '../api/errors.js';

/** Returns `true` when ready; otherwise `false` or a short reason why not. */
export type ReadinessCheck = () => boolean | string;

export interface HealthServerOptions {
  /** TCP port; 0 picks a free one (see `listening()`). */
  port: number;
  /** @default '0.0.0.0' */
  host?: string;
  registry: Registry;
  logger: Logger;
}

export class HealthServer {
  private readonly server: Server;
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly logger: Logger;
  private started = false;
  private readonly address: Promise<AddressInfo>;
  private resolveAddress!: (a: AddressInfo) => void;
  private rejectAddress!: (e: unknown) => void;
  private closeRequested = false;
  private readonly closed: Promise<void>;
  private markClosed!: () => void;

  constructor(private readonly o: HealthServerOptions) {
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
      throw new KruiseError(`invalid health server port ${o.port}`, { reason: 'Invalid', fieldPath: 'port' });
    }
    this.logger = o.logger.child({ component: 'health-server' });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.logger.error({ err: e, url: req.url }, 'health request failed');
        if (!res.headersSent) send(res, 500, 'internal error\n'); else res.destroy();
      });
    });
    this.address = new Promise<AddressInfo>((resolve, reject) => { this.resolveAddress = resolve; this.rejectAddress = reject; });
    // Nobody may ask for the address; a listen failure is reported through start().
    this.address.catch(() => undefined);
    this.closed = new Promise<void>((resolve) => { this.markClosed = resolve; });
  }

  /** Registers (or replaces) a readiness check. */
  addReadinessCheck(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Resolves with the bound address once listening; rejects if listening failed. */
  listening(): Promise<AddressInfo> { return this.address; }

  /**
   * Listens, then serves until `signal` aborts or `close()` is called; resolves once the server has closed.
   * Rejects if the port cannot be bound.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (this.started) throw new KruiseError('health server already started', { reason: 'AlreadyStarted' });
    this.started = true;
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (e: Error): void => { this.rejectAddress(e); reject(e); };
        this.server.once('error', onError);
        this.server.listen(this.o.port, this.o.host ?? '0.0.0.0', () => {
          this.server.off('error', onError);
          this.server.on('error', (e) => this.logger.error({ err: e }, 'health server error'));
          const a = this.server.address() as AddressInfo;
          this.logger.info({ port: a.port, host: a.address }, 'health server listening');
          this.resolveAddress(a);
          resolve();
        });
      });
    } catch (e) {
      this.markClosed();
      throw e;
    }
    const onAbort = (): void => { void this.close(); };
    signal.addEventListener('abort', onAbort, { once: true });
    // close() may have been called while we were binding.
    if (signal.aborted || this.closeRequested) this.stopListening();
    try {
      await this.closed;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Stops accepting connections, drops idle keep-alive ones (probes and scrapers keep them open) and waits for
   * in-flight responses, which are short. Resolves at once if the server never started.
   */
  close(): Promise<void> {
    this.closeRequested = true;
    if (!this.started) this.markClosed();
    else if (this.server.listening) this.stopListening();
    return this.closed;
  }

  private stopListening(): void {
    this.closeRequested = true;
    if (!this.server.listening) return;
    this.server.close(() => this.markClosed());
    this.server.closeIdleConnections();
  }

  /** Closes every connection at once, in-flight or not. */
  destroy(): Promise<void> {
    const p = this.close();
    this.server.closeAllConnections();
    return p;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
      return;
    }
    switch (url.pathname) {
      case '/healthz':
        send(res, 200, 'ok');
        return;
      case '/readyz':
        this.readyz(res, url.searchParams.has('verbose'));
        return;
      case '/metrics':
        try {
          const body = await this.o.registry.metrics();
          send(res, 200, body, { 'Content-Type': this.o.registry.contentType });
        } catch (e) {
          this.logger.error({ err: e }, 'collecting metrics failed');
          send(res, 500, 'collecting metrics failed\n');
        }
        return;
      default:
        send(res, 404, 'not found\n');
    }
  }

  private readyz(res: ServerResponse, verbose: boolean): void {
    const lines: string[] = [];
    let failed = 0;
    for (const [name, check] of this.checks) {
      let result: boolean | string;
      try {
        result = check();
      } catch (e) {
        result = e instanceof Error ? e.message : String(e);
      }
      if (result === true) {
        lines.push(`[+]${name} ok`);
      } else {
        failed++;
        lines.push(`[-]${name} failed${typeof result === 'string' && result !== '' ? `: ${result}` : ''}`);
      }
    }
    if (failed === 0) {
      send(res, 200, verbose ? `${lines.join('\n')}\nreadyz check passed\n` : 'ok');
      return;
    }
    const shown = verbose ? lines : lines.filter((l) => l.startsWith('[-]'));
    send(res, 503, `${shown.join('\n')}\nreadyz check failed\n`);
  }
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}
