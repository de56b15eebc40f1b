/**
 * The sandbox's built-in CRI runtime: CRI calls per second through the gRPC socket (`serveBuiltinRuntime` + our
 * CriClient) and through the InProcessCriClient, both against one BuiltinRuntime in this process holding
 * `containers` running containers (one per pod sandbox, kubelet-shaped configs). Calls: ImageStatus of the pulled
 * image, ListContainers without a filter (answers every container) and ContainerStatus of a rotating container.
 * Each is run sequentially and with `concurrency` in flight, for `durationMs` after a warm-up; the socket numbers
 * include the server's work, which runs on this process's event loop too (client + server CPU per call).
 * Memory per 1,000 emulated containers is measured in a fresh child (builtin-memory-child.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CriClient, loadCriProto } from '../src/cri/index.js';
import { BuiltinRuntime, InProcessCriClient, serveBuiltinRuntime, type CriApi } from '../src/sandbox/cri/index.js';
import { ask, exited, forkHelper } from './child-ipc.js';
import { benchContainerConfig, benchSandboxConfig } from './cri-fixtures.js';
import type { MemoryReading, MemoryReply, MemoryRequest } from './builtin-memory-child.js';
import { round, summarise, type Summary } from './stats.js';

export interface BuiltinPhaseOptions {
  containers: number;
  concurrency: number;
  durationMs: number;
  memoryPerStep: number;
  memorySteps: number;
}

export interface Throughput { calls: number; seconds: number; perSecond: number; latencyMs: Summary }

type Transport = 'grpc' | 'inProcess';
type Method = 'imageStatus' | 'listContainers' | 'containerStatus';

export interface BuiltinPhaseResult {
  containers: number;
  concurrency: number;
  durationMs: number;
  /** transport → method → { sequential, concurrent } */
  callsPerSecond: Record<Transport, Record<Method, { sequential: Throughput; concurrent: Throughput }>>;
  memory: {
    readings: MemoryReading[];
    /** heapUsed growth for the first `perStep` containers, scaled to 1,000. */
    heapUsedPer1000FirstStepBytes: number;
    /** heapUsed growth per 1,000 containers between the first and the last step (the marginal cost). */
    heapUsedPer1000SlopeBytes: number;
    rssPer1000SlopeBytes: number;
    heapUsedPerContainerBytes: number;
    createSeconds: number;
    stats: MemoryReply['stats'];
  };
}

export const BUILTIN_IMAGE = 'docker.io/library/nginx:1.25';

async function throughput(call: () => Promise<unknown>, concurrency: number, durationMs: number): Promise<Throughput> {
  for (let i = 0; i < 200; i++) await call(); // warm-up: JIT, socket
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + durationMs;
  // A fixed number of workers, each making one call at a time: `concurrency` in flight, never more.
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now();
      await call();
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  return { calls: latencies.length, seconds: round(seconds), perSecond: Math.round(latencies.length / seconds), latencyMs: summarise(latencies) };
}

async function measureMemory(o: BuiltinPhaseOptions): Promise<BuiltinPhaseResult['memory']> {
  const child = forkHelper(new URL('./builtin-memory-child.js', import.meta.url));
  try {
    const r = await ask<MemoryReply>(child, { type: 'run', perStep: o.memoryPerStep, steps: o.memorySteps, image: BUILTIN_IMAGE } satisfies MemoryRequest, 'memory child');
    const first = r.readings[0]!;
    const second = r.readings[1]!;
    const last = r.readings[r.readings.length - 1]!;
    const per1000 = (bytes: number, containers: number): number => Math.round((bytes * 1000) / containers);
    const slopeN = last.containers - second.containers;
    return {
      readings: r.readings,
      heapUsedPer1000FirstStepBytes: per1000(second.heapUsedBytes - first.heapUsedBytes, second.containers),
      heapUsedPer1000SlopeBytes: slopeN > 0 ? per1000(last.heapUsedBytes - second.heapUsedBytes, slopeN) : NaN,
      rssPer1000SlopeBytes: slopeN > 0 ? per1000(last.rssBytes - second.rssBytes, slopeN) : NaN,
      heapUsedPerContainerBytes: Math.round((last.heapUsedBytes - first.heapUsedBytes) / last.containers),
      createSeconds: round(r.createSeconds),
      stats: r.stats,
    };
  } finally {
    await exited(child);
  }
}

