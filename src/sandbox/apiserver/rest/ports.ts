/**
 * What the REST layer needs from its neighbours, as narrow interfaces: admission (webhooks), custom resource
 * schemas, patch engines and selectors. The wiring in `api-server.ts` plugs the real modules in; tests can plug
 * in fakes.
 */
import type { FieldError } from '../../../api/field-errors.js';
import type { KubeObject } from '../../../api/meta.js';
import type { ResourceType } from '../resource-type.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface UserInfo { username: string; uid?: string; groups: string[] }

export interface AdmissionRequestAttributes {
  operation: Operation;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource: string;
  name: string;
  namespace: string;
  object?: KubeObject;
  oldObject?: KubeObject;
  dryRun: boolean;
  userInfo: UserInfo;
  options?: object;
}

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
