/** All our CRDs, the single source of `deploy/crds/*.yaml`, and their rendering. */
import { stringify } from 'yaml';
import type { KruiseKind } from '../group-version.js';
import type { CustomResourceDefinition } from './crd-types.js';
import type { JSONSchemaProps } from './schema-builders.js';
import { cloneSetCrd } from './cloneset-schema.js';
import { imagePullJobCrd } from './imagepulljob-schema.js';
import { nodeImageCrd } from './nodeimage-schema.js';
import { sidecarSetCrd } from './sidecarset-schema.js';

export const KRUISE_CRDS: Readonly<Record<KruiseKind, CustomResourceDefinition>> = Object.freeze({
  CloneSet: cloneSetCrd,
  SidecarSet: sidecarSetCrd,
  ImagePullJob: imagePullJobCrd,
  NodeImage: nodeImageCrd,
});

/** The v1alpha1 openAPIV3Schema of a kind. */
export function crdSchema(kind: KruiseKind): JSONSchemaProps {
  return KRUISE_CRDS[kind].spec.versions[0]!.schema.openAPIV3Schema;
}

/** `deploy/crds/<file>`: upstream's naming, `apps.kruise.io_<plural>.yaml`. */
export function crdFileName(kind: KruiseKind): string {
  const crd = KRUISE_CRDS[kind];
  return `${crd.spec.group}_${crd.spec.names.plural}.yaml`;
}

export const CRD_FILE_HEADER =
  '# Generated from src/api/crd-schemas by src/api/crd-schemas/write-crds.ts. Do not edit by hand.\n';

/** The committed YAML of a kind's CRD; a unit test checks that deploy/crds holds exactly this. */
export function renderCrdYaml(kind: KruiseKind): string {
  return CRD_FILE_HEADER + stringify(KRUISE_CRDS[kind], { lineWidth: 0, aliasDuplicateObjects: false });
}
