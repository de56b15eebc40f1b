/**
 * Our webhooks as one table, and the Mutating/ValidatingWebhookConfiguration objects built from it. The same
 * table gives the server its routes, and `renderWebhooksYaml()` renders deploy/webhooks.yaml (a test checks the
 * committed file equals it), so paths, names and rules cannot drift apart.
 *
 * Paths and names are upstream's (v0.9.0 kubebuilder markers; Service/Ingress from main). Wiring (spec §1.3):
 * - every webhook is failurePolicy Fail, except the two label-warning webhooks (ours), which are Ignore: a warning
 *   must never block a write;
 * - the deletion webhooks for built-in kinds select only objects carrying the label (`Exists`), so unlabelled
 *   objects never depend on the coordinator being up; labelled ones are refused while it is down;
 * - the deletion and warning webhooks skip kube-system and the system namespace (by the
 *   `kubernetes.io/metadata.name` label every namespace has since Kubernetes 1.21; where it is missing, as in the
 *   sandbox, nothing is skipped). For a Namespace object the selector is its own labels, so those two namespaces
 *   are not protected themselves;
 * - the CloneSet validator handles DELETE with no objectSelector, as upstream;
 * - the Pod injection webhook `mpod.kb.io` (spec §7.2) is CREATE only and failurePolicy Ignore (upstream's helm
 *   default `webhookConfiguration.failurePolicy.pods`): a coordinator that is down must not stop Pods from being
 *   created, they are then created without sidecars. Its namespaceSelector also leaves out namespaces labelled
 *   `control-plane`, as upstream's does.
 */
import { stringify } from 'yaml';
import {
  CONTROL_PLANE_LABEL, DELETION_PROTECTION_ALWAYS, DELETION_PROTECTION_CASCADING, DELETION_PROTECTION_LABEL, SYSTEM_NAMESPACE,
  type KubeObject, type LabelSelector, type LabelSelectorRequirement,
} from '../../api/index.js';

export const MUTATING_CONFIGURATION_NAME = 'kruise-ts-mutating-webhook-configuration';
export const VALIDATING_CONFIGURATION_NAME = 'kruise-ts-validating-webhook-configuration';
export const WEBHOOK_CONFIGURATION_NAMES = Object.freeze({
  mutating: MUTATING_CONFIGURATION_NAME, validating: VALIDATING_CONFIGURATION_NAME,
});

/** The webhook Service of deploy/coordinator/webhook-service.yaml. */
export const DEFAULT_WEBHOOK_SERVICE: Readonly<ServiceRef> = Object.freeze({
  namespace: SYSTEM_NAMESPACE, name: 'kruise-ts-webhook-service', port: 443,
});

export interface ServiceRef {
  namespace: string;
  name: string;
  /** @default 443 */
  port?: number;
}

/** Which handler serves a webhook; the server maps these to functions. */
export type HandlerKey =
  | 'cloneset-mutating' | 'cloneset-validating'
  | 'imagepulljob-mutating' | 'imagepulljob-validating'
  | 'nodeimage-mutating' | 'nodeimage-validating'
  | 'sidecarset-mutating' | 'sidecarset-validating'
  | 'pod-mutating'
  | 'namespace-deletion' | 'crd-deletion' | 'workload-deletion' | 'always-only-deletion'
  | 'protection-label-warning';

export interface RuleSpec {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: ('CREATE' | 'UPDATE' | 'DELETE')[];
}

export interface WebhookSpec {
  name: string;
  path: string;
  mutating: boolean;
  handler: HandlerKey;
  rules: RuleSpec[];
  failurePolicy: 'Fail' | 'Ignore';
  timeoutSeconds: number;
  objectSelector?: LabelSelector;
  /** Skip kube-system and the system namespace. */
  skipSystemNamespaces?: boolean;
  /** More namespaceSelector requirements, after the system-namespace one. */
  namespaceExpressions?: LabelSelectorRequirement[];
}

const KRUISE = { apiGroups: ['apps.kruise.io'], apiVersions: ['v1alpha1'] };
const CREATE_UPDATE: RuleSpec['operations'] = ['CREATE', 'UPDATE'];
const LABELLED: LabelSelector = { matchExpressions: [{ key: DELETION_PROTECTION_LABEL, operator: 'Exists' }] };

function kruise(name: string, path: string, mutating: boolean, handler: HandlerKey, resource: string,
  operations: RuleSpec['operations'] = CREATE_UPDATE): WebhookSpec {
  return { name, path, mutating, handler, rules: [{ ...KRUISE, resources: [resource], operations }], failurePolicy: 'Fail', timeoutSeconds: 10 };
}

