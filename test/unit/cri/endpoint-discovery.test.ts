/**
 * Endpoint discovery over fake host trees in a temp dir: sockets that are missing, regular files, stale (nothing
 * listening), silent (accept and never answer), served without runtime.v1, answering the wrong API version, and
 * answering v1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  CriDiscoveryError, addCriServices, discoverCriEndpoint, loadCriProto, type CriProto,
} from '../../../src/cri/index.js';

const PROBE_TIMEOUT_MS = 300;
const proto: CriProto = loadCriProto();
const cleanups: (() => Promise<void>)[] = [];

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function makeRoot(): Promise<string> {
  // Short: unix socket paths must fit in 108 bytes.
  const root = await mkdtemp(join(tmpdir(), 'cri-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  return root;
}

async function at(root: string, hostPath: string): Promise<string> {
  const path = join(root, hostPath);
  await mkdir(dirname(path), { recursive: true });
  return path;
}

/** A gRPC server on `path` whose Version answers `apiVersion`; with `apiVersion` undefined it serves nothing. */
async function grpcServer(path: string, apiVersion: string | undefined): Promise<void> {
  const server = new grpc.Server();
  if (apiVersion !== undefined) {
    addCriServices(server, proto, {
      runtime: {
        Version: (_call, callback) => {
          callback(null, { version: '0.1.0', runtimeName: 'fake', runtimeVersion: '1.0', runtimeApiVersion: apiVersion });
        },
      },
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
  });
  cleanups.push(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
}

/** A socket that accepts connections and never writes a byte. */
async function silentServer(path: string): Promise<void> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => { sockets.add(s); s.on('error', () => {}); });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
}

