/**
 * Strategic-merge metadata for the built-in kinds the sandbox serves: for each list (or struct) field that is not
 * plain "replace", its `patchStrategy` and `patchMergeKey`, transcribed from the Go struct tags in k8s.io/api
 * (core/v1, apps/v1, batch/v1, admissionregistration/v1) and k8s.io/apimachinery (meta/v1 ObjectMeta), checked
 * against mid-2026 snapshots. Fields without a tag are atomic: a patch replaces the whole list.
 *
 * Paths are dotted JSON field names from the object root with list elements transparent:
 * `spec.template.spec.containers.env` is the `env` list of any container of a Deployment's pod template.
 *
 * Facts worth remembering (checked, sometimes surprising):
 * - `metadata.finalizers` IS `patchStrategy:"merge"` (a primitive list: union, `$deleteFromPrimitiveList` removes).
 * - `spec.tolerations`, `spec.readinessGates`, `spec.containers[].envFrom`, node `spec.taints`, namespace
 *   `spec.finalizers`, ServiceAccount `imagePullSecrets` and all of `status.containerStatuses` /
 *   `initContainerStatuses` / `ephemeralContainerStatuses` carry no strategy: atomic.
 * - `volumes` and `resourceClaims` are `merge,retainKeys`; Deployment `spec.strategy` is `retainKeys` (kubectl
 *   sends `$retainKeys` there). The merge engine honours `$retainKeys` wherever it appears, so `retainKeys`
 *   matters here only as documentation.
 * - apiextensions (CRD), coordination (Lease), ControllerRevision, ConfigMap, Secret and Event types have no
 *   strategic tags beyond ObjectMeta's.
 */

export type PatchStrategy = 'merge' | 'retainKeys' | 'merge,retainKeys';

export interface FieldPatchMeta {
  readonly patchStrategy: PatchStrategy;
  /** For lists of objects merged by key; absent for primitive merge lists (`finalizers`) and retainKeys structs. */
  readonly patchMergeKey?: string;
}

/** Path (see module comment) → metadata, for one kind. */
export type KindPatchMeta = Readonly<Record<string, FieldPatchMeta>>;

const merge = (patchMergeKey?: string): FieldPatchMeta =>
  patchMergeKey === undefined ? { patchStrategy: 'merge' } : { patchStrategy: 'merge', patchMergeKey };
const mergeRetainKeys = (patchMergeKey: string): FieldPatchMeta => ({ patchStrategy: 'merge,retainKeys', patchMergeKey });

/** meta/v1 ObjectMeta at prefix `p` (`metadata.` or `spec.template.metadata.`). */
function objectMeta(p: string): Record<string, FieldPatchMeta> {
  return {
    [`${p}ownerReferences`]: merge('uid'),
    [`${p}finalizers`]: merge(),
  };
}

/** core/v1 Container (and EphemeralContainerCommon: same tags) at prefix `p`. */
function container(p: string): Record<string, FieldPatchMeta> {
  return {
    [`${p}ports`]: merge('containerPort'),
    [`${p}env`]: merge('name'),
    [`${p}volumeMounts`]: merge('mountPath'),
    [`${p}volumeDevices`]: merge('devicePath'),
  };
}

/** core/v1 PodSpec at prefix `p` (`spec.` or `spec.template.spec.`). */
function podSpec(p: string): Record<string, FieldPatchMeta> {
  return {
    [`${p}volumes`]: mergeRetainKeys('name'),
    [`${p}initContainers`]: merge('name'),
    ...container(`${p}initContainers.`),
    [`${p}containers`]: merge('name'),
    ...container(`${p}containers.`),
    [`${p}ephemeralContainers`]: merge('name'),
    ...container(`${p}ephemeralContainers.`),
    [`${p}imagePullSecrets`]: merge('name'),
    [`${p}hostAliases`]: merge('ip'),
    [`${p}topologySpreadConstraints`]: merge('topologyKey'),
    [`${p}schedulingGates`]: merge('name'),
    [`${p}resourceClaims`]: mergeRetainKeys('name'),
  };
}

/** core/v1 PodTemplateSpec at prefix `p` (`spec.template.`). */
function podTemplate(p: string): Record<string, FieldPatchMeta> {
  return { ...objectMeta(`${p}metadata.`), ...podSpec(`${p}spec.`) };
}

const conditionsByType = { 'status.conditions': merge('type') };

function kind(fields: Record<string, FieldPatchMeta>): KindPatchMeta {
  return Object.freeze({ ...objectMeta('metadata.'), ...fields });
}

/** Kinds whose tags we transcribed. Built-in kinds missing here get ObjectMeta's rules only (`patchMetaFor`). */
export const STRATEGIC_MERGE_METADATA: Readonly<Record<string, KindPatchMeta>> = Object.freeze({
  Pod: kind({
    ...podSpec('spec.'),
    ...conditionsByType,
    'status.podIPs': merge('ip'),
    'status.hostIPs': merge('ip'),
    'status.resourceClaimStatuses': mergeRetainKeys('name'),
  }),
  PodTemplate: kind(podTemplate('template.')),
  ReplicationController: kind({ ...podTemplate('spec.template.'), ...conditionsByType }),
  Deployment: kind({
    ...podTemplate('spec.template.'),
    'spec.strategy': { patchStrategy: 'retainKeys' },
    ...conditionsByType,
  }),
  ReplicaSet: kind({ ...podTemplate('spec.template.'), ...conditionsByType }),
  // volumeClaimTemplates has no tag: atomic.
  StatefulSet: kind({ ...podTemplate('spec.template.'), ...conditionsByType }),
  DaemonSet: kind({ ...podTemplate('spec.template.'), ...conditionsByType }),
  Job: kind({ ...podTemplate('spec.template.'), ...conditionsByType }),
  CronJob: kind(podTemplate('spec.jobTemplate.spec.template.')),
  Node: kind({
    'spec.podCIDRs': merge(),
    ...conditionsByType,
    'status.addresses': merge('type'),
  }),
  Service: kind({
    // Upstream lists port+protocol as the list-map key for server-side apply; the strategic key is `port` alone.
    'spec.ports': merge('port'),
    ...conditionsByType,
  }),
  ConfigMap: kind({}),
  Secret: kind({}),
  Namespace: kind(conditionsByType),
  Event: kind({}),
  ServiceAccount: kind({ secrets: merge('name') }),
  PersistentVolumeClaim: kind(conditionsByType),
  ControllerRevision: kind({}),
  Lease: kind({}),
  MutatingWebhookConfiguration: kind({ webhooks: merge('name'), 'webhooks.matchConditions': merge('name') }),
  ValidatingWebhookConfiguration: kind({ webhooks: merge('name'), 'webhooks.matchConditions': merge('name') }),
  CustomResourceDefinition: kind({}),
});

const OBJECT_META_ONLY: KindPatchMeta = kind({});

/** The table for `kind`; kinds not in it (other built-ins) get ObjectMeta's rules, every other list atomic. */
export function patchMetaFor(kindName: string): KindPatchMeta {
  return Object.hasOwn(STRATEGIC_MERGE_METADATA, kindName) ? STRATEGIC_MERGE_METADATA[kindName]! : OBJECT_META_ONLY;
}

/** True when `kindName` has its own entry in the table. */
export function hasStrategicMergeMetadata(kindName: string): boolean {
  return Object.hasOwn(STRATEGIC_MERGE_METADATA, kindName);
}
