/** Serves the OpenAPI v3 documents for whatever the registry serves now, rebuilt only when it changes. */
import type { OpenApiPort } from './http/api-handler.js';
import { buildOpenApiV3, resolveOpenApiV3Request, type OpenApiV3Set } from './openapi/index.js';
import type { ResourceRegistry } from './resource-registry.js';

export function createOpenApiPort(registry: ResourceRegistry, now: () => Date): OpenApiPort {
  let cached: { generation: number; set: OpenApiV3Set } | undefined;
  const current = (): OpenApiV3Set => {
    if (!cached || cached.generation !== registry.generation) {
      cached = { generation: registry.generation, set: buildOpenApiV3(registry.all()) };
    }
    return cached.set;
  };
  return {
    serve: (pathname, hash, accept) => resolveOpenApiV3Request(current(), pathname, hash, accept, now()),
  };
}
