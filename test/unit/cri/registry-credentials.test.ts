import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PullSecretError, RegistryKeyring, SECRET_TYPE_DOCKERCFG, SECRET_TYPE_DOCKER_CONFIG_JSON, describeCredential,
  parsePullSecret, pullAuthAttempts, registryKeyMatches, toAuthConfig, type PullSecretLike, type RegistryCredential,
} from '../../../src/cri/index.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

function dockerConfigJsonSecret(name: string, auths: Record<string, unknown>): PullSecretLike {
  return {
    metadata: { namespace: 'kruise-system', name },
    type: SECRET_TYPE_DOCKER_CONFIG_JSON,
    data: { '.dockerconfigjson': b64(JSON.stringify({ auths })) },
  };
}

function dockercfgSecret(name: string, map: Record<string, unknown>): PullSecretLike {
  return { metadata: { namespace: 'kruise-system', name }, type: SECRET_TYPE_DOCKERCFG, data: { '.dockercfg': b64(JSON.stringify(map)) } };
}

function cred(serverAddress: string, username: string): RegistryCredential {
  return { serverAddress, username, password: `pw-${username}` };
}

describe('registryKeyMatches follows kubelet URLsMatchStr', () => {
  const CASES: [key: string, image: string, match: boolean][] = [
    ['registry.example.com', 'registry.example.com/ns/app', true],
    ['https://registry.example.com', 'registry.example.com/ns/app', true],
    ['http://registry.example.com/', 'registry.example.com/ns/app', true],
    ['registry.example.com', 'other.example.com/ns/app', false],
    // port must match exactly, both ways
    ['registry.example.com:5000', 'registry.example.com:5000/app', true],
    ['registry.example.com:5000', 'registry.example.com/app', false],
    ['registry.example.com', 'registry.example.com:5000/app', false],
    ['localhost:5000', 'localhost:5000/foo/bar', true],
    ['[::1]:5000', '[::1]:5000/foo', true],
    // wildcards: one label each, same number of labels
    ['*.example.com', 'registry.example.com/app', true],
    ['*.example.com', 'example.com/app', false],
    ['*.example.com', 'a.b.example.com/app', false],
    ['*.*.example.com', 'a.b.example.com/app', true],
    // '?' starts a URL query before any glob sees it (kubelet parses keys as URLs), so it never matches.
    ['registry-?.example.com', 'registry-1.example.com/app', false],
    ['registry-[0-9].example.com', 'registry-7.example.com/app', true],
    ['registry-[^0-9].example.com', 'registry-7.example.com/app', false],
    ['*.example.com:5000', 'r.example.com:5000/app', true],
    // path prefix (a plain string prefix, as kubelet)
    ['registry.example.com/team', 'registry.example.com/team/app', true],
    ['registry.example.com/team', 'registry.example.com/other/app', false],
    ['registry.example.com/team', 'registry.example.com/teammate/app', true],
    ['registry.example.com/team/app', 'registry.example.com/team', false],
  ];
  for (const [key, image, match] of CASES) {
    test(`${key} ${match ? 'matches' : 'does not match'} ${image}`, () => {
      assert.equal(registryKeyMatches(key, image), match);
    });
  }
});

describe('RegistryKeyring.lookup', () => {
  test('most specific key first, every matching key contributes', () => {
    const keyring = new RegistryKeyring([
      cred('quay.io', 'host'),
      cred('quay.io/coreos', 'org'),
      cred('https://quay.io/coreos/etcd', 'repo'),
      cred('quay.io/other', 'unrelated'),
      cred('*.quay.io', 'wild'),
    ]);
    assert.deepEqual(keyring.lookup('quay.io/coreos/etcd:v3.5').map((c) => c.username), ['repo', 'org', 'host']);
    assert.deepEqual(keyring.lookup('eu.quay.io/coreos/etcd').map((c) => c.username), ['wild']);
    assert.deepEqual(keyring.lookup('docker.io/library/nginx'), []);
  });

  test('several credentials for one registry are all returned, in order', () => {
    const keyring = new RegistryKeyring([cred('r.example.com', 'a'), cred('https://r.example.com', 'b')]);
    assert.deepEqual(keyring.lookup('r.example.com/x').map((c) => c.username), ['a', 'b']);
  });

  test('Docker Hub images use index.docker.io/v1/ entries', () => {
    const keyring = new RegistryKeyring([cred('https://index.docker.io/v1/', 'hub')]);
    for (const image of ['nginx', 'library/nginx:1.25', 'openkruise/kruise-manager', 'docker.io/library/busybox']) {
      assert.deepEqual(keyring.lookup(image).map((c) => c.username), ['hub'], image);
    }
    assert.deepEqual(keyring.lookup('quay.io/nginx'), []);
  });

  test('a docker.io key matches Docker Hub images directly', () => {
    const keyring = new RegistryKeyring([cred('docker.io', 'd'), cred('https://index.docker.io/v1/', 'hub')]);
    assert.deepEqual(keyring.lookup('nginx').map((c) => c.username), ['d']);
  });

  test('/v1/ and /v2/ paths count as no path', () => {
    const keyring = new RegistryKeyring([cred('https://r.example.com/v2/', 'v2'), cred('r.example.com/v1/team', 'team')]);
    assert.deepEqual(keyring.lookup('r.example.com/team/app').map((c) => c.username), ['team', 'v2']);
    assert.deepEqual(keyring.keys(), ['r.example.com/team', 'r.example.com']);
  });

  test('digest-pinned and port references are matched by their normalised name', () => {
    const keyring = new RegistryKeyring([cred('registry.example.com:5000/ns', 'pinned')]);
    const image = `registry.example.com:5000/ns/app:v1@sha256:${'0'.repeat(64)}`;
    assert.deepEqual(keyring.lookup(image).map((c) => c.username), ['pinned']);
  });

  test('pullAuthAttempts ends with anonymous', () => {
    const keyring = new RegistryKeyring([cred('r.example.com', 'a')]);
    assert.deepEqual(pullAuthAttempts(keyring, 'r.example.com/x').map((c) => c?.username ?? null), ['a', null]);
    assert.deepEqual(pullAuthAttempts(keyring, 'other.example.com/x'), [null]);
  });
});

