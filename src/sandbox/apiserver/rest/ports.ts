/**
 * What the REST layer needs from its neighbours, as narrow interfaces: admission (webhooks), custom resource
 * schemas, patch engines and selectors. The wiring in `api-server.ts` plugs the real modules in; tests can plug
 * in fakes.
 */
import type { FieldError } from '../../../api/field-errors.js';
import type { KubeObject } from '../../../api/meta.js';
import type { ResourceType } from '../resource-type.js';

/** The admission chain's own request shape (Kubernetes' admission.Attributes). */
export type { AdmissionAttributes as AdmissionRequestAttributes, AdmissionOperation as Operation, AdmissionUserInfo as UserInfo } from '../admission/types.js';
import type { AdmissionAttributes as AdmissionRequestAttributes } from '../admission/types.js';

export interface AdmissionPort {
  mutate(attrs: AdmissionRequestAttributes): Promise<{ object?: KubeObject; warnings: string[] }>;
  validate(attrs: AdmissionRequestAttributes): Promise<{ warnings: string[] }>;
}

export interface CompiledResourceSchema {
  /** Drops fields the schema does not know; reports their paths (`.spec.foo`) for fieldValidation. */
  prune(obj: KubeObject): { object: KubeObject; unknownFields: string[] };
  applyDefaults(obj: KubeObject): KubeObject;
  validate(obj: KubeObject): FieldError[];
}

export interface SchemaPort {
  forType(t: ResourceType): CompiledResourceSchema | undefined;
}

export type PatchType = 'json' | 'merge' | 'strategic';

export interface PatchPort {
  apply(type: PatchType, original: KubeObject, patch: unknown, t: ResourceType): KubeObject;
}

export const NO_ADMISSION: AdmissionPort = {
  mutate: () => Promise.resolve({ warnings: [] }),
  validate: () => Promise.resolve({ warnings: [] }),
};
