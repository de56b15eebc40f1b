import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  defaultCloneSet, defaultImagePullJob, defaultNodeImage, defaultSidecarSet,
  validateCloneSet, validateImagePullJob, validateNodeImage, validateSidecarSet,
  aggregateMessage, type CloneSet, type ImagePullJob, type NodeImage, type SidecarSet, type KruiseKind,
  type FieldError,
} from '../../../src/api/index.js';
import { ajvErrors, crdValidator, repoRoot } from './helpers/schema-test-helpers.js';

const NOW = '2024-01-01T00:00:00Z';
const dir = join(repoRoot(), 'deploy', 'samples');

const PIPELINES: Record<KruiseKind, (obj: unknown) => { defaulted: unknown; errors: FieldError[] }> = {
  CloneSet: (o) => { const d = defaultCloneSet(o as CloneSet); return { defaulted: d, errors: validateCloneSet(d) }; },
  ImagePullJob: (o) => { const d = defaultImagePullJob(o as ImagePullJob); return { defaulted: d, errors: validateImagePullJob(d) }; },
  NodeImage: (o) => { const d = defaultNodeImage(o as NodeImage, NOW); return { defaulted: d, errors: validateNodeImage(d) }; },
  SidecarSet: (o) => { const d = defaultSidecarSet(o as SidecarSet); return { defaulted: d, errors: validateSidecarSet(d) }; },
};

test('there is one sample per kind', () => {
  const kinds = readdirSync(dir).filter((f) => f.endsWith('.yaml'))
    .map((f) => (parse(readFileSync(join(dir, f), 'utf8')) as { kind: string }).kind).sort();
  assert.deepEqual(kinds, ['CloneSet', 'ImagePullJob', 'NodeImage', 'SidecarSet']);
});

for (const file of ['cloneset.yaml', 'imagepulljob.yaml', 'sidecarset.yaml', 'nodeimage.yaml']) {
  test(`the sample ${file} parses, defaults, validates and matches its CRD schema`, () => {
    const obj = parse(readFileSync(join(dir, file), 'utf8')) as { apiVersion: string; kind: KruiseKind };
    assert.equal(obj.apiVersion, 'apps.kruise.io/v1alpha1');
    const validate = crdValidator(obj.kind, true);
    assert.ok(validate(obj), `as written: ${ajvErrors(validate)}`);
    const { defaulted, errors } = PIPELINES[obj.kind](obj);
    assert.equal(errors.length, 0, errors.length ? aggregateMessage(errors) : '');
    assert.ok(validate(defaulted), `defaulted: ${ajvErrors(validate)}`);
  });
}

test('the SidecarSet sample hot-upgrades its sidecar', () => {
  const set = parse(readFileSync(join(dir, 'sidecarset.yaml'), 'utf8')) as SidecarSet;
  const c = set.spec.containers![0]!;
  assert.equal(c.upgradeStrategy?.upgradeType, 'HotUpgrade');
  assert.ok(c.upgradeStrategy?.hotUpgradeEmptyImage);
  assert.ok(c.lifecycle?.postStart);
});
