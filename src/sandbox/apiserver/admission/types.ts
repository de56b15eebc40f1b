/**
 * What the sandbox API server tells its admission chain about one request (Kubernetes' admission.Attributes),
 * and the admissionregistration.k8s.io/v1 webhook entries as JSON.
 */
import type { KubeObject, LabelSelector } from '../../../api/meta.js';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface GroupVersionKind { group: string; version: string; kind: string }
export interface GroupVersionResource { group: string; version: string; resource: string }

export interface AdmissionUserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface AdmissionAttributes {
  operation: AdmissionOperation;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  /** `status`, `scale`, … ; '' for the main resource. */
  subResource: string;
  name: string;
  /**
   * '' for cluster-scoped objects. For requests that address a Namespace by name (`/api/v1/namespaces/{name}`)
   * Kubernetes sets this to the namespace's own name; the chain copes with either.
   */
  namespace: string;
  /** The object after the operation (absent for DELETE and for CONNECT). */
  object?: KubeObject;
  /** The object before the operation (UPDATE, DELETE). */
  oldObject?: KubeObject;
  dryRun: boolean;
  userInfo: AdmissionUserInfo;
  /** CreateOptions / UpdateOptions / DeleteOptions / PatchOptions as sent to the webhook in `request.options`. */
  options?: object;
}

/** admissionregistration.k8s.io/v1 RuleWithOperations. */
export interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  /** `pods`, `pods/status`, `pods/*`, `*`, `*\/scale`, `*\/*`. */
  resources?: string[];
  /** `Cluster`, `Namespaced` or `*`. @default '*' */
  scope?: string;
}

export interface ServiceReference {
  namespace: string;
  name: string;
  path?: string;
  port?: number;
}

export interface WebhookClientConfig {
  url?: string;
  service?: ServiceReference;
  /** Base64 of PEM CA certificates; the only trust roots for the call when present. */
  caBundle?: string;
}

/** One entry of `webhooks` in a Mutating- or ValidatingWebhookConfiguration. */
export interface WebhookEntry {
  name: string;
  clientConfig: WebhookClientConfig;
  rules?: RuleWithOperations[];
  /** @default 'Fail' */
  failurePolicy?: string;
  /** @default 'Equivalent' — the sandbox matches Exact only (see matching.ts). */
  matchPolicy?: string;
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  sideEffects?: string;
  /** @default 10 */
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  /** Mutating only. @default 'Never' — IfNeeded is not honoured (no reinvocation). */
  reinvocationPolicy?: string;
  matchConditions?: unknown[];
}
