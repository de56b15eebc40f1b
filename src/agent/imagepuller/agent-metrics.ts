/**
 * Prometheus metrics of the agent's image puller (spec "Observability": upstream's daemon has no pull metrics at
 * all). Registered in the Registry passed in, never prom-client's global one; a metric already in that registry
 * under the same name is reused, so a restarted puller in one process (tests, the sandbox) does not collide.
 */
import { Counter, Gauge, Histogram, exponentialBuckets, type Registry } from 'prom-client';

/** How a pull task ended: pulled, found already present (no pull), or failed. Stopped tasks are not counted. */
export type PullResult = 'succeeded' | 'already_present' | 'failed';

/** What became of a status write: written, conflict (409, retried on a fresh read), error, or unchanged (skipped). */
export type StatusWriteResult = 'success' | 'conflict' | 'error' | 'unchanged';

/** The hooks the puller and the status writer call; `AgentMetrics` is the Prometheus one. */
export interface ImagePullerMetrics {
  pullFinished(result: PullResult, durationMs: number): void;
  pulledBytes(bytes: number): void;
  queueDepth(n: number): void;
  inFlight(n: number): void;
  statusWrite(result: StatusWriteResult): void;
}

/** 0.1 s … ~55 min, doubling: a pull may be quick (present) or take many minutes. */
const PULL_DURATION_BUCKETS = exponentialBuckets(0.1, 2, 16);

function getOrCreate<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export class AgentMetrics implements ImagePullerMetrics {
  private readonly pulls: Counter<'result'>;
  private readonly duration: Histogram<'result'>;
  private readonly depth: Gauge;
  private readonly inflight: Gauge;
  private readonly bytes: Counter;
  private readonly writes: Counter<'result'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.pulls = getOrCreate(registry, 'kruise_agent_image_pulls_total', () => new Counter({
      name: 'kruise_agent_image_pulls_total',
      help: 'Image pull tasks finished, by result (succeeded, already_present, failed).',
      labelNames: ['result'], registers,
    }));
    this.duration = getOrCreate(registry, 'kruise_agent_image_pull_duration_seconds', () => new Histogram({
      name: 'kruise_agent_image_pull_duration_seconds',
      help: 'Time from accepting a pull task to its end (queueing, retries and backoff included), by result.',
      labelNames: ['result'], buckets: PULL_DURATION_BUCKETS, registers,
    }));
    this.depth = getOrCreate(registry, 'kruise_agent_image_pull_queue_depth', () => new Gauge({
      name: 'kruise_agent_image_pull_queue_depth',
      help: 'Pull tasks accepted but waiting (for the image lock, a pull slot or the CRI runtime).',
      registers,
    }));
    this.inflight = getOrCreate(registry, 'kruise_agent_image_pulls_in_flight', () => new Gauge({
      name: 'kruise_agent_image_pulls_in_flight',
      help: 'CRI PullImage calls in progress (at most --max-concurrent-pulls).',
      registers,
    }));
    this.bytes = getOrCreate(registry, 'kruise_agent_image_pulled_bytes_total', () => new Counter({
      name: 'kruise_agent_image_pulled_bytes_total',
      help: 'Size of the images pulled (CRI ImageStatus size after each pull; images already present not counted).',
      registers,
    }));
    this.writes = getOrCreate(registry, 'kruise_agent_nodeimage_status_writes_total', () => new Counter({
      name: 'kruise_agent_nodeimage_status_writes_total',
      help: 'NodeImage status writes by result (success, conflict, error, unchanged).',
      labelNames: ['result'], registers,
    }));
    this.depth.set(0);
    this.inflight.set(0);
  }

  pullFinished(result: PullResult, durationMs: number): void {
    this.pulls.labels(result).inc();
    this.duration.labels(result).observe(Math.max(0, durationMs) / 1000);
  }

  pulledBytes(bytes: number): void {
    if (Number.isFinite(bytes) && bytes > 0) this.bytes.inc(bytes);
  }

  queueDepth(n: number): void { this.depth.set(n); }

  inFlight(n: number): void { this.inflight.set(n); }

  statusWrite(result: StatusWriteResult): void { this.writes.labels(result).inc(); }
}
