/**
 * The sandbox's own clients reach its API server over a Unix socket with plain HTTP (`localSocketPath`,
 * `LocalSocketAccess`): the same API and authentication as the HTTPS port, a socket only its user may open.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeApiError, KubeClient, LocalSocketAccess, resources } from '../../../src/kube/index.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { startHarness, type Harness } from '../../support/api-server-harness.js';

describe('local socket transport', () => {
  let dir: string;
  let socketPath: string;
  let h: Harness;
  let token: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kts-sock-'));
    socketPath = join(dir, 'api.sock');
    h = await startHarness({ crds: false, localSocketPath: socketPath });
    token = h.token;
  });
  after(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should serve the API on the socket, mode 0600, to a KubeClient with the token: create, get, watch', async () => {
    assert.equal((await stat(socketPath)).mode & 0o777, 0o600);
    const client = new KubeClient({ kubeConfig: new LocalSocketAccess(socketPath, token), userAgent: 'test', qps: 100, burst: 100 });
    try {
      const ac = new AbortController();
      const seen: string[] = [];
      const watching = (async () => {
        for await (const ev of client.watch(resources.configMaps, { namespace: 'default', signal: ac.signal })) {
          seen.push(`${ev.type} ${ev.object.metadata.name ?? ''}`);
          if (seen.length === 1) ac.abort();
        }
      })().catch((e: unknown) => { if (!ac.signal.aborted) throw e; });
      const created = await client.create(resources.configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'over-socket', namespace: 'default' } } as KubeObject);
      assert.ok(created.metadata.uid);
      assert.equal((await client.get(resources.configMaps, 'default', 'over-socket')).metadata.uid, created.metadata.uid);
      await watching;
      assert.deepEqual(seen, ['ADDED over-socket']);
    } finally {
      client.close();
    }
  });

  it('should answer 401 on the socket without the token, as on the HTTPS port', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ socketPath, path: '/api/v1/namespaces', method: 'GET' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 401);
  });

  it('should refuse a socket with an https:// server, naming both', () => {
    const access = { getCurrentCluster: () => ({ server: 'https://127.0.0.1:6443', socketPath }), applyToHTTPSOptions: () => Promise.resolve() };
    assert.throws(() => new KubeClient({ kubeConfig: access, userAgent: 'test', qps: 1, burst: 1 }),
      (e: unknown) => KubeApiError.is(e) && /Unix socket must have an http:\/\/ server, got https:\/\/127\.0\.0\.1:6443/.test(e.message));
  });
});
