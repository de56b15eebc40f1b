import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ImageReferenceError, familiarizeImageReference, normalizeImageReference, parseImageReference, tryParseImageReference,
} from '../../../src/cri/index.js';

const SHA = 'sha256:' + 'ab'.repeat(32);
const SHA512 = 'sha512:' + 'cd'.repeat(64);

interface ValidCase {
  input: string;
  normalized: string;
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
  familiar: string;
}

const VALID: ValidCase[] = [
  { input: 'nginx', normalized: 'docker.io/library/nginx:latest', domain: 'docker.io', path: 'library/nginx', tag: 'latest', familiar: 'nginx:latest' },
  { input: 'nginx:1.9.1', normalized: 'docker.io/library/nginx:1.9.1', domain: 'docker.io', path: 'library/nginx', tag: '1.9.1', familiar: 'nginx:1.9.1' },
  { input: 'library/nginx', normalized: 'docker.io/library/nginx:latest', domain: 'docker.io', path: 'library/nginx', tag: 'latest', familiar: 'nginx:latest' },
  { input: 'docker.io/nginx', normalized: 'docker.io/library/nginx:latest', domain: 'docker.io', path: 'library/nginx', tag: 'latest', familiar: 'nginx:latest' },
  { input: 'index.docker.io/nginx:alpine', normalized: 'docker.io/library/nginx:alpine', domain: 'docker.io', path: 'library/nginx', tag: 'alpine', familiar: 'nginx:alpine' },
  { input: 'docker.io/library/nginx:latest', normalized: 'docker.io/library/nginx:latest', domain: 'docker.io', path: 'library/nginx', tag: 'latest', familiar: 'nginx:latest' },
  { input: 'openkruise/kruise-manager:v0.9.0', normalized: 'docker.io/openkruise/kruise-manager:v0.9.0', domain: 'docker.io', path: 'openkruise/kruise-manager', tag: 'v0.9.0', familiar: 'openkruise/kruise-manager:v0.9.0' },
  { input: 'library/distros/ubuntu', normalized: 'docker.io/library/distros/ubuntu:latest', domain: 'docker.io', path: 'library/distros/ubuntu', tag: 'latest', familiar: 'library/distros/ubuntu:latest' },
  { input: 'localhost/foo', normalized: 'localhost/foo:latest', domain: 'localhost', path: 'foo', tag: 'latest', familiar: 'localhost/foo:latest' },
  { input: 'localhost:5000/foo/bar:tag', normalized: 'localhost:5000/foo/bar:tag', domain: 'localhost:5000', path: 'foo/bar', tag: 'tag', familiar: 'localhost:5000/foo/bar:tag' },
  { input: '127.0.0.1:5000/busybox', normalized: '127.0.0.1:5000/busybox:latest', domain: '127.0.0.1:5000', path: 'busybox', tag: 'latest', familiar: '127.0.0.1:5000/busybox:latest' },
  { input: '[::1]:5000/app:v1', normalized: '[::1]:5000/app:v1', domain: '[::1]:5000', path: 'app', tag: 'v1', familiar: '[::1]:5000/app:v1' },
  { input: 'quay.io/coreos/etcd:v3.5.0', normalized: 'quay.io/coreos/etcd:v3.5.0', domain: 'quay.io', path: 'coreos/etcd', tag: 'v3.5.0', familiar: 'quay.io/coreos/etcd:v3.5.0' },
  { input: `registry.example.com:5000/ns/app@${SHA}`, normalized: `registry.example.com:5000/ns/app@${SHA}`, domain: 'registry.example.com:5000', path: 'ns/app', digest: SHA, familiar: `registry.example.com:5000/ns/app@${SHA}` },
  { input: `nginx@${SHA}`, normalized: `docker.io/library/nginx@${SHA}`, domain: 'docker.io', path: 'library/nginx', digest: SHA, familiar: `nginx@${SHA}` },
  { input: `nginx:1.25@${SHA}`, normalized: `docker.io/library/nginx:1.25@${SHA}`, domain: 'docker.io', path: 'library/nginx', tag: '1.25', digest: SHA, familiar: `nginx:1.25@${SHA}` },
  { input: `localhost:5000/a/b:t@${SHA512}`, normalized: `localhost:5000/a/b:t@${SHA512}`, domain: 'localhost:5000', path: 'a/b', tag: 't', digest: SHA512, familiar: `localhost:5000/a/b:t@${SHA512}` },
  { input: 'my-registry.local/a__b/c--d/e.f_g:V1_x-Y.z', normalized: 'my-registry.local/a__b/c--d/e.f_g:V1_x-Y.z', domain: 'my-registry.local', path: 'a__b/c--d/e.f_g', tag: 'V1_x-Y.z', familiar: 'my-registry.local/a__b/c--d/e.f_g:V1_x-Y.z' },
  // An uppercase first element can only be a registry: path components are lowercase (distribution's rule).
  { input: 'Registry/app', normalized: 'Registry/app:latest', domain: 'Registry', path: 'app', tag: 'latest', familiar: 'Registry/app:latest' },
];

