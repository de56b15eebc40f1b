/**
 * The agent's connection to its node's CRI runtime. The runtime may start after the agent (a node booting, a
 * containerd restart during a DaemonSet rollout), so a failed discovery is not fatal (spec §8 "Image pulls"): the
 * agent keeps running, `/readyz` reports the discovery error, and discovery is retried with backoff (1 s doubling
 * to 30 s, jittered). Code that needs the runtime waits for it through `get(signal)`, abortably.
 *
 * Once found, the endpoint is kept: the gRPC channel reconnects by itself when the runtime restarts, and calls made
 * meanwhile fail UNAVAILABLE, which the callers treat as failed attempts (they retry).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { CriApi } from '../cri/cri-api.js';
import { CriClient } from '../cri/cri-client.js';
import {
  discoverCriEndpoint, type DiscoverCriEndpointOptions, type DiscoveredCriEndpoint,
} from '../cri/endpoint-discovery.js';
import type { ReadinessCheck } from '../kube/health-server.js';

/** Where CRI calls go; `get` waits (abortably) until a runtime is there. */
export interface CriSource {
  get(signal?: AbortSignal): Promise<CriApi>;
  /** Runs whatever the source needs (discovery) until `signal` aborts. Safe to call more than once. */
  start?(signal: AbortSignal): Promise<void>;
}

/** A source that is always this client (tests, the sandbox's in-process runtimes). */
export function fixedCriSource(cri: CriApi): CriSource {
  return { get: () => Promise.resolve(cri) };
}

export interface CriConnectorOptions {
  /** `--cri-endpoint`; when absent, the well-known sockets under `hostRoot` are probed. */
  endpoint?: string;
  /** `--host-root`. @default '/' */
  hostRoot?: string;
  /** @default 1000 */
  initialBackoffMs?: number;
  /** @default 30000 */
  maxBackoffMs?: number;
  /** @default discoverCriEndpoint */
  discover?: (o: DiscoverCriEndpointOptions) => Promise<DiscoveredCriEndpoint>;
  /** Makes the client for a discovered endpoint. @default a CriClient */
  connect?: (found: DiscoveredCriEndpoint) => CriApi;
  /** @default Math.random */
  random?: () => number;
  logger?: Logger;
}

export class CriConnector implements CriSource {
  private client: CriApi | undefined;
  private lastError = 'CRI runtime discovery has not run yet';
  private waiters: ((cri: CriApi) => void)[] = [];
  private running: Promise<void> | undefined;
  private readonly log: Logger | undefined;

  constructor(private readonly o: CriConnectorOptions = {}) {
    this.log = o.logger?.child({ component: 'cri-connector' });
  }

  /** For /readyz: ready once a runtime answered; otherwise why not (the discovery error lists every path tried). */
  readonly readinessCheck: ReadinessCheck = () => (this.client !== undefined ? true : this.lastError);

  get connected(): boolean { return this.client !== undefined; }

  get(signal?: AbortSignal): Promise<CriApi> {
    if (this.client !== undefined) return Promise.resolve(this.client);
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise<CriApi>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      const waiter = (cri: CriApi): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(cri);
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  start(signal: AbortSignal): Promise<void> {
    this.running ??= this.run(signal);
    return this.running;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const initial = this.o.initialBackoffMs ?? 1000;
    const max = this.o.maxBackoffMs ?? 30_000;
    const random = this.o.random ?? Math.random;
    const discover = this.o.discover ?? discoverCriEndpoint;
    let backoff = initial;
    while (!signal.aborted && this.client === undefined) {
      try {
        const found = await discover({
          ...(this.o.endpoint !== undefined ? { endpoint: this.o.endpoint } : {}),
          hostRoot: this.o.hostRoot ?? '/',
          signal,
          ...(this.o.logger !== undefined ? { logger: this.o.logger } : {}),
        });
        const client = this.o.connect?.(found) ?? new CriClient({
          endpoint: found.endpoint.address, ...(this.o.logger !== undefined ? { logger: this.o.logger } : {}),
        });
        this.client = client;
        this.log?.info({
          endpoint: found.endpoint.address, runtime: found.runtime,
          runtimeName: found.version.runtimeName, runtimeVersion: found.version.runtimeVersion,
        }, 'CRI runtime connected');
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w(client);
      } catch (e) {
        if (signal.aborted) break;
        this.lastError = e instanceof Error ? e.message : String(e);
        const delay = backoff / 2 + random() * (backoff / 2);
        this.log?.warn({ err: this.lastError, retryInMs: Math.round(delay) }, 'no CRI runtime yet; retrying discovery');
        backoff = Math.min(backoff * 2, max);
        // Referenced: callers of `get` await this retry (as CriClient's waits are).
        await sleep(delay, undefined, { signal }).catch(() => undefined);
      }
    }
    if (signal.aborted) {
      // Let the caller's pulls see the abort first; then drop the channel.
      await new Promise<void>((resolve) => setImmediate(resolve));
    } else {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    const client = this.client;
    if (client !== undefined) await client.destroy(new Error('agent stopping'));
  }
}
