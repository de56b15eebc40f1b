/** Values every generated CRD shares. */
import { GROUP, RESOURCES, VERSION, type KruiseKind } from '../group-version.js';
import type { CustomResourceDefinition, PrinterColumn } from './crd-types.js';
import type { JSONSchemaProps } from './schema-builders.js';

export const API_VERSION_PARTS = Object.freeze({ group: GROUP, version: VERSION });

export const AGE_COLUMN: PrinterColumn = Object.freeze({
  name: 'AGE',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
}) as PrinterColumn;

type CrdVersion = CustomResourceDefinition['spec']['versions'][number];

/**
 * One of our CRDs: the names from RESOURCES, scope from whether the kind is namespaced, a single served and stored
 * version with the status subresource (and scale when given).
 */
export function kruiseCrd(kind: KruiseKind, schema: JSONSchemaProps, printerColumns: PrinterColumn[],
  scale?: NonNullable<CrdVersion['subresources']>['scale']): CustomResourceDefinition {
  const names = RESOURCES[kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${names.plural}.${API_VERSION_PARTS.group}` },
    spec: {
      group: API_VERSION_PARTS.group,
      names: {
        kind: names.kind, listKind: names.listKind, plural: names.plural, singular: names.singular,
        ...(names.shortNames.length > 0 ? { shortNames: [...names.shortNames] } : {}),
      },
      scope: names.namespaced ? 'Namespaced' : 'Cluster',
      versions: [{
        name: API_VERSION_PARTS.version,
        served: true,
        storage: true,
        schema: { openAPIV3Schema: schema },
        subresources: { status: {}, ...(scale ? { scale } : {}) },
        additionalPrinterColumns: printerColumns,
      }],
    },
  };
}
