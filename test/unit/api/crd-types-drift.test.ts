/**
 * The CRD schemas and the TypeScript types must describe the same fields, both ways:
 *
 * 1. TS → schema. `fixtures/full-objects.ts` holds one object per kind typed `DeepRequired<Kind>`, so it must name
 *    every TS field (checked here by type-checking that file, so the test fails even if someone compiles with
 *    errors). Each fixture must then validate against its CRD schema with undeclared properties rejected, except in
 *    `x-kubernetes-preserve-unknown-fields` subtrees; where such a subtree also declares fields (sidecar
 *    containers), the only undeclared keys allowed are those of corev1.Container.
 * 2. schema → TS. Every property path the schema declares must be present in the fixture, which can only hold
 *    fields its type has (excess properties are compile errors).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import ts from 'typescript';
import { crdSchema } from '../../../src/api/crd-schemas/crds.js';
import type { JSONSchemaProps } from '../../../src/api/crd-schemas/schema-builders.js';
import type { KruiseKind } from '../../../src/api/group-version.js';
import {
  fullCloneSet, fullContainer, fullImagePullJob, fullNodeImage, fullSidecarSet,
} from './fixtures/full-objects.js';
import { ajvErrors, crdValidator, repoRoot } from './helpers/schema-test-helpers.js';

const FIXTURES: Record<KruiseKind, unknown> = {
  CloneSet: fullCloneSet,
  ImagePullJob: fullImagePullJob,
  NodeImage: fullNodeImage,
  SidecarSet: fullSidecarSet,
};

/**
 * Schema nodes that both preserve unknown fields and declare some: the undeclared keys a fixture may carry there.
 * A new mixed node must be registered here, or the test fails.
 */
const MIXED_NODE_BASE_KEYS: Record<string, readonly string[]> = {
  'SidecarSet:spec.containers[]': Object.keys(fullContainer),
  'SidecarSet:spec.initContainers[]': Object.keys(fullContainer),
};

/** metadata is ObjectMeta, validated by the API server, not by the CRD schema. */
const SKIPPED_PATHS = new Set(['metadata']);

/** Every property path the schema declares, walked against the fixture; returns the paths the fixture lacks. */
function missingSchemaPaths(node: JSONSchemaProps, value: unknown, path: string, out: string[]): void {
  if (SKIPPED_PATHS.has(path)) return;
  if (node.properties) {
    const obj = (value ?? {}) as Record<string, unknown>;
    for (const [key, child] of Object.entries(node.properties)) {
      const childPath = path ? `${path}.${key}` : key;
      if (obj[key] === undefined) out.push(childPath);
      else missingSchemaPaths(child, obj[key], childPath, out);
    }
  }
  if (node.items) {
    if (!Array.isArray(value) || value.length === 0) out.push(`${path}[]`);
    else for (const item of value) missingSchemaPaths(node.items, item, `${path}[]`, out);
  }
  if (node.additionalProperties) {
    const entries = Object.values((value ?? {}) as Record<string, unknown>);
    if (entries.length === 0) out.push(`${path}{}`);
    for (const v of entries) missingSchemaPaths(node.additionalProperties, v, `${path}{}`, out);
  }
}

/** In preserved nodes that also declare properties: fixture keys that are neither declared nor base keys. */
function undeclaredInMixedNodes(kind: string, node: JSONSchemaProps, value: unknown, path: string, out: string[]): void {
  if (SKIPPED_PATHS.has(path) || value === null || typeof value !== 'object') return;
  if (node.items && Array.isArray(value)) {
    for (const item of value) undeclaredInMixedNodes(kind, node.items, item, `${path}[]`, out);
    return;
  }
  const obj = value as Record<string, unknown>;
  if (node.additionalProperties) {
    for (const v of Object.values(obj)) undeclaredInMixedNodes(kind, node.additionalProperties, v, `${path}{}`, out);
  }
  if (!node.properties) return;
  if (node['x-kubernetes-preserve-unknown-fields']) {
    const base = MIXED_NODE_BASE_KEYS[`${kind}:${path}`];
    if (!base) {
      out.push(`${path} (preserved node with declared fields is not registered in MIXED_NODE_BASE_KEYS)`);
    } else {
      for (const key of Object.keys(obj)) {
        if (!(key in node.properties) && !base.includes(key)) out.push(`${path}.${key}`);
      }
    }
  }
  for (const [key, child] of Object.entries(node.properties)) {
    if (obj[key] !== undefined) undeclaredInMixedNodes(kind, child, obj[key], path ? `${path}.${key}` : key, out);
  }
}

test('the full fixtures type-check as DeepRequired of every kind, so they name every TypeScript field', () => {
  const root = repoRoot();
  const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
  const fixture = join(root, 'test', 'unit', 'api', 'fixtures', 'full-objects.ts');
  const program = ts.createProgram([fixture], { ...parsed.options, noEmit: true, incremental: false });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  assert.deepEqual(diagnostics, []);
});

for (const kind of Object.keys(FIXTURES) as KruiseKind[]) {
  test(`every field of the ${kind} type is declared in its CRD schema`, () => {
    const validate = crdValidator(kind, true);
    assert.ok(validate(FIXTURES[kind]), ajvErrors(validate));
    const undeclared: string[] = [];
    undeclaredInMixedNodes(kind, crdSchema(kind), FIXTURES[kind], '', undeclared);
    assert.deepEqual(undeclared, []);
  });

  test(`every field declared in the ${kind} CRD schema exists in its TypeScript type`, () => {
    const missing: string[] = [];
    missingSchemaPaths(crdSchema(kind), FIXTURES[kind], '', missing);
    assert.deepEqual(missing, []);
  });
}

test('the drift checks notice a field added to only one side', () => {
  // Schema-only field: the walk reports it missing from the fixture.
  const schema = structuredClone(crdSchema('ImagePullJob'));
  schema.properties!['spec']!.properties!['newField'] = { type: 'string' };
  const missing: string[] = [];
  missingSchemaPaths(schema, fullImagePullJob, '', missing);
  assert.deepEqual(missing, ['spec.newField']);
  // Type-only field (present in the fixture, as DeepRequired would force): strict validation rejects it.
  const withExtra = JSON.parse(JSON.stringify(fullImagePullJob)) as { spec: Record<string, unknown> };
  withExtra.spec['newField'] = 'x';
  assert.equal(crdValidator('ImagePullJob', true)(withExtra), false);
  // A new Kruise field on sidecar containers cannot hide in the preserved Container subtree.
  const sidecar = JSON.parse(JSON.stringify(fullSidecarSet)) as { spec: { containers: Record<string, unknown>[] } };
  sidecar.spec.containers[0]!['newKruiseField'] = 'x';
  const undeclared: string[] = [];
  undeclaredInMixedNodes('SidecarSet', crdSchema('SidecarSet'), sidecar, '', undeclared);
  assert.deepEqual(undeclared, ['spec.containers[].newKruiseField']);
});
