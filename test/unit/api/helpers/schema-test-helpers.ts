/** Test helpers: an ajv set up for Kubernetes CRD schemas, and the repo root. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { crdSchema } from '../../../../src/api/crd-schemas/crds.js';
import { KUBERNETES_FORMATS, openApiToJsonSchema } from '../../../../src/api/crd-schemas/openapi-to-json-schema.js';
import type { KruiseKind } from '../../../../src/api/group-version.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as
  (ajv: Ajv) => Ajv;

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json found');
    dir = parent;
  }
  return dir;
}

export function makeAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  for (const [name, validate] of Object.entries(KUBERNETES_FORMATS)) ajv.addFormat(name, { type: 'number', validate });
  return ajv;
}

const cache = new Map<string, ValidateFunction>();

/** A validator for a kind's CRD schema; `strict` rejects undeclared fields outside preserved subtrees. */
export function crdValidator(kind: KruiseKind, strict = true): ValidateFunction {
  const key = `${kind}/${strict}`;
  let v = cache.get(key);
  if (!v) {
    v = makeAjv().compile(openApiToJsonSchema(crdSchema(kind), { strict }));
    cache.set(key, v);
  }
  return v;
}

export function ajvErrors(v: ValidateFunction): string {
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');
}
