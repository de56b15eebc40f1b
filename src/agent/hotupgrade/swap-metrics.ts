/**
 * Prometheus metrics of the agent's hot-upgrade swaps (upstream has none: its controller flips containers without
 * watching them run). Registered in the Registry passed in; a metric already there under the same name is reused,
 * so many swap controllers in one process (the sandbox's agents, restarts) share them.
 */
import { Counter, Histogram, exponentialBuckets, type Registry } from 'prom-client';

export type SwapResult = 'succeeded' | 'failed';

export interface SwapMetrics {
  swapFinished(result: SwapResult, durationMs: number): void;
  /** From the coordinator's request to the new container running Ready. */
  requestToRunning(ms: number): void;
}

/** 0.05 s … ~27 min, doubling. */
const BUCKETS = exponentialBuckets(0.05, 2, 16);

function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export class PromSwapMetrics implements SwapMetrics {
  private readonly swaps: Counter<'result'>;
  private readonly duration: Histogram<'result'>;
  private readonly toRunning: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.swaps = getOrCreate(registry, 'kruise_agent_sidecar_hot_upgrades_total', () => new Counter({
      name: 'kruise_agent_sidecar_hot_upgrades_total',
      help: 'SidecarSet hot-upgrade swaps finished, by result (succeeded, failed).',
      labelNames: ['result'], registers,
    }));
    this.duration = getOrCreate(registry, 'kruise_agent_sidecar_hot_upgrade_duration_seconds', () => new Histogram({
      name: 'kruise_agent_sidecar_hot_upgrade_duration_seconds',
      help: 'Time from the agent starting a swap to its end (pull, switch, migration, reset), by result.',
      labelNames: ['result'], buckets: BUCKETS, registers,
    }));
    this.toRunning = getOrCreate(registry, 'kruise_agent_sidecar_hot_upgrade_request_to_running_seconds', () => new Histogram({
      name: 'kruise_agent_sidecar_hot_upgrade_request_to_running_seconds',
      help: 'Time from the coordinator\'s swap request to the new sidecar container running Ready.',
      buckets: BUCKETS, registers,
    }));
  }

  swapFinished(result: SwapResult, durationMs: number): void {
    this.swaps.inc({ result });
    this.duration.observe({ result }, Math.max(0, durationMs) / 1000);
  }

  requestToRunning(ms: number): void {
    this.toRunning.observe(Math.max(0, ms) / 1000);
  }
}
