/**
 * Prometheus metrics of the kube layer: work queues, controllers, the REST client and informers. Everything is
 * registered in the Registry passed in, never prom-client's global one, so two instances (the sandbox runs the
 * coordinator and many agents in one process) and tests never collide. One KubeMetrics per Registry: prom-client
 * refuses a second metric of the same name in one registry.
 *
 * Names follow client-go and controller-runtime where they have an equivalent (`workqueue_*`, `rest_client_*`,
 * `controller_runtime_reconcile_*` without the `_runtime`).
 */
import { Counter, Gauge, Histogram, exponentialBuckets, type Registry } from 'prom-client';
import type { ControllerMetrics, ControllerMetricsProvider, ReconcileOutcome } from './controller/controller.js';
import type { InformerMetrics } from './informer/shared-informer.js';
import type { RequestObserver } from './kube-client.js';
import type { WorkQueueMetrics } from './workqueue/work-queue.js';

/** 1 ms … ~65 s, doubling. */
const DURATION_BUCKETS = exponentialBuckets(0.001, 2, 17);

export class KubeMetrics implements RequestObserver, ControllerMetricsProvider, InformerMetrics {
  readonly registry: Registry;

  private readonly queueDepth: Gauge<'name'>;
  private readonly queueAdds: Counter<'name'>;
  private readonly queueRetries: Counter<'name'>;
  private readonly queueDuration: Histogram<'name'>;
  private readonly workDuration: Histogram<'name'>;

  private readonly reconcileTotal: Counter<'controller' | 'result'>;
  private readonly reconcileDuration: Histogram<'controller'>;
  private readonly reconcileErrors: Counter<'controller' | 'reason'>;
  private readonly reconcileExceptions: Counter<'controller'>;

  private readonly requests: Counter<'verb' | 'resource' | 'code'>;
  private readonly requestDuration: Histogram<'verb' | 'resource'>;

  private readonly watchRestarts: Counter<'resource' | 'reason'>;
  private readonly relists: Counter<'resource'>;
  private readonly informerEvents: Counter<'resource' | 'type'>;

  constructor(registry: Registry) {
    this.registry = registry;
    const registers = [registry];
    this.queueDepth = new Gauge({ name: 'workqueue_depth', help: 'Keys waiting in the work queue.', labelNames: ['name'], registers });
    this.queueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Keys added to the work queue (not counting de-duplicated adds).', labelNames: ['name'], registers });
    this.queueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Rate-limited re-adds of keys.', labelNames: ['name'], registers });
    this.queueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds', help: 'How long a key waited in the queue before a worker took it.',
      labelNames: ['name'], buckets: DURATION_BUCKETS, registers,
    });
    this.workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds', help: 'How long a worker held a key.',
      labelNames: ['name'], buckets: DURATION_BUCKETS, registers,
    });
    this.reconcileTotal = new Counter({
      name: 'controller_reconcile_total', help: 'Reconciles by result (success, requeue_after, error, terminal_error, exception).',
      labelNames: ['controller', 'result'], registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'controller_reconcile_duration_seconds', help: 'How long reconciles took.',
      labelNames: ['controller'], buckets: DURATION_BUCKETS, registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_reconcile_errors_total', help: 'Failed reconciles by error reason (Terminal, Conflict, Timeout, Exception, ...).',
      labelNames: ['controller', 'reason'], registers,
    });
    this.reconcileExceptions = new Counter({
      name: 'controller_reconcile_exceptions_total', help: 'Reconciles that threw something other than a KruiseError (a bug).',
      labelNames: ['controller'], registers,
    });
    this.requests = new Counter({
      name: 'rest_client_requests_total', help: 'Kubernetes API requests by verb, resource and HTTP code (0: no answer).',
      labelNames: ['verb', 'resource', 'code'], registers,
    });
    this.requestDuration = new Histogram({
      name: 'rest_client_request_duration_seconds', help: 'Kubernetes API request latency (for watches: until the stream opened).',
      labelNames: ['verb', 'resource'], buckets: DURATION_BUCKETS, registers,
    });
    this.watchRestarts = new Counter({
      name: 'informer_watch_restarts_total', help: 'Watches reopened after they ended, by why (closed, silence, error, ...).',
      labelNames: ['resource', 'reason'], registers,
    });
    this.relists = new Counter({ name: 'informer_relists_total', help: 'Full lists done by informers.', labelNames: ['resource'], registers });
    this.informerEvents = new Counter({ name: 'informer_events_total', help: 'Watch events received by informers.', labelNames: ['resource', 'type'], registers });
  }

  /** Metric hooks of the work queue `name`. */
  workqueue(name: string): WorkQueueMetrics {
    const depth = this.queueDepth.labels(name);
    const adds = this.queueAdds.labels(name);
    const retries = this.queueRetries.labels(name);
    const queued = this.queueDuration.labels(name);
    const worked = this.workDuration.labels(name);
    depth.set(0);
    return {
      added: () => adds.inc(),
      depth: (n) => depth.set(n),
      queued: (ms) => queued.observe(ms / 1000),
      worked: (ms) => worked.observe(ms / 1000),
      retried: () => retries.inc(),
    } satisfies WorkQueueMetrics;
  }

  /** Metric hooks of the controller `name`. */
  controller(name: string): ControllerMetrics {
    const duration = this.reconcileDuration.labels(name);
    const exceptions = this.reconcileExceptions.labels(name);
    return {
      reconciled: (outcome: ReconcileOutcome, ms: number) => {
        this.reconcileTotal.labels(name, outcome).inc();
        duration.observe(ms / 1000);
      },
      reconcileError: (reason) => this.reconcileErrors.labels(name, reason).inc(),
      reconcileException: () => exceptions.inc(),
    } satisfies ControllerMetrics;
  }

  observeRequest(info: { verb: string; resource: string; code: number; durationMs: number }): void {
    this.requests.labels(info.verb, info.resource, String(info.code)).inc();
    this.requestDuration.labels(info.verb, info.resource).observe(info.durationMs / 1000);
  }

  /** A watch ended and was opened again; `reason` says why (informers pass `closed`, a silence timeout, ...). */
  watchRestarted(resource: string, reason: string): void { this.watchRestarts.labels(resource, reason).inc(); }

  /** The informer listed again (first start, 410 Gone, or a watch that could not resume). */
  relisted(resource: string): void { this.relists.labels(resource).inc(); }

  /** A watch event (`ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`, `ERROR`). */
  eventReceived(resource: string, type: string): void { this.informerEvents.labels(resource, type).inc(); }
}
