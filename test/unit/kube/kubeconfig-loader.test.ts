import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';

import { KruiseError } from '../../../src/api/errors.js';
import { loadKubeConfig } from '../../../src/kube/client-config.js';
import { inClusterAccess, loadClusterAccess, type ClusterAccess } from '../../../src/kube/kubeconfig-loader.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function optionsOf(access: ClusterAccess): Promise<RequestOptions & { headers: Record<string, string> }> {
  const opts: RequestOptions = {};
  await access.applyToHTTPSOptions(opts);
  return opts as RequestOptions & { headers: Record<string, string> };
}

function kubeconfig(o: { current?: string; clusters?: object[]; users?: object[]; contexts?: object[] }): string {
  return stringify({
    apiVersion: 'v1', kind: 'Config',
    ...(o.current !== undefined ? { 'current-context': o.current } : {}),
    clusters: o.clusters ?? [], users: o.users ?? [], contexts: o.contexts ?? [],
  });
}

describe('kubeconfig loader', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'kts-kubeconfig-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('should read a token user, the namespace and a CA file relative to the kubeconfig', async () => {
    await mkdir(join(dir, 'rel', 'pki'), { recursive: true });
    await writeFile(join(dir, 'rel', 'pki', 'ca.crt'), 'CA-PEM');
    const path = join(dir, 'rel', 'config');
    await writeFile(path, kubeconfig({
      current: 'dev',
      clusters: [{ name: 'c1', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority': 'pki/ca.crt', 'tls-server-name': 'api.internal' } }],
      users: [{ name: 'u1', user: { token: 'tok-1' } }],
      contexts: [{ name: 'dev', context: { cluster: 'c1', user: 'u1', namespace: 'shop' } }],
    }));
    const access = await loadClusterAccess({ kubeconfigPath: path });
    assert.deepEqual(access.getCurrentCluster(), { server: 'https://10.0.0.1:6443' });
    assert.equal(access.currentNamespace?.(), 'shop');
    const opts = await optionsOf(access);
    assert.equal(String(opts.ca), 'CA-PEM');
    assert.equal(opts.servername, 'api.internal');
    assert.equal(opts.rejectUnauthorized, undefined);
    assert.equal(opts.headers['Authorization'], 'Bearer tok-1');
  });

  it('should read client certificate data, CA data and insecure-skip-tls-verify', async () => {
    const path = join(dir, 'certs');
    await writeFile(path, kubeconfig({
      current: 'admin',
      clusters: [{ name: 'c', cluster: { server: 'https://k:443', 'certificate-authority-data': b64('CA'), 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') } }],
      contexts: [{ name: 'admin', context: { cluster: 'c', user: 'u' } }],
    }));
    const access = await loadClusterAccess({ kubeconfigPath: path });
    const opts = await optionsOf(access);
    assert.equal(String(opts.ca), 'CA');
    assert.equal(String(opts.cert), 'CERT');
    assert.equal(String(opts.key), 'KEY');
    assert.equal(opts.rejectUnauthorized, false);
    assert.equal(opts.headers['Authorization'], undefined);
    assert.equal(access.currentNamespace?.(), undefined);
  });

  it('should use basic auth for a username and password, and re-read a tokenFile on every refresh', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'first\n');
    const path = join(dir, 'users');
    await writeFile(path, kubeconfig({
      current: 'basic',
      clusters: [{ name: 'c', cluster: { server: 'https://k' } }],
      users: [{ name: 'b', user: { username: 'alice', password: 's3cret' } }, { name: 't', user: { tokenFile: 'token' } }],
      contexts: [{ name: 'basic', context: { cluster: 'c', user: 'b' } }, { name: 'file', context: { cluster: 'c', user: 't' } }],
    }));
    const basic = await optionsOf(await loadClusterAccess({ kubeconfigPath: path }));
    assert.equal(basic.headers['Authorization'], `Basic ${b64('alice:s3cret')}`);
    const fromFile = await loadClusterAccess({ kubeconfigPath: path, context: 'file' });
    assert.equal((await optionsOf(fromFile)).headers['Authorization'], 'Bearer first');
    await writeFile(tokenFile, 'second\n');
    assert.equal((await optionsOf(fromFile)).headers['Authorization'], 'Bearer second');
  });

  it('should pick --context over current-context', async () => {
    const path = join(dir, 'contexts');
    await writeFile(path, kubeconfig({
      current: 'a',
      clusters: [{ name: 'ca', cluster: { server: 'https://a' } }, { name: 'cb', cluster: { server: 'https://b' } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'a', context: { cluster: 'ca', user: 'u' } }, { name: 'b', context: { cluster: 'cb', user: 'u' } }],
    }));
    assert.equal((await loadClusterAccess({ kubeconfigPath: path })).getCurrentCluster()?.server, 'https://a');
    assert.equal((await loadClusterAccess({ kubeconfigPath: path, context: 'b' })).getCurrentCluster()?.server, 'https://b');
    await assert.rejects(loadClusterAccess({ kubeconfigPath: path, context: 'nope' }),
      (e: unknown) => KruiseError.is(e) && e.reason === 'NotFound' && e.message.includes('"nope"') && e.message.includes(path));
  });

  it('should fail naming the file when there is no current context', async () => {
    const path = join(dir, 'no-current');
    await writeFile(path, kubeconfig({ clusters: [{ name: 'c', cluster: { server: 'https://k' } }] }));
    await assert.rejects(loadClusterAccess({ kubeconfigPath: path }),
      (e: unknown) => KruiseError.is(e) && e.reason === 'BadRequest' && e.message.includes(path) && e.message.includes('current-context'));
    await assert.rejects(loadKubeConfig({ kubeconfigPath: join(dir, 'missing') }),
      (e: unknown) => KruiseError.is(e) && e.message.includes(join(dir, 'missing')));
  });

  it('should merge KUBECONFIG files with the first file winning per name', async () => {
    const first = join(dir, 'first');
    const second = join(dir, 'second');
    await writeFile(first, kubeconfig({ current: 'ctx', clusters: [{ name: 'c', cluster: { server: 'https://first' } }] }));
    await writeFile(second, kubeconfig({
      current: 'other',
      clusters: [{ name: 'c', cluster: { server: 'https://second' } }],
      users: [{ name: 'u', user: { token: 'from-second' } }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    }));
    const access = await loadClusterAccess({ kubeconfigEnv: [first, join(dir, 'absent'), second].join(delimiter) });
    assert.equal(access.getCurrentCluster()?.server, 'https://first');
    assert.equal((await optionsOf(access)).headers['Authorization'], 'Bearer from-second');
  });

  it('should read ~/.kube/config when neither --kubeconfig nor KUBECONFIG is given', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, '.kube'), { recursive: true });
    await writeFile(join(home, '.kube', 'config'), kubeconfig({
      current: 'h', clusters: [{ name: 'c', cluster: { server: 'https://home' } }],
      users: [{ name: 'u', user: { token: 't' } }], contexts: [{ name: 'h', context: { cluster: 'c', user: 'u' } }],
    }));
    assert.equal((await loadKubeConfig({ homeDir: home })).getCurrentCluster()?.server, 'https://home');
  });

  it('should load in-cluster access from the service account directory and re-read the rotating token', async () => {
    const sa = join(dir, 'serviceaccount');
    await mkdir(sa, { recursive: true });
    await writeFile(join(sa, 'token'), 'sa-token-1');
    await writeFile(join(sa, 'ca.crt'), 'SA-CA');
    await writeFile(join(sa, 'namespace'), 'kruise-system');
    const access = inClusterAccess({ host: 'fd00::1', port: '8443', serviceAccountDir: sa });
    assert.equal(access.getCurrentCluster()?.server, 'https://[fd00::1]:8443');
    assert.equal(access.currentNamespace(), 'kruise-system');
    const opts = await optionsOf(access);
    assert.equal(String(opts.ca), 'SA-CA');
    assert.equal(opts.headers['Authorization'], 'Bearer sa-token-1');
    await writeFile(join(sa, 'token'), 'sa-token-2');
    assert.equal((await optionsOf(access)).headers['Authorization'], 'Bearer sa-token-2');
    assert.throws(() => inClusterAccess({ host: '10.0.0.1', serviceAccountDir: join(dir, 'nowhere') }),
      (e: unknown) => KruiseError.is(e) && e.message.includes('token'));
    // In-cluster wins over KUBECONFIG, as before, but not over an explicit --kubeconfig.
    const viaLoad = await loadClusterAccess({ kubeconfigEnv: join(dir, 'first'), inCluster: { host: '10.0.0.1', serviceAccountDir: sa } });
    assert.equal(viaLoad.getCurrentCluster()?.server, 'https://10.0.0.1:443');
  });

  it('should fall back to client-node for an exec plugin user', async () => {
    const path = join(dir, 'exec');
    const script = 'process.stdout.write(JSON.stringify({apiVersion:"client.authentication.k8s.io/v1beta1",kind:"ExecCredential",status:{token:"from-exec"}}))';
    await writeFile(path, kubeconfig({
      current: 'cloud',
      clusters: [{ name: 'c', cluster: { server: 'https://cloud:443', 'certificate-authority-data': b64('CA') } }],
      users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: process.execPath, args: ['-e', script] } } }],
      contexts: [{ name: 'cloud', context: { cluster: 'c', user: 'u', namespace: 'team' } }],
    }));
    const access = await loadClusterAccess({ kubeconfigPath: path });
    assert.equal(access.getCurrentCluster()?.server, 'https://cloud:443');
    assert.equal(access.currentNamespace?.(), 'team');
    const opts = await optionsOf(access);
    assert.equal(String(opts.ca), 'CA');
    assert.equal(opts.headers['Authorization'], 'Bearer from-exec');
  });
});
