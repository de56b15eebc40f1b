/**
 * Memory of the built-in CRI runtime per emulated container, in a fresh process (forked with --expose-gc by the
 * cri benchmark) so nothing else lives on the heap:
 *   parent → { type: 'run', perStep, steps }
 *   child  → { type: 'memory', ... } and exits
 * A BuiltinRuntime with one pulled image; then `steps` times: `perStep` pod sandboxes, each with one running container
 * (kubelet-shaped configs from cri-fixtures.ts), created through the InProcessCriClient so the runtime keeps decoded
 * requests as it would behind the gRPC server. After each step two forced GCs and a reading. The first step's
 * heapUsed delta is the cost of the first `perStep`; the slope over the later steps is the marginal cost (map growth
 * and one-off allocations amortised).
 */
import { loadCriProto } from '../src/cri/index.js';
import { BuiltinRuntime, InProcessCriClient } from '../src/sandbox/cri/index.js';
import { benchContainerConfig, benchSandboxConfig } from './cri-fixtures.js';

export interface MemoryRequest { type: 'run'; perStep: number; steps: number; image: string }

export interface MemoryReading { containers: number; heapUsedBytes: number; rssBytes: number; externalBytes: number }

export interface MemoryReply {
  type: 'memory';
  readings: MemoryReading[];
  /** What the runtime reports holding at the end. */
  stats: { sandboxes: number; containers: number; images: number };
  createSeconds: number;
}

function reading(containers: number): MemoryReading {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  gc();
  const m = process.memoryUsage();
  return { containers, heapUsedBytes: m.heapUsed, rssBytes: m.rss, externalBytes: m.external };
}

async function measure(m: MemoryRequest): Promise<MemoryReply> {
  const proto = loadCriProto();
  const runtime = new BuiltinRuntime({ pullLatencyMs: 0, pullBandwidthBytesPerSecond: Infinity });
  const client = new InProcessCriClient({ runtime, proto });
  const { imageRef } = await client.pullImage({ image: { image: m.image } });
  // Warm the code paths (and their hidden classes) with one pod, removed again, before the baseline reading.
  {
    const sandboxConfig = benchSandboxConfig(-1 >>> 0);
    const { podSandboxId } = await client.runPodSandbox({ config: sandboxConfig });
    const { containerId } = await client.createContainer({ podSandboxId, config: benchContainerConfig(0, imageRef, sandboxConfig), sandboxConfig });
    await client.startContainer({ containerId });
    await client.stopPodSandbox({ podSandboxId });
    await client.removePodSandbox({ podSandboxId });
  }
  const readings = [reading(0)];
  const started = performance.now();
  let n = 0;
  for (let step = 0; step < m.steps; step++) {
    for (let j = 0; j < m.perStep; j++, n++) {
      const sandboxConfig = benchSandboxConfig(n);
      const { podSandboxId } = await client.runPodSandbox({ config: sandboxConfig });
      const { containerId } = await client.createContainer({ podSandboxId, config: benchContainerConfig(n, imageRef, sandboxConfig), sandboxConfig });
      await client.startContainer({ containerId });
    }
    readings.push(reading(n));
  }
  const createSeconds = (performance.now() - started) / 1000;
  const { containers } = await client.listContainers({ filter: { state: { state: 'CONTAINER_RUNNING' } } });
  if (containers.length !== n) throw new Error(`expected ${n} running containers, the runtime lists ${containers.length}`);
  const { sandboxes, images } = runtime.stats();
  await client.close();
  return { type: 'memory', readings, stats: { sandboxes, containers: containers.length, images }, createSeconds };
}

process.once('message', (m: MemoryRequest) => {
  measure(m)
    .catch((err: unknown) => ({ type: 'error' as const, message: err instanceof Error ? err.stack ?? err.message : String(err) }))
    .then((reply) => process.send?.(reply, () => process.exit(0)));
});
