/**
 * Turns a CRD's OpenAPI v3 (structural) schema into a JSON Schema that ajv validates the way the API server does:
 * `x-kubernetes-int-or-string` → integer or string, `nullable` → also null, `x-kubernetes-*` and `format`s like
 * int32/int64 kept as annotations (the caller registers them), and, with `strict`, unknown properties rejected
 * everywhere except under `x-kubernetes-preserve-unknown-fields` (the API server would prune them; our tests and
 * the sandbox treat them as mistakes).
 */
import type { JSONSchemaProps } from './schema-builders.js';

export type JsonSchema = Record<string, unknown>;

export interface TranslateOptions {
  /** Reject properties that the schema does not declare (default true). */
  strict?: boolean;
}

export function openApiToJsonSchema(node: JSONSchemaProps, options: TranslateOptions = {}): JsonSchema {
  const strict = options.strict ?? true;
  const out: JsonSchema = {};
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node['x-kubernetes-int-or-string']) {
    out['anyOf'] = [{ type: 'integer' }, { type: 'string' }];
  } else if (node.type !== undefined) {
    out['type'] = node.nullable ? [node.type, 'null'] : node.type;
  }
  if (node.format !== undefined) out['format'] = node.format;
  if (node.enum !== undefined) out['enum'] = node.enum;
  if (node.required !== undefined) out['required'] = node.required;
  if (node.properties !== undefined) {
    const props: Record<string, JsonSchema> = {};
    for (const [k, v] of Object.entries(node.properties)) props[k] = openApiToJsonSchema(v, options);
    out['properties'] = props;
  }
  if (node.additionalProperties !== undefined) {
    out['additionalProperties'] = openApiToJsonSchema(node.additionalProperties, options);
  } else if (strict && node.properties !== undefined && !preserve) {
    out['additionalProperties'] = false;
  }
  if (node.items !== undefined) out['items'] = openApiToJsonSchema(node.items, options);
  return out;
}

/** The non-standard formats Kubernetes schemas use, as ajv format validators. */
export const KUBERNETES_FORMATS: Readonly<Record<string, (value: unknown) => boolean>> = Object.freeze({
  int32: (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647,
  int64: (v: unknown) => typeof v === 'number' && Number.isInteger(v),
});
