/**
 * Adapters that plug the schema, patch and CRD modules into the REST layer's ports.
 */
import type { KubeObject } from '../../api/meta.js';
import { apiErrors } from './api-error.js';
import { BUILTIN_SCHEMAS } from './builtin-schemas.js';
import { compileSchema, defaultCrd, validateCrd } from './crd/index.js';
import { applyJsonPatch } from './patch/json-patch.js';
import { applyMergePatch } from './patch/merge-patch.js';
import { applyStrategicMergePatch, strategicMergeNotSupported, supportsStrategicMerge } from './patch/strategic-merge-patch.js';
import type { ResourceType } from './resource-type.js';
import type { CompiledResourceSchema, PatchPort, PatchType, SchemaPort } from './rest/ports.js';
import type { KindHooks } from './rest/resource-service.js';

export const schemaPort: SchemaPort = {
  forType(t: ResourceType): CompiledResourceSchema | undefined {
    if (t.builtin) {
      const schema = BUILTIN_SCHEMAS[t.kind];
      if (!schema) return undefined;
      // Built-in schemas keep every field and default nothing: only type checks, no copies.
      const compiled = compileSchema(schema);
      return { prune: (obj) => ({ object: obj, unknownFields: [] }), applyDefaults: (obj) => obj, validate: (obj) => compiled.validate(obj) };
    }
    if (!t.schema) return undefined;
    const compiled = compileSchema(t.schema);
    return {
      prune: (obj) => compiled.prune(obj),
      applyDefaults: (obj) => compiled.applyDefaults(obj),
      validate: (obj) => compiled.validate(obj),
    };
  },
};

export const patchPort: PatchPort = {
  apply(type: PatchType, original: KubeObject, patch: unknown, t: ResourceType): KubeObject {
    let result: unknown;
    switch (type) {
      case 'json': result = applyJsonPatch(original, patch); break;
      case 'merge': result = applyMergePatch(original, patch); break;
      case 'strategic':
        if (!supportsStrategicMerge(t.kind, t.builtin)) throw strategicMergeNotSupported();
        result = applyStrategicMergePatch(original, patch, t.kind);
        break;
    }
    if (result === null || typeof result !== 'object' || Array.isArray(result)) {
      throw apiErrors.badRequest('the patch must leave an object, not a scalar or a list');
    }
    return result as KubeObject;
  },
};

export const kindHooks: KindHooks = {
  default(t, obj) {
    if (t.builtin && t.kind === 'CustomResourceDefinition') return defaultCrd(obj);
    return obj;
  },
  validate(t, obj) {
    if (t.builtin && t.kind === 'CustomResourceDefinition') return validateCrd(obj);
    return [];
  },
};
