/** Test support: request attributes and webhook configurations with the fields a case does not care about filled in. */
import type { KubeObject } from '../../../src/api/meta.js';
import type { AdmissionAttributes, WebhookEntry } from '../../../src/sandbox/apiserver/admission/index.js';

export function pod(name: string, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
    spec: { containers: [{ name: 'main', image: 'nginx' }] },
  };
}

export function podAttrs(overrides: Partial<AdmissionAttributes> = {}): AdmissionAttributes {
  return {
    operation: 'CREATE',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    subResource: '',
    name: 'web-0',
    namespace: 'default',
    object: pod('web-0', { app: 'web' }),
    dryRun: false,
    userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
    options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    ...overrides,
  };
}

export const ALL_PODS = [{ operations: ['*'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: '*' }];

export function hook(name: string, url: string, caBundle: string | undefined, extra: Partial<WebhookEntry> = {}): WebhookEntry {
  return {
    name,
    clientConfig: { url, ...(caBundle === undefined ? {} : { caBundle }) },
    rules: ALL_PODS,
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    ...extra,
  };
}

export function mutatingConfig(name: string, webhooks: WebhookEntry[]): KubeObject {
  return { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name }, webhooks };
}

export function validatingConfig(name: string, webhooks: WebhookEntry[]): KubeObject {
  return { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name }, webhooks };
}
