/**
 * Child process that hosts one server under test (the kruise-ts API server or the baseline), so its CPU time and
 * RSS are its own and the load generator does not share its event loop. Driven over the fork IPC channel:
 *   parent → { type: 'start', mode, tls, token }      child → { type: 'ready', url }
 *   parent → { type: 'stats', gc }                    child → { type: 'stats', ... }
 *   parent → { type: 'stop' }                         child closes the server and exits
 * Run with --expose-gc so `stats` can report memory after a full collection too.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { ApiServer } from '../src/sandbox/apiserver/api-server.js';
import { startBaselineServer } from './baseline-server.js';

export type ServerMode = 'kruise' | 'baseline';

export type ParentMessage =
  | { type: 'start'; mode: ServerMode; tls: { certPem: string; keyPem: string }; token: string }
  | { type: 'stats'; gc: boolean }
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

export type ChildMessage = { type: 'ready'; url: string } | ChildStats | { type: 'error'; message: string };

let close: (() => Promise<void>) | undefined;

function reply(m: ChildMessage): void { process.send?.(m); }

process.on('message', (m: ParentMessage) => {
  void (async () => {
    try {
      switch (m.type) {
        case 'start': {
          if (m.mode === 'kruise') {
            const server = await ApiServer.start({
              port: 0,
              tls: m.tls,
              tokens: new Map([[m.token, { username: 'bench-admin', groups: ['system:masters'] }]]),
            });
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
