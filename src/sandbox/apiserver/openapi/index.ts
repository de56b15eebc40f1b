export {
  buildGroupVersionDocument, buildOpenApiV3, groupVersionKey, openApiV3Hash, resolveOpenApiV3Request, schemaName,
} from './openapi-v3.js';
export type { OpenApiV3Document, OpenApiV3GroupVersion, OpenApiV3Options, OpenApiV3Response, OpenApiV3Set } from './openapi-v3.js';
