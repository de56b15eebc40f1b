import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultNodeImage, fieldErrorMessage, validateNodeImage, type ImageTagSpec, type NodeImage,
} from '../../../src/api/index.js';

const NOW = '2024-01-01T00:00:00Z';

function ni(tags: Record<string, ImageTagSpec[]>, defaulted = true): NodeImage {
  const images = Object.fromEntries(Object.entries(tags).map(([k, t]) => [k, { tags: t }]));
  const obj: NodeImage = { apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name: 'node-1' }, spec: { images } };
  return defaulted ? defaultNodeImage(obj, NOW) : obj;
}

const messages = (o: NodeImage) => validateNodeImage(o).map(fieldErrorMessage);
const ttl = { ttlSecondsAfterFinished: 600 };

test('a defaulted NodeImage with a TTL on every tag is valid', () => {
  assert.deepEqual(messages(ni({ nginx: [{ tag: '1.9.1', pullPolicy: ttl }], redis: [{ tag: '7', version: 3, pullPolicy: ttl }] })), []);
});

test('an empty NodeImage is valid', () => assert.deepEqual(messages(ni({})), []));

const CASES: { name: string; obj: NodeImage; want: string[] }[] = [
  { name: 'an empty image name', obj: ni({ '': [{ tag: 'a', pullPolicy: ttl }] }), want: ['spec.images[]: Required value: image name can not be empty'] },
  { name: 'an empty tag', obj: ni({ nginx: [{ tag: '', pullPolicy: ttl }] }), want: ['spec.images[nginx].tags[0].tag: Required value: tag for image nginx can not be empty'] },
  {
    name: 'a duplicate tag', obj: ni({ nginx: [{ tag: 'a', pullPolicy: ttl }, { tag: 'a', pullPolicy: ttl }] }),
    want: ['spec.images[nginx].tags[1].tag: Invalid value: "a": duplicated tag a for image nginx'],
  },
  {
    name: 'a tag without createdAt', obj: ni({ nginx: [{ tag: 'a', pullPolicy: { timeoutSeconds: 1, backoffLimit: 1, ...ttl } }] }, false),
    want: ['spec.images[nginx].tags[0].createdAt: Required value: createAt field for nginx/a can not be empty'],
  },
  {
    name: 'a negative version', obj: ni({ nginx: [{ tag: 'a', version: -1, pullPolicy: ttl }] }),
    want: ['spec.images[nginx].tags[0].version: Invalid value: -1: version for nginx/a can not be less than 0'],
  },
  {
    name: 'a tag without pullPolicy', obj: ni({ nginx: [{ tag: 'a', createdAt: NOW }] }, false),
    want: ['spec.images[nginx].tags[0].pullPolicy: Required value: pullPolicy field for nginx/a must set'],
  },
  {
    name: 'a tag without ttlSecondsAfterFinished', obj: ni({ nginx: [{ tag: 'a' }] }),
    want: ['spec.images[nginx].tags[0].pullPolicy.ttlSecondsAfterFinished: Required value: pullPolicy.ttlSecondsAfterFinished for nginx/a must set'],
  },
];

for (const c of CASES) {
  test(`a NodeImage with ${c.name} is rejected with upstream's message`, () => assert.deepEqual(messages(c.obj), c.want));
}

test('more than 256 images are rejected', () => {
  const tags: Record<string, ImageTagSpec[]> = {};
  for (let i = 0; i < 257; i++) tags[`img${i}`] = [{ tag: 'a', pullPolicy: ttl }];
  assert.deepEqual(messages(ni(tags)), ['spec.images: Too many: spec images length 257 can not be more than 256']);
  delete tags['img0'];
  assert.deepEqual(messages(ni(tags)), []);
});