function deletion(name: string, path: string, handler: HandlerKey, apiGroup: string, apiVersions: string[], resource: string): WebhookSpec {
  return {
    name, path, mutating: false, handler, rules: [{ apiGroups: [apiGroup], apiVersions, resources: [resource], operations: ['DELETE'] }],
    failurePolicy: 'Fail', timeoutSeconds: 10, objectSelector: LABELLED, skipSystemNamespaces: true,
  };
}

const WARNING_PATH = '/warn-deletion-protection-label';

/** Every webhook we serve, in registration order. */
export const WEBHOOKS: readonly WebhookSpec[] = Object.freeze([
  kruise('mcloneset.kb.io', '/mutate-apps-kruise-io-v1alpha1-cloneset', true, 'cloneset-mutating', 'clonesets'),
  kruise('mimagepulljob.kb.io', '/mutate-apps-kruise-io-v1alpha1-imagepulljob', true, 'imagepulljob-mutating', 'imagepulljobs'),
  kruise('mnodeimage.kb.io', '/mutate-apps-kruise-io-v1alpha1-nodeimage', true, 'nodeimage-mutating', 'nodeimages'),
  kruise('msidecarset.kb.io', '/mutate-apps-kruise-io-v1alpha1-sidecarset', true, 'sidecarset-mutating', 'sidecarsets'),
  kruise('vcloneset.kb.io', '/validate-apps-kruise-io-v1alpha1-cloneset', false, 'cloneset-validating', 'clonesets',
    ['CREATE', 'UPDATE', 'DELETE']),
  kruise('vimagepulljob.kb.io', '/validate-apps-kruise-io-v1alpha1-imagepulljob', false, 'imagepulljob-validating', 'imagepulljobs'),
  kruise('vnodeimage.kb.io', '/validate-apps-kruise-io-v1alpha1-nodeimage', false, 'nodeimage-validating', 'nodeimages'),
  kruise('vsidecarset.kb.io', '/validate-apps-kruise-io-v1alpha1-sidecarset', false, 'sidecarset-validating', 'sidecarsets'),
  {
    name: 'mpod.kb.io', path: '/mutate-pod', mutating: true, handler: 'pod-mutating',
    rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] }],
    failurePolicy: 'Ignore', timeoutSeconds: 10, skipSystemNamespaces: true,
    namespaceExpressions: [{ key: CONTROL_PLANE_LABEL, operator: 'DoesNotExist' }],
  },
  deletion('vnamespace.kb.io', '/validate-namespace', 'namespace-deletion', '', ['v1'], 'namespaces'),
  deletion('vcustomresourcedefinition.kb.io', '/validate-customresourcedefinition', 'crd-deletion', 'apiextensions.k8s.io',
    ['v1', 'v1beta1'], 'customresourcedefinitions'),
  deletion('vbuiltindeployment.kb.io', '/validate-apps-deployment', 'workload-deletion', 'apps', ['v1'], 'deployments'),
  deletion('vbuiltinreplicaset.kb.io', '/validate-apps-replicaset', 'workload-deletion', 'apps', ['v1'], 'replicasets'),
  deletion('vbuiltinstatefulset.kb.io', '/validate-apps-statefulset', 'workload-deletion', 'apps', ['v1'], 'statefulsets'),
  deletion('vservice.kb.io', '/validate-service', 'always-only-deletion', '', ['v1'], 'services'),
  deletion('vingress.kb.io', '/validate-ingress', 'always-only-deletion', 'networking.k8s.io', ['v1', 'v1beta1'], 'ingresses'),
  {
    name: 'vdeletionprotectionlabel.kb.io', path: WARNING_PATH, mutating: false, handler: 'protection-label-warning',
    rules: [
      { apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: CREATE_UPDATE },
      { apiGroups: ['apiextensions.k8s.io'], apiVersions: ['v1', 'v1beta1'], resources: ['customresourcedefinitions'], operations: CREATE_UPDATE },
      { apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'replicasets', 'statefulsets'], operations: CREATE_UPDATE },
    ],
    failurePolicy: 'Ignore', timeoutSeconds: 5, skipSystemNamespaces: true,
    objectSelector: { matchExpressions: [
      { key: DELETION_PROTECTION_LABEL, operator: 'Exists' },
      { key: DELETION_PROTECTION_LABEL, operator: 'NotIn', values: [DELETION_PROTECTION_ALWAYS, DELETION_PROTECTION_CASCADING] },
    ] },
  },
  {
    name: 'vdeletionprotectionlabelalwaysonly.kb.io', path: WARNING_PATH, mutating: false, handler: 'protection-label-warning',
    rules: [
      { apiGroups: [''], apiVersions: ['v1'], resources: ['services'], operations: CREATE_UPDATE },
      { apiGroups: ['networking.k8s.io'], apiVersions: ['v1', 'v1beta1'], resources: ['ingresses'], operations: CREATE_UPDATE },
    ],
    failurePolicy: 'Ignore', timeoutSeconds: 5, skipSystemNamespaces: true,
    objectSelector: { matchExpressions: [
      { key: DELETION_PROTECTION_LABEL, operator: 'Exists' },
      { key: DELETION_PROTECTION_LABEL, operator: 'NotIn', values: [DELETION_PROTECTION_ALWAYS] },
    ] },
  },
] satisfies WebhookSpec[]);

