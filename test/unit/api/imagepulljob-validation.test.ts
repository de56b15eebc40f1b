import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultImagePullJob, fieldErrorMessage, imageReferenceError, validateImagePullJob, type ImagePullJob,
} from '../../../src/api/index.js';

type Mutate = (j: ImagePullJob) => void;

function base(mutate?: Mutate): ImagePullJob {
  const j = defaultImagePullJob({
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', metadata: { name: 'j', namespace: 'default' },
    spec: { image: 'nginx:1.9.1' },
  });
  mutate?.(j);
  return j;
}

const messages = (j: ImagePullJob) => validateImagePullJob(j).map(fieldErrorMessage);

test('a defaulted ImagePullJob is valid', () => assert.deepEqual(messages(base()), []));

const VALID: { name: string; mutate: Mutate }[] = [
  { name: 'node names', mutate: (j) => { j.spec.selector = { names: ['a', 'b'] }; } },
  { name: 'a node label selector', mutate: (j) => { j.spec.selector = { matchLabels: { arch: 'arm64' } }; } },
  { name: 'a pod selector', mutate: (j) => { j.spec.podSelector = { matchLabels: { app: 'foo' } }; } },
  { name: 'a Never policy without deadlines', mutate: (j) => { j.spec.completionPolicy = { type: 'Never' }; } },
  { name: 'a percentage parallelism (which means 0, paused)', mutate: (j) => { j.spec.parallelism = '50%'; } },
  { name: 'parallelism 0', mutate: (j) => { j.spec.parallelism = 0; } },
  { name: 'imagePullPolicy Always', mutate: (j) => { j.spec.imagePullPolicy = 'Always'; } },
  { name: 'a digest image', mutate: (j) => { j.spec.image = `registry.example.com:5000/team/app:1.0@sha256:${'a'.repeat(64)}`; } },
];

for (const v of VALID) {
  test(`an ImagePullJob with ${v.name} is valid`, () => assert.deepEqual(messages(base(v.mutate)), []));
}

