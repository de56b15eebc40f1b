/**
 * `kruise-ts cri` as an operator uses it on a node: against the built-in runtime over its socket, and against a
 * real containerd with a local registry (skipped, naming what is missing, where containerd is not available).
 * Pull secrets are read through the API, as the agent will read them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuiltinRuntime, DEFAULT_PRIVATE_LOGIN, DEFAULT_PRIVATE_REGISTRY, serveBuiltinRuntime, type BuiltinRuntimeServer } from '../../src/sandbox/cri/index.js';
import { missingAuthPrerequisites, missingPrerequisites, startContainerdTestbed, type ContainerdTestbed } from '../support/containerd/index.js';
import { startHarness, type Harness } from '../support/api-server-harness.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

function dockerConfigSecret(name: string, registry: string, user: string, pass: string): object {
  const auth = Buffer.from(`${user}:${pass}`).toString('base64');
  const config = JSON.stringify({ auths: { [registry]: { auth } } });
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from(config).toString('base64') } };
}

describe('kruise-ts cri on the built-in runtime', () => {
  let dir: string;
  let server: BuiltinRuntimeServer;
  let h: Harness;
  let endpoint: string;
  before(async () => {
    dir = await mkdtemp('/tmp/kcli-');
    server = await serveBuiltinRuntime({ socketPath: join(dir, 'cri.sock'), runtime: new BuiltinRuntime({ pullLatencyMs: 5 }) });
    endpoint = `unix://${server.socketPath}`;
    h = await startHarness({ crds: false });
    const r = await h.request('POST', '/api/v1/namespaces/default/secrets', dockerConfigSecret('regcred', DEFAULT_PRIVATE_REGISTRY, DEFAULT_PRIVATE_LOGIN.username, DEFAULT_PRIVATE_LOGIN.password));
    assert.equal(r.status, 201, r.text);
  });
  after(async () => {
    await server.close();
    await h.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should report the runtime it found', async () => {
    const r = await cli(['cri', 'info', '--cri-endpoint', endpoint]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /runtime\s+kruise-ts-builtin/);
    assert.match(r.stdout, /CRI API\s+v1/);
  });

  it('should pull an image, then list and inspect it', async () => {
    const pulled = await cli(['cri', 'pull', 'busybox:1.36', '--cri-endpoint', endpoint]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, /Image is up to date for docker\.io\/library\/busybox:1\.36: .*anonymous/);
    const images = await cli(['cri', 'images', '--cri-endpoint', endpoint]);
    assert.match(images.stdout, /docker\.io\/library\/busybox\s+1\.36\s+/);
    const inspect = await cli(['cri', 'inspect', 'busybox:1.36', '--cri-endpoint', endpoint]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.ok((JSON.parse(inspect.stdout) as { repoTags: string[] }).repoTags.includes('docker.io/library/busybox:1.36'));
    const absent = await cli(['cri', 'inspect', 'nginx:none', '--cri-endpoint', endpoint]);
    assert.equal(absent.code, 2);
    assert.match(absent.stderr, /not present on this node/);
  });

  it('should pull from a private registry with a secret read through the API, and fail clearly without it', async () => {
    const image = `${DEFAULT_PRIVATE_REGISTRY}/team/app:1`;
    const denied = await cli(['cri', 'pull', image, '--cri-endpoint', endpoint]);
    assert.equal(denied.code, 2);
    assert.match(denied.stderr, /401|nauthorized/);
    const ok = await cli(['cri', 'pull', image, '--cri-endpoint', endpoint, '--secret', 'default/regcred', '--kubeconfig', h.kubeconfigPath, '-o', 'json']);
    assert.equal(ok.code, 0, ok.stderr);
    const out = JSON.parse(ok.stdout) as { credential: string | null; attempts: number };
    assert.ok(out.credential, 'a credential was used');
    assert.doesNotMatch(ok.stdout + ok.stderr, new RegExp(DEFAULT_PRIVATE_LOGIN.password), 'the password never appears');
  });

  it('should refuse a malformed secret reference and an unreachable endpoint with clear messages', async () => {
    const bad = await cli(['cri', 'pull', 'busybox', '--cri-endpoint', endpoint, '--secret', 'regcred', '--kubeconfig', h.kubeconfigPath]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--secret regcred: expected NAMESPACE\/NAME/);
    const none = await cli(['cri', 'info', '--cri-endpoint', `unix://${join(dir, 'nothing.sock')}`, '--timeout', '2']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /nothing\.sock/);
  });

  it('should list running containers', async () => {
    const r = await cli(['cri', 'ps', '--cri-endpoint', endpoint, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });
});

const missing = [...missingPrerequisites(), ...missingAuthPrerequisites()];

describe('kruise-ts cri on a real containerd', { skip: missing.length > 0 ? `missing: ${missing.join(', ')}` : undefined }, () => {
  let testbed: ContainerdTestbed;
  before(async () => {
    testbed = await startContainerdTestbed({ images: [{ name: 'kcli/busybox', tag: '1', cmd: ['sh'] }] });
  });
  after(async () => { await testbed.stop(); });

  it('should pull from the local registry and show the image and the runtime', async () => {
    const endpoint = testbed.containerd.endpoint;
    const info = await cli(['cri', 'info', '--cri-endpoint', endpoint]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /runtime\s+containerd/);
    const ref = testbed.ref('kcli/busybox:1');
    const pulled = await cli(['cri', 'pull', ref, '--cri-endpoint', endpoint]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, /Image is up to date for .*kcli\/busybox:1: sha256:/);
    const images = await cli(['cri', 'images', '--cri-endpoint', endpoint]);
    assert.match(images.stdout, /kcli\/busybox\s+1\s+/);
  });
});
