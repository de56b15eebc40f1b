/**
 * The built-in runtime over a real unix socket with the typed CriClient, and the in-process client next to it: one
 * scenario runs through both and must observe the same responses and the same errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { CriClient, CriError, loadCriProto, type CriProto } from '../../../src/cri/index.js';
import {
  BuiltinRuntime, DEFAULT_PRIVATE_LOGIN, DEFAULT_PRIVATE_REGISTRY, InProcessCriClient, serveBuiltinRuntime,
  type BuiltinRuntimeServer, type CriApi,
} from '../../../src/sandbox/cri/index.js';

const proto: CriProto = loadCriProto();

function newRuntime(): BuiltinRuntime {
  return new BuiltinRuntime({
    pullLatencyMs: 5,
    pullBandwidthBytesPerSecond: 1e9,
    registry: { images: { slow: { sizeBytes: 1e9 } } },
  });
}

let dir = '';
let runtime: BuiltinRuntime;
let server: BuiltinRuntimeServer;
let grpcClient: CriClient;

before(async () => {
  // A short base directory: unix socket paths must stay under 108 bytes.
  dir = await mkdtemp('/tmp/kcri-');
  runtime = newRuntime();
  server = await serveBuiltinRuntime({ socketPath: join(dir, 'cri.sock'), runtime, proto });
  grpcClient = new CriClient({ endpoint: server.address, proto, retry: { maxAttempts: 1 } });
});

after(async () => {
  await grpcClient.destroy();
  await server.destroy();
  await rm(dir, { recursive: true, force: true });
});

async function rejectsWithCode(promise: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(CriError.is(err), `not a CriError: ${String(err)}`);
    assert.equal(err.grpcCode, code, err.message);
    assert.match(err.details, message);
    return true;
  });
}

/**
 * A pod's life through one client: what it returns, with ids and times replaced by placeholders so two runtimes'
 * answers compare equal.
 */
async function podScenario(client: CriApi, name: string): Promise<unknown> {
  const seen: unknown[] = [];
  const pulled = await client.pullImage({ image: { image: 'busybox:1.35' } });
  const image = (await client.imageStatus({ image: { image: 'busybox:1.35' } })).image;
  seen.push(pulled, image);
  const { podSandboxId } = await client.runPodSandbox({
    config: {
      metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 },
      labels: { pod: name },
      linux: { securityContext: { namespaceOptions: { network: 'NODE' } } },
    },
  });
  const { containerId } = await client.createContainer({
    podSandboxId,
    config: { metadata: { name: 'main', attempt: 1 }, image: { image: pulled.imageRef }, labels: { c: 'main' } },
  });
  await client.startContainer({ containerId });
  seen.push(await client.containerStatus({ containerId }));
  seen.push(await client.execSync({ containerId, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], timeout: '5' }));
  seen.push(await client.listContainers({ filter: { podSandboxId } }));
  await client.stopContainer({ containerId, timeout: '10' });
  seen.push(await client.containerStatus({ containerId }));
  for (const call of [
    () => client.containerStatus({ containerId: 'nope' }),
    () => client.execSync({ containerId, cmd: ['true'] }),
    () => client.pullImage({ image: { image: 'nginx:missing' } }),
    () => client.pullImage({ image: { image: `${DEFAULT_PRIVATE_REGISTRY}/app:v1` }, auth: { username: 'x', password: 'hunter2' } }),
  ]) {
    try {
      await call();
      seen.push('no error');
    } catch (err) {
      seen.push(CriError.is(err) ? [err.grpcCodeName, err.reason, err.details] : String(err));
    }
  }
  await client.removePodSandbox({ podSandboxId });
  seen.push(await client.listPodSandbox({ filter: { labelSelector: { pod: name } } }));
  return JSON.parse(JSON.stringify(seen)
    .replaceAll(podSandboxId, '<sandbox>')
    .replaceAll(containerId, '<container>')
    .replace(/"\d{19}"/g, '"<time>"'));
}

