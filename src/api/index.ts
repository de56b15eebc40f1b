/**
 * The public surface of the contract layer: our CR types, the Pod model, well-known keys, feature gates,
 * int-or-percent arithmetic, defaulting, validation and the CRDs. Everything above `api/` imports from here.
 */
export * from './errors.js';
export * from './field-errors.js';
export * from './meta.js';
export * from './group-version.js';
export * from './object-reference.js';
export * from './pod-types.js';
export * from './pvc-types.js';
export * from './workload-common-types.js';
export * from './cloneset-types.js';
export * from './sidecarset-types.js';
export * from './imagepulljob-types.js';
export * from './nodeimage-types.js';
export * from './well-known-keys.js';
export * from './feature-gates.js';
export * from './int-or-string.js';

export { defaultCloneSet } from './defaults/cloneset-defaults.js';
export { defaultSidecarSet } from './defaults/sidecarset-defaults.js';
export {
  defaultImagePullJob, DEFAULT_IMAGE_PULL_BACKOFF_LIMIT, DEFAULT_IMAGE_PULL_TIMEOUT_SECONDS,
} from './defaults/imagepulljob-defaults.js';
export { defaultNodeImage } from './defaults/nodeimage-defaults.js';
export { applyPodSpecDefaults, applyContainerDefaults, applyVolumeDefaults } from './defaults/pod-defaults.js';

export { validateCloneSet, type CloneSetValidationOptions } from './validation/cloneset-validation.js';
export { validateImagePullJob } from './validation/imagepulljob-validation.js';
export { validateNodeImage, MAX_IMAGES_PER_NODE } from './validation/nodeimage-validation.js';
export {
  validateSidecarSet, validateSidecarSetConflicts, sidecarSetNameProblems,
} from './validation/sidecarset-validation.js';
// Runtime selectors live in label-selector.ts (owned separately); its own `validateLabelSelector` is not re-exported
// here, to keep one name for the field-error validator below.
export { parseLabelSelector, selectorFromLabelSelector, matchesSelector } from './label-selector.js';
export {
  validateLabelSelector, labelSelectorError, selectorsOverlap,
} from './validation/label-selector-validation.js';
export { imageReferenceError } from './validation/image-reference-validation.js';

export type { JSONSchemaProps } from './crd-schemas/schema-builders.js';
export type { CustomResourceDefinition, PrinterColumn } from './crd-schemas/crd-types.js';
export { KRUISE_CRDS, crdSchema, crdFileName, renderCrdYaml } from './crd-schemas/crds.js';
export { openApiToJsonSchema, KUBERNETES_FORMATS, type JsonSchema } from './crd-schemas/openapi-to-json-schema.js';