describe('pull secrets', () => {
  test('a dockerconfigjson secret with auth decodes to username and password', () => {
    const secret = dockerConfigJsonSecret('regcred', {
      'https://registry.example.com': { auth: b64('alice:s3cr:et'), email: 'a@example.com' },
    });
    const entries = parsePullSecret(secret);
    assert.deepEqual(entries?.get('https://registry.example.com'), { username: 'alice', password: 's3cr:et' });
  });

  test('auth wins over username and password; tokens are kept', () => {
    const entries = parsePullSecret(dockerConfigJsonSecret('regcred', {
      'r.example.com': { username: 'x', password: 'y', auth: b64('bob:pw'), identitytoken: 'idt' },
    }));
    assert.deepEqual(entries?.get('r.example.com'), { username: 'bob', password: 'pw', identityToken: 'idt' });
  });

  test('a legacy dockercfg secret is a bare registry map', () => {
    const entries = parsePullSecret(dockercfgSecret('old', { 'https://index.docker.io/v1/': { username: 'u', password: 'p' } }));
    assert.deepEqual([...(entries?.keys() ?? [])], ['https://index.docker.io/v1/']);
  });

  test('secrets of other types are ignored', () => {
    assert.equal(parsePullSecret({ type: 'Opaque', data: { password: b64('x') } }), undefined);
  });

  const BROKEN: [string, PullSecretLike, RegExp][] = [
    ['missing data', { metadata: { name: 's' }, type: SECRET_TYPE_DOCKER_CONFIG_JSON, data: {} }, /data\[".dockerconfigjson"\] is missing/],
    ['not base64', { metadata: { name: 's' }, type: SECRET_TYPE_DOCKER_CONFIG_JSON, data: { '.dockerconfigjson': '!!!' } }, /is not base64/],
    ['not JSON', { metadata: { name: 's' }, type: SECRET_TYPE_DOCKER_CONFIG_JSON, data: { '.dockerconfigjson': b64('{"auths": hunter2') } }, /not valid JSON/],
    ['no auths', { metadata: { name: 's' }, type: SECRET_TYPE_DOCKER_CONFIG_JSON, data: { '.dockerconfigjson': b64('{}') } }, /no "auths" object/],
    ['bad auth field', dockerConfigJsonSecret('s', { 'r.example.com': { auth: b64('hunter2-no-colon') } }), /not base64 of user:password/],
  ];
  for (const [name, secret, why] of BROKEN) {
    test(`a malformed secret (${name}) is reported without its content`, () => {
      assert.throws(() => parsePullSecret(secret), (err: unknown) => {
        assert.ok(err instanceof PullSecretError);
        assert.equal(err.reason, 'InvalidPullSecret');
        assert.match(err.message, why);
        assert.doesNotMatch(err.message, /hunter2/);
        assert.doesNotMatch(err.message, new RegExp(b64('hunter2-no-colon').slice(0, 12)));
        return true;
      });
    });
  }

  test('fromSecrets keeps good secrets, reports bad ones, and labels credentials by source', () => {
    const { keyring, problems } = RegistryKeyring.fromSecrets([
      { metadata: { namespace: 'kruise-system', name: 'broken' }, type: SECRET_TYPE_DOCKER_CONFIG_JSON, data: { '.dockerconfigjson': b64('nope') } },
      dockerConfigJsonSecret('good', { 'r.example.com': { username: 'u', password: 'topsecret' } }),
      { metadata: { name: 'tls' }, type: 'kubernetes.io/tls', data: {} },
    ]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? '', /secret kruise-system\/broken/);
    const [found] = keyring.lookup('r.example.com/app');
    assert.ok(found);
    assert.equal(found.source, 'kruise-system/good');
    assert.equal(describeCredential(found), 'credentials for r.example.com from kruise-system/good');
    assert.doesNotMatch(describeCredential(found), /topsecret/);
    assert.equal(describeCredential(null), 'anonymous');
  });

  test('toAuthConfig never sets serverAddress (containerd would drop the credentials)', () => {
    const auth = toAuthConfig({ serverAddress: 'https://index.docker.io/v1/', username: 'u', password: 'p' });
    assert.deepEqual(auth, { username: 'u', password: 'p' });
  });
});