describe('built-in runtime over gRPC', () => {
  test('should say it speaks CRI v1', async () => {
    const v = await grpcClient.version();
    assert.equal(v.runtimeApiVersion, 'v1');
    assert.equal(v.runtimeName, 'kruise-ts-builtin');
    const s = await grpcClient.status();
    assert.deepEqual(s.status?.conditions.map((c) => c?.status), [true, true]);
  });

  test('should pull, run a pod and a container, exec in it and stop it', async () => {
    const result = await podScenario(grpcClient, 'grpc-pod') as unknown[];
    const [pulled, image, running, exec, , stopped] = result as [
      { imageRef: string }, { id: string; repoTags: string[] }, { status: { state: string } },
      { stdout: { data: number[] }; stderr: { data: number[] }; exitCode: number }, unknown,
      { status: { state: string; exitCode: number; reason: string } },
    ];
    assert.equal(image.id, pulled.imageRef);
    assert.deepEqual(image.repoTags, ['docker.io/library/busybox:1.35']);
    assert.equal(running.status.state, 'CONTAINER_RUNNING');
    assert.equal(exec.exitCode, 3);
    assert.equal(Buffer.from(exec.stdout.data).toString(), 'out\n');
    assert.equal(Buffer.from(exec.stderr.data).toString(), 'err\n');
    assert.deepEqual([stopped.status.state, stopped.status.exitCode, stopped.status.reason], ['CONTAINER_EXITED', 143, 'Error']);
  });

  test('should keep gRPC codes and messages of errors', async () => {
    await rejectsWithCode(grpcClient.pullImage({ image: { image: 'registry.example.invalid/app:v1' } }),
      GrpcStatus.NOT_FOUND, /no such host$/);
    await rejectsWithCode(grpcClient.containerStatus({ containerId: 'nope' }),
      GrpcStatus.NOT_FOUND, /^an error occurred when try to find container "nope": not found$/);
    await assert.rejects(grpcClient.pullImage({ image: { image: `${DEFAULT_PRIVATE_REGISTRY}/app:v1` } }),
      (err: unknown) => CriError.is(err) && err.grpcCode === GrpcStatus.UNKNOWN && err.reason === 'Unauthorized');
    await grpcClient.pullImage({ image: { image: `${DEFAULT_PRIVATE_REGISTRY}/app:v1` }, auth: { ...DEFAULT_PRIVATE_LOGIN } });
  });

  test('should answer an ExecSync past its timeout with DEADLINE_EXCEEDED', async () => {
    const { podSandboxId } = await grpcClient.runPodSandbox({
      config: { metadata: { name: 'exec-timeout', namespace: 'default', uid: 'u1', attempt: 0 } },
    });
    const { imageRef } = await grpcClient.pullImage({ image: { image: 'busybox:1.35' } });
    const { containerId } = await grpcClient.createContainer({
      podSandboxId, config: { metadata: { name: 'main' }, image: { image: imageRef } },
    });
    await grpcClient.startContainer({ containerId });
    await rejectsWithCode(grpcClient.execSync({ containerId, cmd: ['sleep', '3'], timeout: '1' }),
      GrpcStatus.DEADLINE_EXCEEDED, /^failed to exec in container: timeout 1s exceeded: context deadline exceeded$/);
    await grpcClient.removePodSandbox({ podSandboxId });
  });

  test('should abandon the download when the client deadline passes', async () => {
    await rejectsWithCode(grpcClient.pullImage({ image: { image: 'slow' } }, { timeoutMs: 100 }),
      GrpcStatus.DEADLINE_EXCEEDED, /.*/);
    for (let i = 0; i < 50 && runtime.stats().downloads > 0; i++) await sleep(10);
    assert.equal(runtime.stats().downloads, 0);
  });
});

describe('in-process client', () => {
  test('should observe exactly what a gRPC client observes', async () => {
    const local = newRuntime();
    const inProcess = new InProcessCriClient({ runtime: local, proto });
    const viaSocket = await podScenario(grpcClient, 'parity');
    const viaMemory = await podScenario(inProcess, 'parity');
    assert.deepEqual(viaMemory, viaSocket);
    await inProcess.close();
    assert.equal(inProcess.state, 'closed');
  });

  test('should fail with DeadlineExceeded at its deadline, Cancelled on abort and FailedPrecondition once closed', async () => {
    const local = newRuntime();
    const client = new InProcessCriClient({ runtime: local, proto });
    await assert.rejects(client.pullImage({ image: { image: 'slow' } }, { timeoutMs: 50 }),
      (err: unknown) => CriError.is(err) && err.reason === 'DeadlineExceeded');
    const controller = new AbortController();
    const pending = client.pullImage({ image: { image: 'slow' } }, { signal: controller.signal });
    controller.abort(new Error('node shutting down'));
    await assert.rejects(pending, (err: unknown) => CriError.is(err) && err.reason === 'Cancelled'
      && /node shutting down/.test(err.details));
    await sleep(10);
    assert.equal(local.stats().downloads, 0);
    await client.close();
    await assert.rejects(client.version(), (err: unknown) => CriError.is(err) && err.reason === 'FailedPrecondition');
  });

  test('should scrub the pull credentials from errors, as CriClient does', async () => {
    const client = new InProcessCriClient({ runtime: newRuntime(), proto });
    // A registry that echoed the password would leak it; ours does not, so check the redactor is wired with a
    // reference that contains the secret.
    await assert.rejects(
      client.pullImage({ image: { image: 'registry.example.invalid/hunter2-repo:v1' }, auth: { username: 'u', password: 'hunter2' } }),
      (err: unknown) => CriError.is(err) && err.reason === 'NotFound' && !err.details.includes('hunter2')
        && err.details.includes('[REDACTED]'));
    await client.destroy();
  });
});
