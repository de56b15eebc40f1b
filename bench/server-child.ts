/**
 * Child process that hosts one server under test (the kruise-ts API server or the baseline), so its CPU time and
 * RSS are its own and the load generator does not share its event loop. Driven over the fork IPC channel:
 *   parent → { type: 'start', mode, tls, token, kruise? } child → { type: 'ready', url }
 *   parent → { type: 'stats', gc }                    child → { type: 'stats', ... }
 *   parent → { type: 'stop' }                         child closes the server and exits
 * For the informer benchmark (kruise mode only):
 *   parent → { type: 'load', cluster }                child → { type: 'loaded', pods, seconds }
 *   parent → { type: 'faults', enable }               child → { type: 'faults', injected }   (needs kruise.faults)
 *   parent → { type: 'dropWatches' }                  child → { type: 'dropped', count }
 *   parent → { type: 'storeView', resource, namespace } child → { type: 'storeView', entries: [name, rv][] }
 *   parent → { type: 'recordCommits', resource }      child → { type: 'ok' }
 *   parent → { type: 'commitTimes' }                  child → { type: 'commitTimes', seqs, atMs }
 * Run with --expose-gc so `stats` can report memory after a full collection too.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { ApiServer } from '../src/sandbox/apiserver/api-server.js';
import { MemoryStorage } from '../src/sandbox/apiserver/storage/memory-storage.js';
import { startBaselineServer } from './baseline-server.js';
import { loadCluster, type ClusterShape } from './cluster-loader.js';
import { monotonicMs } from './monotonic-clock.js';
import { RandomFaults, type FaultReport } from './random-faults.js';

export type ServerMode = 'kruise' | 'baseline';

/** Settings of the kruise-ts server that only the informer benchmark changes. */
export interface KruiseServerSettings {
  /** Events kept per resource (MemoryStorage); a short history makes resuming after a gap meet 410 Gone. */
  historyPerResource?: number;
  bookmarkIntervalMs?: number;
  /** Install a RandomFaults injector, off until a `faults` message enables it. */
  faults?: boolean;
}

export type ParentMessage =
  | { type: 'start'; mode: ServerMode; tls: { certPem: string; keyPem: string }; token: string; kruise?: KruiseServerSettings }
  | { type: 'stats'; gc: boolean }
  | { type: 'load'; cluster: ClusterShape }
  | { type: 'faults'; enable: { seed: number; userAgent: string } | null }
  | { type: 'dropWatches' }
  | { type: 'storeView'; resource: string; namespace: string }
  /**
   * Stamp every MODIFIED event of `resource` whose object carries a sequence number in
   * status.containerStatuses[0].restartCount with the monotonic time of its commit (monotonic-clock.ts).
   */
  | { type: 'recordCommits'; resource: string }
  | { type: 'commitTimes' }
  | { type: 'stop' };

export interface ChildStats {
  type: 'stats';
  /** process.cpuUsage() since the child started, µs. */
  cpuUserUs: number;
  cpuSystemUs: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** V8 large-object space in use (strings and arrays over ~128 KiB: list response bodies). */
  largeObjectBytes: number;
  /** Buffers and other memory outside the V8 heap. */
  externalBytes: number;
  /** Present when a full GC ran first (`gc: true` and --expose-gc). */
  afterGc?: { rssBytes: number; heapUsedBytes: number };
}

export type ChildMessage =
  | { type: 'ready'; url: string }
  | ChildStats
  | { type: 'loaded'; pods: number; seconds: number }
  | { type: 'faults'; injected: FaultReport }
  | { type: 'dropped'; count: number }
  | { type: 'storeView'; entries: [string, string][] }
  | { type: 'ok' }
  | { type: 'commitTimes'; seqs: number[]; atMs: number[] }
  | { type: 'error'; message: string };

let close: (() => Promise<void>) | undefined;
let kruise: ApiServer | undefined;
let faults: RandomFaults | undefined;
const commits = { seqs: [] as number[], atMs: [] as number[], unsubscribe: undefined as (() => void) | undefined };