/** Where the API server reaches us: the in-cluster Service, or a URL base (`https://127.0.0.1:9443`). */
export type ClientConfigTarget = { service: ServiceRef } | { urlBase: string };

export interface BuildConfigurationsOptions {
  target: ClientConfigTarget;
  /** PEM CA bundle put (base64) into every clientConfig; omitted when undefined (cert-manager injects it). */
  caBundlePem?: string;
  /** Skipped namespaces. @default ['kube-system', SYSTEM_NAMESPACE] */
  systemNamespaces?: readonly string[];
}

function clientConfig(spec: WebhookSpec, o: BuildConfigurationsOptions): Record<string, unknown> {
  const caBundle = o.caBundlePem === undefined ? {} : { caBundle: Buffer.from(o.caBundlePem, 'utf8').toString('base64') };
  if ('service' in o.target) {
    const s = o.target.service;
    return { service: { namespace: s.namespace, name: s.name, path: spec.path, port: s.port ?? 443 }, ...caBundle };
  }
  return { url: `${o.target.urlBase.replace(/\/+$/, '')}${spec.path}`, ...caBundle };
}

function webhookEntry(spec: WebhookSpec, o: BuildConfigurationsOptions): Record<string, unknown> {
  const systemNamespaces = o.systemNamespaces ?? ['kube-system', SYSTEM_NAMESPACE];
  const namespaceExpressions: LabelSelectorRequirement[] = [
    ...(spec.skipSystemNamespaces ? [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn' as const, values: [...systemNamespaces] }] : []),
    ...structuredClone(spec.namespaceExpressions ?? []),
  ];
  return {
    name: spec.name,
    admissionReviewVersions: ['v1'],
    clientConfig: clientConfig(spec, o),
    failurePolicy: spec.failurePolicy,
    ...(namespaceExpressions.length > 0 ? { namespaceSelector: { matchExpressions: namespaceExpressions } } : {}),
    ...(spec.objectSelector ? { objectSelector: structuredClone(spec.objectSelector) } : {}),
    rules: spec.rules.map((r) => ({ ...structuredClone(r), scope: '*' })),
    sideEffects: 'None',
    timeoutSeconds: spec.timeoutSeconds,
  };
}

/** The two configuration objects, ready to create or apply. */
export function buildWebhookConfigurations(o: BuildConfigurationsOptions): [KubeObject, KubeObject] {
  const group = (mutating: boolean) => WEBHOOKS.filter((w) => w.mutating === mutating).map((w) => webhookEntry(w, o));
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration',
      metadata: { name: MUTATING_CONFIGURATION_NAME, labels: { 'app.kubernetes.io/name': 'kruise-ts' } },
      webhooks: group(true).map((w) => ({ ...w, reinvocationPolicy: 'Never' })),
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration',
      metadata: { name: VALIDATING_CONFIGURATION_NAME, labels: { 'app.kubernetes.io/name': 'kruise-ts' } },
      webhooks: group(false),
    },
  ];
}

/** deploy/webhooks.yaml: the configurations for the in-cluster Service, without a CA bundle. */
export function renderWebhooksYaml(): string {
  const header = '# Generated from src/coordinator/admission/webhook-configurations.ts; do not edit by hand.\n' +
    '# Regenerate: npm run build && node dist/test/unit/coordinator/admission/generate-webhooks-yaml.js\n' +
    '# The coordinator patches clientConfig.caBundle at start-up when it makes its own CA (no --cert-dir).\n';
  const docs = buildWebhookConfigurations({ target: { service: { ...DEFAULT_WEBHOOK_SERVICE } } });
  return header + docs.map((d) => `---\n${stringify(d, { lineWidth: 0 })}`).join('');
}