/** A socket file with nothing listening: listen, move the file away from the server, close the server. */
async function staleSocket(path: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(tmp, resolve));
  await rename(tmp, path);
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('discoverCriEndpoint', () => {
  let brokenRoot = '';

  before(async () => {
    brokenRoot = await makeRoot();
    const r = brokenRoot;
    await writeFile(await at(r, '/run/containerd/containerd.sock'), 'not a socket');
    // /var/run/containerd is absent.
    await grpcServer(await at(r, '/run/k3s/containerd/containerd.sock'), undefined);
    // An absolute symlink must resolve inside the host root, not in this process's /run.
    await grpcServer(await at(r, '/run/crio/crio.sock'), 'v1alpha2');
    await symlink('/run/crio', await at(r, '/var/run/crio'));
    await staleSocket(await at(r, '/var/run/cri-dockerd.sock'));
    await silentServer(await at(r, '/run/cri-dockerd.sock'));
  });

  test('when nothing answers, one error lists every path tried and why it failed', async () => {
    const err = await discoverCriEndpoint({ hostRoot: brokenRoot, probeTimeoutMs: PROBE_TIMEOUT_MS, proto }).then(
      () => assert.fail('discovery should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof CriDiscoveryError);
    assert.equal(err.reason, 'CRIRuntimeNotFound');
    assert.equal(err.retryable, true);
    const r = brokenRoot;
    const problems = Object.fromEntries(err.probes.map((p) => [p.path, p.problem]));
    assert.deepEqual(Object.keys(problems), [
      `${r}/run/containerd/containerd.sock`,
      `${r}/var/run/containerd/containerd.sock`,
      `${r}/run/k3s/containerd/containerd.sock`,
      `${r}/var/run/crio/crio.sock`,
      `${r}/run/crio/crio.sock`,
      `${r}/var/run/cri-dockerd.sock`,
      `${r}/run/cri-dockerd.sock`,
    ]);
    assert.match(problems[`${r}/run/containerd/containerd.sock`] ?? '', /^not a socket \(a regular file\)$/);
    assert.match(problems[`${r}/var/run/containerd/containerd.sock`] ?? '', /^no such file/);
    assert.match(problems[`${r}/run/k3s/containerd/containerd.sock`] ?? '', /does not serve runtime\.v1\.RuntimeService \(UNIMPLEMENTED/);
    assert.match(problems[`${r}/run/crio/crio.sock`] ?? '', /reports runtime API version "v1alpha2", want "v1"/);
    assert.equal(
      problems[`${r}/var/run/crio/crio.sock`],
      `${problems[`${r}/run/crio/crio.sock`]} (via ${r}/run/crio/crio.sock)`,
    );
    assert.equal(problems[`${r}/var/run/cri-dockerd.sock`], 'nothing listening (connection refused)');
    assert.equal(problems[`${r}/run/cri-dockerd.sock`], `no answer to Version within ${PROBE_TIMEOUT_MS} ms`);
    for (const [path, problem] of Object.entries(problems)) {
      assert.ok(err.message.includes(`${path}: ${problem}`), `message lists ${path}`);
    }
    assert.match(err.message, /--cri-endpoint/);
  });

  test('the first candidate answering runtime v1 is chosen, and earlier failures are kept', async () => {
    const r = await makeRoot();
    await grpcServer(await at(r, '/run/crio/crio.sock'), 'v1alpha2');
    await grpcServer(await at(r, '/run/cri-dockerd.sock'), 'v1');
    const found = await discoverCriEndpoint({ hostRoot: r, probeTimeoutMs: PROBE_TIMEOUT_MS, proto });
    assert.equal(found.runtime, 'cri-dockerd');
    assert.equal(found.endpoint.socketPath, `${r}/run/cri-dockerd.sock`);
    assert.equal(found.endpoint.address, `unix://${r}/run/cri-dockerd.sock`);
    assert.equal(found.version.runtimeApiVersion, 'v1');
    assert.equal(found.version.runtimeName, 'fake');
    assert.equal(found.probes.length, 7);
    assert.match(found.probes[4]?.problem ?? '', /v1alpha2/);
    assert.equal(found.probes[6]?.problem, undefined);
  });

  test('a host /var/run that links to /run is resolved inside the host root', async () => {
    const r = await makeRoot();
    await grpcServer(await at(r, '/run/containerd/containerd.sock'), 'v1');
    await symlink('/run', await at(r, '/var/run'));
    const found = await discoverCriEndpoint({
      hostRoot: r, probeTimeoutMs: PROBE_TIMEOUT_MS, proto,
      candidates: [{ path: '/var/run/containerd/containerd.sock', runtime: 'containerd' }],
    });
    assert.equal(found.endpoint.socketPath, `${r}/run/containerd/containerd.sock`);
  });

  test('an explicit endpoint wins and is the only one probed', async () => {
    const r = await makeRoot();
    await grpcServer(await at(r, '/run/containerd/containerd.sock'), 'v1');
    const explicit = await at(r, '/custom/cri.sock');
    await grpcServer(explicit, 'v1');
    const found = await discoverCriEndpoint({ endpoint: `unix://${explicit}`, hostRoot: r, probeTimeoutMs: PROBE_TIMEOUT_MS, proto });
    assert.equal(found.runtime, 'explicit');
    assert.equal(found.endpoint.socketPath, explicit);
    assert.equal(found.probes.length, 1);
  });

  test('an explicit endpoint that does not answer fails without falling back', async () => {
    const r = await makeRoot();
    await grpcServer(await at(r, '/run/containerd/containerd.sock'), 'v1');
    await assert.rejects(
      discoverCriEndpoint({ endpoint: `unix://${r}/missing.sock`, hostRoot: r, probeTimeoutMs: PROBE_TIMEOUT_MS, proto }),
      (err: unknown) => {
        assert.ok(err instanceof CriDiscoveryError);
        assert.equal(err.probes.length, 1);
        assert.match(err.message, new RegExp(`${r}/missing.sock: no such file`));
        return true;
      },
    );
  });

  test('an endpoint that is not a unix socket URL is invalid', async () => {
    await assert.rejects(discoverCriEndpoint({ endpoint: 'tcp://127.0.0.1:1234', proto }), /only unix sockets/);
    await assert.rejects(discoverCriEndpoint({ endpoint: 'unix://relative.sock', proto }), /must be absolute/);
  });
});