function kruiseServer(): ApiServer {
  if (!kruise) throw new Error('this message needs a running kruise-ts server');
  return kruise;
}

function reply(m: ChildMessage): void { process.send?.(m); }

process.on('message', (m: ParentMessage) => {
  void (async () => {
    try {
      switch (m.type) {
        case 'start': {
          if (m.mode === 'kruise') {
            const k = m.kruise ?? {};
            if (k.faults) faults = new RandomFaults();
            const server = await ApiServer.start({
              port: 0,
              tls: m.tls,
              tokens: new Map([[m.token, { username: 'bench-admin', groups: ['system:masters'] }]]),
              ...(k.historyPerResource !== undefined ? { storage: new MemoryStorage({ historyPerResource: k.historyPerResource }) } : {}),
              ...(k.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: k.bookmarkIntervalMs } : {}),
              ...(faults ? { faults } : {}),
            });
            kruise = server;
            close = () => server.close();
            reply({ type: 'ready', url: server.url });
          } else {
            const server = await startBaselineServer({ tls: m.tls, token: m.token });
            close = () => server.close();
            reply({ type: 'ready', url: server.url });
          }
          break;
        }
        case 'stats': {
          const cpu = process.cpuUsage();
          const mem = process.memoryUsage();
          const largeObjectBytes = getHeapSpaceStatistics().find((x) => x.space_name === 'large_object_space')?.space_used_size ?? 0;
          const stats: ChildStats = {
            type: 'stats', cpuUserUs: cpu.user, cpuSystemUs: cpu.system, rssBytes: mem.rss, heapUsedBytes: mem.heapUsed,
            largeObjectBytes, externalBytes: mem.external + mem.arrayBuffers,
          };
          const gc = (globalThis as { gc?: () => void }).gc;
          if (m.gc && gc) {
            gc();
            const after = process.memoryUsage();
            stats.afterGc = { rssBytes: after.rss, heapUsedBytes: after.heapUsed };
          }
          reply(stats);
          break;
        }
        case 'load': {
          const r = await loadCluster(kruiseServer(), m.cluster);
          reply({ type: 'loaded', ...r });
          break;
        }
        case 'faults': {
          if (!faults) throw new Error('the server was started without faults');
          // Counts since the last enable; then (re)enabled with a fresh PRNG, or left off.
          const injected = faults.disable();
          if (m.enable) faults.enable(m.enable.seed, m.enable.userAgent);
          reply({ type: 'faults', injected });
          break;
        }
        case 'dropWatches':
          reply({ type: 'dropped', count: kruiseServer().dropWatches() });
          break;
        case 'storeView': {
          const entries = kruiseServer().storage.list(m.resource, { namespace: m.namespace })
            .map((e): [string, string] => [e.object.metadata.name ?? '', e.object.metadata.resourceVersion ?? '']);
          reply({ type: 'storeView', entries });
          break;
        }
        case 'recordCommits': {
          commits.unsubscribe?.();
          commits.seqs = [];
          commits.atMs = [];
          commits.unsubscribe = kruiseServer().storage.subscribe((e) => {
            if (e.type !== 'MODIFIED' || e.key !== m.resource) return;
            const seq = (e.entry.object.status as { containerStatuses?: { restartCount?: unknown }[] } | undefined)?.containerStatuses?.[0]?.restartCount;
            if (typeof seq !== 'number' || seq < 1) return;
            commits.seqs.push(seq);
            commits.atMs.push(monotonicMs());
          });
          reply({ type: 'ok' });
          break;
        }
        case 'commitTimes':
          commits.unsubscribe?.();
          commits.unsubscribe = undefined;
          reply({ type: 'commitTimes', seqs: commits.seqs, atMs: commits.atMs });
          break;
        case 'stop':
          await close?.();
          // A normal exit, so `--cpu-prof` (inherited from the parent) writes its profile.
          process.exit(0);
      }
    } catch (e) {
      reply({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) });
    }
  })();
});