const CASES: { name: string; mutate: Mutate; want: string[] }[] = [
  {
    name: 'both names and a label selector', mutate: (j) => { j.spec.selector = { names: ['a'], matchLabels: { a: 'b' } }; },
    want: ['spec.selector: Forbidden: can not set both names and labelSelector in this spec.selector'],
  },
  {
    name: 'an invalid node label selector', mutate: (j) => { j.spec.selector = { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }; },
    want: ['spec.selector: Invalid value: {"matchExpressions":[{"key":"a","operator":"Exists","values":["x"]}]}: invalid selector: spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is \'Exists\' or \'DoesNotExist\''],
  },
  { name: 'duplicate node names', mutate: (j) => { j.spec.selector = { names: ['a', 'a'] }; }, want: ['spec.selector.names: Invalid value: ["a","a"]: duplicated name in selector names'] },
  {
    name: 'both selector and podSelector', mutate: (j) => { j.spec.selector = { names: ['a'] }; j.spec.podSelector = { matchLabels: { a: 'b' } }; },
    want: ['spec.podSelector: Forbidden: can not set both selector and podSelector'],
  },
  {
    name: 'an invalid podSelector', mutate: (j) => { j.spec.podSelector = { matchLabels: { 'a/b/c': 'x' } }; },
    want: ["spec.podSelector: Invalid value: {\"matchLabels\":{\"a/b/c\":\"x\"}}: invalid podSelector: spec.podSelector.matchLabels: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"],
  },
  { name: 'an empty image', mutate: (j) => { j.spec.image = ''; }, want: ['spec.image: Required value: image can not be empty'] },
  { name: 'an uppercase image', mutate: (j) => { j.spec.image = 'Nginx:1'; }, want: ['spec.image: Invalid value: "Nginx:1": invalid image Nginx:1: invalid reference format: repository name must be lowercase'] },
  { name: 'a malformed image', mutate: (j) => { j.spec.image = 'nginx::1'; }, want: ['spec.image: Invalid value: "nginx::1": invalid image nginx::1: invalid reference format'] },
  {
    name: 'deadlines with Never', mutate: (j) => { j.spec.completionPolicy = { type: 'Never', ttlSecondsAfterFinished: 10 }; },
    want: ['spec.completionPolicy: Forbidden: activeDeadlineSeconds and ttlSecondsAfterFinished can only work with Always CompletionPolicyType'],
  },
  {
    name: 'an activeDeadlineSeconds with Never', mutate: (j) => { j.spec.completionPolicy = { type: 'Never', activeDeadlineSeconds: 10 }; },
    want: ['spec.completionPolicy: Forbidden: activeDeadlineSeconds and ttlSecondsAfterFinished can only work with Always CompletionPolicyType'],
  },
  { name: 'an unknown completion type', mutate: (j) => { j.spec.completionPolicy = { type: 'Sometimes' as 'Always' }; }, want: ['spec.completionPolicy.type: Invalid value: "Sometimes": unknown type of completionPolicy: Sometimes'] },
  { name: 'negative parallelism', mutate: (j) => { j.spec.parallelism = -1; }, want: ['spec.parallelism: Invalid value: -1: must be >= 0'] },
  { name: 'negative string parallelism', mutate: (j) => { j.spec.parallelism = '-2'; }, want: ['spec.parallelism: Invalid value: "-2": must be >= 0'] },
  { name: 'a negative timeout', mutate: (j) => { j.spec.pullPolicy!.timeoutSeconds = -1; }, want: ['spec.pullPolicy.timeoutSeconds: Invalid value: -1: must be >= 0'] },
  { name: 'a negative backoff limit', mutate: (j) => { j.spec.pullPolicy!.backoffLimit = -3; }, want: ['spec.pullPolicy.backoffLimit: Invalid value: -3: must be >= 0'] },
  { name: 'a negative deadline', mutate: (j) => { j.spec.completionPolicy!.activeDeadlineSeconds = -1; }, want: ['spec.completionPolicy.activeDeadlineSeconds: Invalid value: -1: must be >= 0'] },
  { name: 'a negative ttl', mutate: (j) => { j.spec.completionPolicy!.ttlSecondsAfterFinished = -1; }, want: ['spec.completionPolicy.ttlSecondsAfterFinished: Invalid value: -1: must be >= 0'] },
  { name: 'an unknown imagePullPolicy', mutate: (j) => { j.spec.imagePullPolicy = 'Never' as 'Always'; }, want: ['spec.imagePullPolicy: Unsupported value: "Never": supported values: "Always", "IfNotPresent"'] },
];

for (const c of CASES) {
  test(`an ImagePullJob with ${c.name} is rejected with the expected message`, () => assert.deepEqual(messages(base(c.mutate)), c.want));
}

const REFS: { ref: string; err?: string }[] = [
  { ref: 'nginx' }, { ref: 'nginx:1.9.1' }, { ref: 'docker.io/library/nginx:latest' }, { ref: 'localhost:5000/a/b_c/d-e:v1' },
  { ref: `nginx@sha256:${'f'.repeat(64)}` }, { ref: `nginx:1@sha256:${'0'.repeat(64)}` }, { ref: 'Registry.Example.com/app' },
  { ref: 'nginx:', err: 'invalid reference format' },
  { ref: 'g'.repeat(64) },
  { ref: 'f'.repeat(64), err: `invalid repository name (${'f'.repeat(64)}), cannot specify 64-byte hexadecimal strings` },
  { ref: 'nginx@sha256:abc', err: 'invalid reference format' },
  { ref: `nginx@sha256:${'f'.repeat(63)}`, err: 'invalid checksum digest length' },
  { ref: `nginx@md5:${'f'.repeat(32)}`, err: 'unsupported digest algorithm' },
  { ref: 'ns/Upper', err: 'invalid reference format: repository name must be lowercase' },
  { ref: `${'a'.repeat(256)}`, err: 'repository name must not be more than 255 characters' },
];

for (const r of REFS) {
  test(`the image reference ${r.ref.length > 40 ? r.ref.slice(0, 40) + '…' : r.ref} is ${r.err ? 'rejected' : 'accepted'}`, () => {
    assert.equal(imageReferenceError(r.ref), r.err);
  });
}