export async function runBuiltinPhase(o: BuiltinPhaseOptions, log: (line: string) => void): Promise<BuiltinPhaseResult> {
  const proto = loadCriProto();
  const runtime = new BuiltinRuntime({ pullLatencyMs: 0, pullBandwidthBytesPerSecond: Infinity });
  const inProcess = new InProcessCriClient({ runtime, proto });
  const dir = await mkdtemp(join(tmpdir(), 'kcri-bench-'));
  let server: Awaited<ReturnType<typeof serveBuiltinRuntime>> | undefined;
  let grpcClient: CriClient | undefined;
  try {
    server = await serveBuiltinRuntime({ socketPath: join(dir, 'cri.sock'), runtime, proto });
    grpcClient = new CriClient({ endpoint: server.address, proto });
    const { imageRef } = await inProcess.pullImage({ image: { image: BUILTIN_IMAGE } });
    const ids: string[] = [];
    for (let i = 0; i < o.containers; i++) {
      const sandboxConfig = benchSandboxConfig(i);
      const { podSandboxId } = await inProcess.runPodSandbox({ config: sandboxConfig });
      const { containerId } = await inProcess.createContainer({ podSandboxId, config: benchContainerConfig(i, imageRef, sandboxConfig), sandboxConfig });
      await inProcess.startContainer({ containerId });
      ids.push(containerId);
    }
    const clients: Record<Transport, CriApi> = { grpc: grpcClient, inProcess };
    const result = {} as BuiltinPhaseResult['callsPerSecond'];
    for (const transport of ['grpc', 'inProcess'] as const) {
      const c = clients[transport];
      let next = 0;
      const calls: Record<Method, () => Promise<unknown>> = {
        imageStatus: () => c.imageStatus({ image: { image: BUILTIN_IMAGE } }),
        listContainers: () => c.listContainers({}),
        containerStatus: () => c.containerStatus({ containerId: ids[next++ % ids.length]! }),
      };
      const { containers } = await c.listContainers({});
      if (containers.length !== o.containers) throw new Error(`${transport}: ListContainers answered ${containers.length} of ${o.containers}`);
      result[transport] = {} as BuiltinPhaseResult['callsPerSecond'][Transport];
      for (const method of ['imageStatus', 'listContainers', 'containerStatus'] as const) {
        const sequential = await throughput(calls[method], 1, o.durationMs);
        const concurrent = await throughput(calls[method], o.concurrency, o.durationMs);
        result[transport][method] = { sequential, concurrent };
        log(`builtin ${transport} ${method}: ${sequential.perSecond}/s sequential (p50 ${sequential.latencyMs.p50} ms), ` +
          `${concurrent.perSecond}/s with ${o.concurrency} in flight (p50 ${concurrent.latencyMs.p50} ms)`);
      }
    }
    const memory = await measureMemory(o);
    log(`builtin memory: heapUsed +${(memory.heapUsedPer1000SlopeBytes / 1024 ** 2).toFixed(2)} MiB per 1,000 running containers ` +
      `with sandboxes (first ${o.memoryPerStep}: +${(memory.heapUsedPer1000FirstStepBytes / 1024 ** 2).toFixed(2)} MiB per 1,000; ` +
      `${o.memoryPerStep * o.memorySteps} created in ${memory.createSeconds} s)`);
    return { containers: o.containers, concurrency: o.concurrency, durationMs: o.durationMs, callsPerSecond: result, memory };
  } finally {
    await grpcClient?.destroy();
    await server?.destroy();
    await inProcess.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
