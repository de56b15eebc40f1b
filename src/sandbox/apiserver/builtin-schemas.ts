/**
 * Type checks for the fields of built-in kinds that users and controllers write most. Kubernetes refuses a
 * wrongly typed field when it decodes the body; we check the same fields with structural schemas that keep every
 * other field as it is (x-kubernetes-preserve-unknown-fields), so nothing is pruned or defaulted here.
 */
import type { JsonSchemaProps } from './resource-type.js';

const open = (properties: Record<string, JsonSchemaProps> = {}, extra: JsonSchemaProps = {}): JsonSchemaProps =>
  ({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties, ...extra });
const str: JsonSchemaProps = { type: 'string' };
const bool: JsonSchemaProps = { type: 'boolean' };
const int = (minimum?: number): JsonSchemaProps => ({ type: 'integer', ...(minimum !== undefined ? { minimum } : {}) });
const stringMap: JsonSchemaProps = { type: 'object', additionalProperties: { type: 'string' } };
const list = (items: JsonSchemaProps): JsonSchemaProps => ({ type: 'array', items });

const container = open({ name: str, image: str, imagePullPolicy: str, command: list(str), args: list(str), workingDir: str,
  env: list(open({ name: str, value: str })), ports: list(open({ containerPort: int(0), name: str, protocol: str })) }, { required: ['name'] });
const podSpec = open({
  containers: list(container), initContainers: list(container), nodeName: str, nodeSelector: stringMap, restartPolicy: str,
  serviceAccountName: str, terminationGracePeriodSeconds: int(), activeDeadlineSeconds: int(), hostNetwork: bool,
  volumes: list(open({ name: str }, { required: ['name'] })), readinessGates: list(open({ conditionType: str })),
});
const template = open({ metadata: open({ labels: stringMap, annotations: stringMap }), spec: podSpec });
const selector = open({ matchLabels: stringMap, matchExpressions: list(open({ key: str, operator: str, values: list(str) })) });
const workloadSpec = open({ replicas: int(0), selector, template, minReadySeconds: int(0), revisionHistoryLimit: int(0), paused: bool });
const policyRule = open({ apiGroups: list(str), resources: list(str), resourceNames: list(str), nonResourceURLs: list(str), verbs: list(str) }, { required: ['verbs'] });
const roleRef = open({ apiGroup: str, kind: str, name: str }, { required: ['apiGroup', 'kind', 'name'] });
const subjects = list(open({ kind: str, apiGroup: str, name: str, namespace: str }, { required: ['kind', 'name'] }));

export const BUILTIN_SCHEMAS: Readonly<Record<string, JsonSchemaProps>> = Object.freeze({
  ConfigMap: open({ data: stringMap, binaryData: { type: 'object', additionalProperties: { type: 'string', format: 'byte' } }, immutable: bool }),
  Secret: open({ data: { type: 'object', additionalProperties: { type: 'string', format: 'byte' } }, stringData: stringMap, type: str, immutable: bool }),
  Pod: open({ spec: podSpec, status: open({ phase: str, conditions: list(open({ type: str, status: str })) }) }),
  Deployment: open({ spec: workloadSpec }),
  ReplicaSet: open({ spec: workloadSpec }),
  StatefulSet: open({ spec: workloadSpec }),
  DaemonSet: open({ spec: open({ selector, template, minReadySeconds: int(0), revisionHistoryLimit: int(0), updateStrategy: open({ type: str }) }) }),
  ClusterRole: open({ rules: list(policyRule) }),
  Role: open({ rules: list(policyRule) }),
  ClusterRoleBinding: open({ roleRef, subjects }, { required: ['roleRef'] }),
  RoleBinding: open({ roleRef, subjects }, { required: ['roleRef'] }),
  Node: open({ spec: open({ unschedulable: bool, taints: list(open({ key: str, effect: str })) }) }),
  Namespace: open({ spec: open({ finalizers: list(str) }) }),
  Lease: open({ spec: open({ holderIdentity: str, leaseDurationSeconds: int(), leaseTransitions: int(0), acquireTime: str, renewTime: str }) }),
  Event: open({ involvedObject: open({ kind: str, name: str, namespace: str, uid: str }), reason: str, message: str, type: str, count: int() }),
  ControllerRevision: open({ revision: int(0) }, { required: ['revision'] }),
  Service: open({ spec: open({ type: str, selector: stringMap, ports: list(open({ port: int(0), name: str, protocol: str })) }) }),
  PersistentVolumeClaim: open({ spec: open({ accessModes: list(str), storageClassName: str, volumeName: str }) }),
});
