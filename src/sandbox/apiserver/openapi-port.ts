/** Serves the OpenAPI v3 documents for whatever the registry serves now, rebuilt only when it changes. */
import type { OpenApiPort } from './http/api-handler.js';
import type { ResourceRegistry } from './resource-registry.js';

export function createOpenApiPort(registry: ResourceRegistry): OpenApiPort {
  return {
    index: () => ({ paths: Object.fromEntries(registry.groupVersions().flatMap((g) => g.versions.map((v) => {
      const p = g.group === '' ? `api/${v}` : `apis/${g.group}/${v}`;
      return [p, { serverRelativeURL: `/openapi/v3/${p}?hash=${registry.generation}` }];
    }))) }),
    groupVersion: () => undefined,
  };
}
