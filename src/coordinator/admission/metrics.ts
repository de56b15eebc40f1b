/**
 * Prometheus metrics of the admission webhooks, registered in the Registry passed in (never prom-client's global
 * one; the sandbox runs several components in one process). One AdmissionMetrics per Registry.
 *
 * The denial counter is our take on main's `workload_deletion_protection{kind_namespace_name,username}` (spec
 * §1.3): labels kind, namespace and name, and not the user — usernames are personal data and unbounded.
 */
import { Counter, Histogram, exponentialBuckets, type Registry } from 'prom-client';

export interface DeletionDenialRecorder {
  deletionDenied(kind: string, namespace: string, name: string): void;
}

export class AdmissionMetrics implements DeletionDenialRecorder {
  readonly registry: Registry;
  private readonly denials: Counter<'kind' | 'namespace' | 'name'>;
  private readonly requests: Counter<'path' | 'result'>;
  private readonly duration: Histogram<'path'>;

  constructor(registry: Registry) {
    this.registry = registry;
    this.denials = new Counter({
      name: 'kruise_deletion_protection_denials_total',
      help: 'Deletions denied by policy.kruise.io/delete-protection, by kind, namespace and name.',
      labelNames: ['kind', 'namespace', 'name'],
      registers: [registry],
    });
    this.requests = new Counter({
      name: 'kruise_admission_requests_total',
      help: 'Admission reviews handled, by webhook path and result (allowed, denied, error, timeout, bad_request).',
      labelNames: ['path', 'result'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'kruise_admission_request_duration_seconds',
      help: 'Time to answer an admission review, by webhook path.',
      labelNames: ['path'],
      buckets: exponentialBuckets(0.0005, 2, 16),
      registers: [registry],
    });
  }

  deletionDenied(kind: string, namespace: string, name: string): void {
    this.denials.inc({ kind, namespace, name });
  }

  /** `path` must be a registered route (bounded label values); unknown paths are counted as `unknown`. */
  observeRequest(path: string, result: string, seconds: number): void {
    this.requests.inc({ path, result });
    this.duration.observe({ path }, seconds);
  }
}