describe('parseImageReference accepts the Docker reference grammar', () => {
  for (const c of VALID) {
    test(`${c.input} normalises to ${c.normalized}`, () => {
      const ref = parseImageReference(c.input);
      assert.equal(ref.toString(), c.normalized);
      assert.equal(`${ref}`, c.normalized);
      assert.equal(ref.domain, c.domain);
      assert.equal(ref.path, c.path);
      assert.equal(ref.tag, c.tag);
      assert.equal(ref.digest, c.digest);
      assert.equal(ref.name, `${c.domain}/${c.path}`);
      assert.equal(ref.familiarString(), c.familiar);
      // Normalising is idempotent, and the familiar form parses back to the same reference.
      assert.equal(normalizeImageReference(c.normalized), c.normalized);
      assert.equal(normalizeImageReference(c.familiar), c.normalized);
    });
  }
});

interface InvalidCase {
  input: string;
  why: RegExp;
}

const INVALID: InvalidCase[] = [
  { input: '', why: /empty/ },
  { input: 'NGINX', why: /must be lowercase/ },
  { input: 'docker.io/Library/nginx', why: /must be lowercase/ },
  { input: 'example.com/Team/app:v1', why: /must be lowercase/ },
  { input: ':tag', why: /repository name is empty/ },
  { input: '@' + SHA, why: /repository name is empty/ },
  { input: 'nginx:', why: /tag after ':' is empty/ },
  { input: 'nginx:-bad', why: /tag "-bad" must start with/ },
  { input: 'nginx:a/b', why: /./ },
  { input: `nginx:${'x'.repeat(129)}`, why: /maximum is 128/ },
  { input: 'nginx@sha256:abc', why: /sha256 digest must have 64 hex characters, it has 3/ },
  { input: `nginx@sha256:${'a'.repeat(65)}`, why: /must have 64 hex characters, it has 65/ },
  { input: `nginx@sha256:${'A'.repeat(64)}`, why: /lowercase hex/ },
  { input: `nginx@md5:${'a'.repeat(32)}`, why: /"md5" is not supported/ },
  { input: 'nginx@sha256', why: /must be algorithm:hex/ },
  { input: 'nginx@', why: /digest after '@' is empty/ },
  { input: `nginx@${SHA}@${SHA}`, why: /more than one '@'/ },
  { input: 'a'.repeat(64).replace(/a/g, 'f'), why: /image id/ },
  { input: 'nginx latest', why: /whitespace/ },
  { input: 'foo//bar', why: /empty component/ },
  { input: 'foo/bar/', why: /empty component/ },
  { input: 'foo/-bar', why: /component "-bar"/ },
  { input: 'foo/bar.', why: /component "bar."/ },
  { input: 'registry-.example.com/app', why: /registry "registry-.example.com" is not a valid host/ },
  { input: 'example.com:port/app', why: /is not a valid host/ },
  { input: `example.com/${'a'.repeat(256)}`, why: /maximum is 255/ },
];

describe('parseImageReference rejects invalid references with a reason', () => {
  for (const c of INVALID) {
    test(`${JSON.stringify(c.input.length > 60 ? c.input.slice(0, 60) + '...' : c.input)} is rejected`, () => {
      assert.throws(() => parseImageReference(c.input), (err: unknown) => {
        assert.ok(err instanceof ImageReferenceError);
        assert.equal(err.reason, 'InvalidImageName');
        assert.equal(err.retryable, false);
        assert.match(err.message, c.why);
        return true;
      });
    });
  }
});

test('a tag-and-digest reference keeps both, unlike a parser that splits at the last colon', () => {
  const ref = parseImageReference(`registry.example.com:5000/ns/app:v2@${SHA}`);
  assert.equal(ref.tag, 'v2');
  assert.equal(ref.digest, SHA);
  assert.equal(ref.domain, 'registry.example.com:5000');
  assert.equal(ref.toString(), `registry.example.com:5000/ns/app:v2@${SHA}`);
});

test('a digest-only reference gets no default tag', () => {
  assert.equal(parseImageReference(`busybox@${SHA}`).tag, undefined);
});

test('defaultTag false leaves a bare name without a tag', () => {
  const ref = parseImageReference('busybox', { defaultTag: false });
  assert.equal(ref.tag, undefined);
  assert.equal(ref.toString(), 'docker.io/library/busybox');
  assert.equal(familiarizeImageReference('docker.io/library/busybox'), 'busybox');
});

test('fieldPath is carried into the error', () => {
  const err = tryParseImageReference('UPPER', { fieldPath: 'spec.image' });
  assert.ok(err instanceof ImageReferenceError);
  assert.equal(err.fieldPath, 'spec.image');
});
