/**
 * What the embedded API server knows about one served resource: enough to route requests, answer discovery,
 * build OpenAPI documents and print tables. Built-in kinds are listed in `builtin-resources.ts`; custom
 * resources are derived from CustomResourceDefinition objects as they are created.
 */

/** A CRD's openAPIV3Schema (JSONSchemaProps), kept as plain JSON. */
export type JsonSchemaProps = Record<string, unknown>;

export interface ScaleSubresource {
  /** JSON path (`.spec.replicas`) of the desired replica count. */
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  format?: string;
  priority?: number;
}

export interface ResourceType {
  /** API group, '' for the core group. */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** Lower-case plural used in URLs (`pods`, `clonesets`). */
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  subresources: { status: boolean; scale?: ScaleSubresource };
  /** Structural schema of a custom resource version; built-in kinds have none (they are not schema-checked). */
  schema?: JsonSchemaProps;
  printerColumns?: PrinterColumn[];
  /** For built-in kinds: paths whose change bumps metadata.generation (default: anything but metadata/status). */
  builtin: boolean;
}

export function apiVersionOf(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group === '' ? t.version : `${t.group}/${t.version}`;
}

/** Key used for storage and maps: `<group>/<plural>` (group may be empty: `/pods`). */
export function resourceKey(t: Pick<ResourceType, 'group' | 'plural'>): string {
  return `${t.group}/${t.plural}`;
}
