import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KRUISE_CRDS, crdFileName, crdSchema, renderCrdYaml } from '../../../src/api/crd-schemas/crds.js';
import type { JSONSchemaProps } from '../../../src/api/crd-schemas/schema-builders.js';
import type { KruiseKind } from '../../../src/api/group-version.js';
import { repoRoot } from './helpers/schema-test-helpers.js';

const KINDS = Object.keys(KRUISE_CRDS) as KruiseKind[];
const crdDir = join(repoRoot(), 'deploy', 'crds');

test('deploy/crds holds exactly the generated CRDs (regenerate with node dist/src/api/crd-schemas/write-crds.js)', () => {
  assert.deepEqual(readdirSync(crdDir).sort(), KINDS.map(crdFileName).sort());
  for (const kind of KINDS) {
    assert.equal(readFileSync(join(crdDir, crdFileName(kind)), 'utf8'), renderCrdYaml(kind), crdFileName(kind));
  }
});

test('the committed CRD YAML parses back to the TypeScript definition', () => {
  for (const kind of KINDS) {
    assert.deepEqual(parse(readFileSync(join(crdDir, crdFileName(kind)), 'utf8')), KRUISE_CRDS[kind]);
  }
});

function structuralProblems(node: JSONSchemaProps, path: string, out: string[]): void {
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  if (intOrString && node.type !== undefined) out.push(`${path}: int-or-string must not set type`);
  if (!intOrString && node.type === undefined) out.push(`${path}: missing type`);
  if (node.type === 'array' && !node.items) out.push(`${path}: array without items`);
  if (node.properties && node.additionalProperties) out.push(`${path}: both properties and additionalProperties`);
  for (const [k, v] of Object.entries(node.properties ?? {})) structuralProblems(v, `${path}.${k}`, out);
  if (node.items) structuralProblems(node.items, `${path}[]`, out);
  if (node.additionalProperties) structuralProblems(node.additionalProperties, `${path}{}`, out);
}

test('every CRD schema is structural: each level has a type, int-or-string nodes use the extension instead', () => {
  for (const kind of KINDS) {
    const problems: string[] = [];
    structuralProblems(crdSchema(kind), kind, problems);
    assert.deepEqual(problems, []);
  }
});

const SHAPE: Record<KruiseKind, { scope: string; shortNames?: string[]; columns: string[]; scale: boolean }> = {
  CloneSet: {
    scope: 'Namespaced', shortNames: ['clone'], scale: true,
    columns: ['DESIRED', 'UPDATED', 'UPDATED_READY', 'READY', 'TOTAL', 'AGE'],
  },
  SidecarSet: { scope: 'Cluster', scale: false, columns: ['MATCHED', 'UPDATED', 'READY', 'AGE'] },
  ImagePullJob: { scope: 'Namespaced', scale: false, columns: ['TOTAL', 'ACTIVE', 'SUCCEED', 'FAILED', 'AGE', 'MESSAGE'] },
  NodeImage: { scope: 'Cluster', scale: false, columns: ['DESIRED', 'PULLING', 'SUCCEED', 'FAILED', 'AGE'] },
};

for (const kind of KINDS) {
  test(`the ${kind} CRD has upstream v0.9.0's names, scope, subresources and printer columns`, () => {
    const crd = KRUISE_CRDS[kind];
    const shape = SHAPE[kind];
    const version = crd.spec.versions[0]!;
    assert.equal(crd.metadata.name, `${crd.spec.names.plural}.apps.kruise.io`);
    assert.equal(crd.spec.group, 'apps.kruise.io');
    assert.equal(crd.spec.names.kind, kind);
    assert.equal(crd.spec.names.listKind, `${kind}List`);
    assert.equal(crd.spec.names.plural, `${kind.toLowerCase()}s`);
    assert.equal(crd.spec.scope, shape.scope);
    assert.deepEqual(crd.spec.names.shortNames, shape.shortNames);
    assert.equal(crd.spec.versions.length, 1);
    assert.equal(version.name, 'v1alpha1');
    assert.equal(version.served && version.storage, true);
    assert.deepEqual(version.subresources?.status, {});
    assert.deepEqual(version.additionalPrinterColumns?.map((c) => c.name), shape.columns);
    if (shape.scale) {
      assert.deepEqual(version.subresources?.scale, {
        specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.labelSelector',
      });
    } else {
      assert.equal(version.subresources?.scale, undefined);
    }
  });
}

test('embedded Kubernetes objects are preserved, not pruned', () => {
  const cs = crdSchema('CloneSet').properties!['spec']!.properties!;
  assert.equal(cs['template']!['x-kubernetes-preserve-unknown-fields'], true);
  assert.equal(cs['volumeClaimTemplates']!.items!['x-kubernetes-preserve-unknown-fields'], true);
  const ss = crdSchema('SidecarSet').properties!['spec']!.properties!;
  assert.equal(ss['containers']!.items!['x-kubernetes-preserve-unknown-fields'], true);
  assert.equal(ss['volumes']!.items!['x-kubernetes-preserve-unknown-fields'], true);
});
