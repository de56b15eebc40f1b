/**
 * Child process that writes for the informer benchmark, so the writes' HTTP and JSON work does not share the
 * measured controller's event loop. One request, one reply, then it exits:
 *   parent → { type: 'run', target, writes, perSecond, concurrency }
 *   child  → { type: 'done', sentAtMs, ackAtMs, status, seconds, maxLateMs, cpuMs }
 * Writes are sent open-loop: write i is due at start + i / perSecond whatever happened to earlier ones, with at
 * most `concurrency` in flight (a saturated server makes sends late; `maxLateMs` says by how much). Times are
 * monotonic-clock.ts ms, comparable with the server child's commit stamps and the benchmark's reconcile stamps.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { BenchClient, type Target } from './http-client.js';
import { monotonicMs } from './monotonic-clock.js';

export interface PlannedWrite { method: 'PATCH' | 'PUT' | 'POST'; path: string; body: string; contentType: string }

export type WriterRequest = { type: 'run'; target: Target; writes: PlannedWrite[]; perSecond: number; concurrency: number };

export type WriterReply =
  | { type: 'done'; sentAtMs: number[]; ackAtMs: number[]; status: number[]; seconds: number; maxLateMs: number; cpuMs: number }
  | { type: 'error'; message: string };

async function run(m: WriterRequest): Promise<WriterReply> {
  const client = new BenchClient(m.target, m.concurrency);
  const limit = pLimit(m.concurrency);
  const n = m.writes.length;
  const sentAtMs = new Array<number>(n).fill(NaN);
  const ackAtMs = new Array<number>(n).fill(NaN);
  const status = new Array<number>(n).fill(0);
  const intervalMs = 1000 / m.perSecond;
  let maxLateMs = 0;
  const cpu = process.cpuUsage();
  const start = monotonicMs();
  const pending: Promise<void>[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const due = start + i * intervalMs;
      const wait = due - monotonicMs();
      if (wait >= 1) await sleep(wait);
      const w = m.writes[i]!;
      pending.push(limit(async () => {
        const sent = monotonicMs();
        maxLateMs = Math.max(maxLateMs, sent - due);
        sentAtMs[i] = sent;
        try {
          const r = await client.request(w.method, w.path, w.body, w.contentType);
          ackAtMs[i] = monotonicMs();
          status[i] = r.status;
        } catch {
          status[i] = 0;
        }
      }));
    }
    await Promise.all(pending);
  } finally {
    client.close();
  }
  const c = process.cpuUsage(cpu);
  return { type: 'done', sentAtMs, ackAtMs, status, seconds: (monotonicMs() - start) / 1000, maxLateMs, cpuMs: (c.user + c.system) / 1000 };
}

process.once('message', (m: WriterRequest) => {
  void run(m)
    .catch((e: unknown): WriterReply => ({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) }))
    // Exit normally once the reply is out, so `--cpu-prof` (inherited from the parent) writes its profile.
    .then((reply) => process.send?.(reply, () => process.exit(0)));
});
