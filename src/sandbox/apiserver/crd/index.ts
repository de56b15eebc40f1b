export { compileSchema, pruneWithSchema } from './crd-schema.js';
export type { CompiledSchema, PruneResult } from './crd-schema.js';
export { defaultCrd, validateCrd } from './crd-validation.js';
export { validateOpenApiSchema, validateStructural } from './structural-schema.js';
