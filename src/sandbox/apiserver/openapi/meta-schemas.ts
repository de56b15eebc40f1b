/**
 * The apimachinery meta types every group-version document refers to (ObjectMeta, ListMeta, Status, ...), as
 * OpenAPI 3.0 component schemas under kube-apiserver's names. ObjectMeta is spelled out so that `kubectl
 * explain <kind>.metadata` works; the others only as far as clients read them.
 */
import type { JsonSchemaProps } from '../resource-type.js';

export const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
export const LIST_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta';
export const OWNER_REFERENCE = 'io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference';
export const MANAGED_FIELDS_ENTRY = 'io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry';
export const STATUS = 'io.k8s.apimachinery.pkg.apis.meta.v1.Status';
export const DELETE_OPTIONS = 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions';
export const PATCH = 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch';
export const TIME = 'io.k8s.apimachinery.pkg.apis.meta.v1.Time';
export const SCALE = 'io.k8s.api.autoscaling.v1.Scale';

export function ref(name: string): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}

const str = (description: string): JsonSchemaProps => ({ description, type: 'string', default: '' });
const time = (description: string): JsonSchemaProps => ({ description, allOf: [ref(TIME)] });
const stringMap = (description: string): JsonSchemaProps =>
  ({ description, type: 'object', additionalProperties: { type: 'string', default: '' } });

/** Fresh copies each call: documents are serialised, never shared between group-versions by reference. */
export function metaSchemas(): Record<string, JsonSchemaProps> {
  return {
    [TIME]: { description: 'Time is a wrapper around time.Time, serialised as RFC 3339.', type: 'string', format: 'date-time' },
    [OWNER_REFERENCE]: {
      description: 'OwnerReference contains enough information to let you identify an owning object.',
      type: 'object',
      required: ['apiVersion', 'kind', 'name', 'uid'],
      properties: {
        apiVersion: str('API version of the referent.'),
        blockOwnerDeletion: { description: 'If true, the owner cannot be deleted before this object.', type: 'boolean' },
        controller: { description: 'If true, this reference points to the managing controller.', type: 'boolean' },
        kind: str('Kind of the referent.'),
        name: str('Name of the referent.'),
        uid: str('UID of the referent.'),
      },
      'x-kubernetes-map-type': 'atomic',
    },
    [MANAGED_FIELDS_ENTRY]: {
      description: 'ManagedFieldsEntry is a workflow-id, a FieldSet and the group version of the resource.',
      type: 'object',
      properties: {
        apiVersion: { type: 'string' }, fieldsType: { type: 'string' },
        fieldsV1: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        manager: { type: 'string' }, operation: { type: 'string' }, subresource: { type: 'string' }, time: time('Timestamp.'),
      },
    },
    [OBJECT_META]: {
      description: 'ObjectMeta is metadata that all persisted resources must have.',
      type: 'object',
      properties: {
        annotations: stringMap('Annotations is an unstructured key value map.'),
        creationTimestamp: time('CreationTimestamp is when this object was created.'),
        deletionGracePeriodSeconds: { description: 'Seconds allowed for graceful termination.', type: 'integer', format: 'int64' },
        deletionTimestamp: time('RFC 3339 date and time at which this resource will be deleted.'),
        finalizers: {
          description: 'Must be empty before the object is deleted from the registry.',
          type: 'array', items: { type: 'string', default: '' }, 'x-kubernetes-list-type': 'set',
          'x-kubernetes-patch-strategy': 'merge',
        },
        generateName: str('An optional prefix used by the server to generate a unique name.'),
        generation: { description: 'A sequence number representing a specific generation of the desired state.', type: 'integer', format: 'int64' },
        labels: stringMap('Map of string keys and values that can be used to organize and categorize objects.'),
        managedFields: { description: 'Which workflows manage which fields.', type: 'array', items: { allOf: [ref(MANAGED_FIELDS_ENTRY)], default: {} }, 'x-kubernetes-list-type': 'atomic' },
        name: str('Name must be unique within a namespace.'),
        namespace: str('Namespace defines the space within which each name must be unique.'),
        ownerReferences: {
          description: 'List of objects depended by this object.',
          type: 'array', items: { allOf: [ref(OWNER_REFERENCE)], default: {} },
          'x-kubernetes-list-map-keys': ['uid'], 'x-kubernetes-list-type': 'map',
          'x-kubernetes-patch-merge-key': 'uid', 'x-kubernetes-patch-strategy': 'merge',
        },
        resourceVersion: str('An opaque value that represents the internal version of this object.'),
        selfLink: str('Deprecated: selfLink is a legacy read-only field that is no longer populated.'),
        uid: str('UID is the unique in time and space value for this object.'),
      },
    },
    [LIST_META]: {
      description: 'ListMeta describes metadata that synthetic resources must have.',
      type: 'object',
      properties: {
        continue: { type: 'string' }, remainingItemCount: { type: 'integer', format: 'int64' },
        resourceVersion: { type: 'string' }, selfLink: { type: 'string' },
      },
    },
    [STATUS]: {
      description: 'Status is a return value for calls that do not return other objects.',
      type: 'object',
      properties: {
        apiVersion: { type: 'string' }, code: { type: 'integer', format: 'int32' },
        details: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        kind: { type: 'string' }, message: { type: 'string' },
        metadata: { allOf: [ref(LIST_META)], default: {} }, reason: { type: 'string' }, status: { type: 'string' },
      },
      'x-kubernetes-group-version-kind': [{ group: '', kind: 'Status', version: 'v1' }],
    },
    [DELETE_OPTIONS]: {
      description: 'DeleteOptions may be provided when deleting an API object.',
      type: 'object',
      properties: {
        apiVersion: { type: 'string' }, dryRun: { type: 'array', items: { type: 'string', default: '' } },
        gracePeriodSeconds: { type: 'integer', format: 'int64' }, kind: { type: 'string' },
        orphanDependents: { type: 'boolean' },
        preconditions: { type: 'object', properties: { resourceVersion: { type: 'string' }, uid: { type: 'string' } } },
        propagationPolicy: { type: 'string' },
      },
    },
    [PATCH]: {
      description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
      type: 'object',
    },
  };
}
