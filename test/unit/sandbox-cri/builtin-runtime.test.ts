/**
 * The built-in CRI runtime without a transport, on a fake clock: the pull time model, registries, the sandbox and
 * container state machines, exit codes and ExecSync, checked against what containerd 1.6 does where the notes say.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { KruiseError } from '../../../src/api/errors.js';
import type { ContainerConfig, PodSandboxConfig } from '../../../src/cri/cri-types.js';
import { FakeClock } from '../../../src/kube/workqueue/fake-clock.js';
import {
  BuiltinRegistry, BuiltinRuntime, BuiltinRuntimeError, DEFAULT_PRIVATE_LOGIN, DEFAULT_PRIVATE_REGISTRY,
  STOP_DELAY_ANNOTATION, type BuiltinRuntimeOptions,
} from '../../../src/sandbox/cri/index.js';

const EPOCH = Date.UTC(2026, 0, 1);
const MB = 1_000_000;

function newRuntime(options: BuiltinRuntimeOptions = {}): { rt: BuiltinRuntime; clock: FakeClock } {
  const clock = new FakeClock(EPOCH);
  let n = 0;
  const rt = new BuiltinRuntime({
    clock,
    pullLatencyMs: 100,
    pullBandwidthBytesPerSecond: MB,
    newId: () => `${(++n).toString(16).padStart(4, '0')}${'c'.repeat(60)}`,
    registry: { images: { 'app': { sizeBytes: MB }, 'other': { sizeBytes: MB } } },
    ...options,
  });
  return { rt, clock };
}

/** Lets promise continuations run, firing timers that fell due meanwhile. */
async function settle(clock: FakeClock): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    const next = clock.nextTimerAt();
    if (next !== undefined && next <= clock.now()) clock.advance(0);
  }
}

/**
 * Moves the clock forward by `ms`, stopping at each timer's due time so the continuations it wakes run at that time
 * (as they would on a real clock) before time moves on.
 */
async function tick(clock: FakeClock, ms: number): Promise<void> {
  const target = clock.now() + ms;
  await settle(clock);
  for (;;) {
    const next = clock.nextTimerAt();
    if (next === undefined || next > target) break;
    clock.set(next);
    await settle(clock);
  }
  clock.set(target);
  await settle(clock);
}

/** A promise whose rejection is asserted later: marked handled now so it is not reported as unhandled. */
function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

interface Tracked<T> { done: boolean; value?: T; error?: unknown }

function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { done: false };
  promise.then((value) => { t.done = true; t.value = value; }, (error: unknown) => { t.done = true; t.error = error; });
  return t;
}

function rejectsWith(code: number, message: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(BuiltinRuntimeError.is(err), `not a BuiltinRuntimeError: ${String(err)}`);
    assert.equal(err.grpcCode, code, `code of ${err.message}`);
    assert.match(err.message, message);
    return true;
  };
}

function sandboxConfig(name = 'web-0', extra: PodSandboxConfig = {}): PodSandboxConfig {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 },
    labels: { app: 'web', pod: name },
    linux: { securityContext: { namespaceOptions: { network: 'NODE' } } },
    ...extra,
  };
}

function containerConfig(name: string, command: string[] = [], extra: ContainerConfig = {}): ContainerConfig {
  return { metadata: { name, attempt: 0 }, image: { image: 'docker.io/library/app:latest' }, command, ...extra };
}

/** A pod sandbox with the `app` image pulled; returns the sandbox id. */
async function readyPod(rt: BuiltinRuntime, clock: FakeClock, name = 'web-0'): Promise<string> {
  const pull = rt.pullImage({ image: { image: 'app' } });
  await tick(clock, 1100);
  await pull;
  const { podSandboxId } = await rt.runPodSandbox({ config: sandboxConfig(name) });
  return podSandboxId ?? '';
}

async function runContainer(rt: BuiltinRuntime, sandboxId: string, name: string, command: string[] = [], extra: ContainerConfig = {}): Promise<string> {
  const { containerId } = await rt.createContainer({
    podSandboxId: sandboxId, config: containerConfig(name, command, extra), sandboxConfig: sandboxConfig(),
  });
  await rt.startContainer({ containerId: containerId ?? '' });
  return containerId ?? '';
}

async function statusOf(rt: BuiltinRuntime, id: string) {
  const res = await rt.containerStatus({ containerId: id });
  assert.ok(res.status);
  return res.status;
}

describe('version and status', () => {
  test('should report the runtime name, version and CRI v1 with both conditions ready', async () => {
    const { rt } = newRuntime();
    assert.deepEqual(await rt.version({}), {
      version: '0.1.0', runtimeName: 'kruise-ts-builtin', runtimeVersion: '0.1.0', runtimeApiVersion: 'v1',
    });
    const status = await rt.status({});
    assert.deepEqual(status.status?.conditions?.map((c) => [c.type, c.status]), [['RuntimeReady', true], ['NetworkReady', true]]);
  });
});

describe('pull time model', () => {
  test('should charge the download latency only for an absent image, once for pulls that join it', async () => {
    const { rt, clock } = newRuntime({ downloadLatencyMs: 2000 });
    const first = track(rt.pullImage({ image: { image: 'app' } }));
    await tick(clock, 50);
    const joining = track(rt.pullImage({ image: { image: 'app' } }));
    await tick(clock, 3049); // latency 100 + set-up 2000 + 1 MB at 1 MB/s = 3100 for the first
    assert.equal(first.done, false);
    await tick(clock, 1);
    assert.equal(first.done, true);
    assert.equal(joining.done, true, 'the second pull joined the download in progress');
    const again = track(rt.pullImage({ image: { image: 'app' } }));
    await tick(clock, 100);
    assert.equal(again.done, true, 'a present image costs the manifest latency only');
    assert.equal(again.value?.imageRef, first.value?.imageRef);
  });

  test('should refuse a negative download latency, naming the field', () => {
    assert.throws(() => new BuiltinRuntime({ downloadLatencyMs: -5 }), (err) => KruiseError.is(err) && err.fieldPath === 'downloadLatencyMs');
  });

  test('should take the latency plus size over bandwidth', async () => {
    const { rt, clock } = newRuntime();
    const pull = track(rt.pullImage({ image: { image: 'app' } }));
    await tick(clock, 1099);
    assert.equal(pull.done, false);
    await tick(clock, 1);
    assert.equal(pull.done, true);
    assert.match(pull.value?.imageRef ?? '', /^sha256:[a-f0-9]{64}$/);
    assert.equal(clock.pendingTimers(), 0);
  });

  test('should share the bandwidth equally between concurrent pulls', async () => {
    const { rt, clock } = newRuntime();
    const a = track(rt.pullImage({ image: { image: 'app' } }));
    const b = track(rt.pullImage({ image: { image: 'other' } }));
    await tick(clock, 2099);
    assert.deepEqual([a.done, b.done], [false, false]);
    await tick(clock, 1);
    assert.deepEqual([a.done, b.done], [true, true]);
  });

  test('should speed up and slow down transfers as pulls start and finish (staggered scenario)', async () => {
    const { rt, clock } = newRuntime();
    const a = track(rt.pullImage({ image: { image: 'app' } }));
    await tick(clock, 500);
    const b = track(rt.pullImage({ image: { image: 'other' } }));
    // A alone 100..600 (500 kB done), shared 600..1600 (500 kB more), then B alone 1600..2100.
    await tick(clock, 1099);
    assert.equal(a.done, false);
    await tick(clock, 1);
    assert.deepEqual([a.done, b.done], [true, false]);
    await tick(clock, 499);
    assert.equal(b.done, false);
    await tick(clock, 1);
    assert.equal(b.done, true);
  });

  test('should let concurrent pulls of one image share a single transfer', async () => {
    const { rt, clock } = newRuntime();
    const a = track(rt.pullImage({ image: { image: 'app' } }));
    const b = track(rt.pullImage({ image: { image: 'docker.io/library/app:latest' } }));
    await tick(clock, 1100);
    assert.deepEqual([a.done, b.done], [true, true]);
    assert.equal(a.value?.imageRef, b.value?.imageRef);
    assert.equal(rt.stats().images, 1);
  });

  test('should only pay the latency when the image is already present', async () => {
    const { rt, clock } = newRuntime();
    const first = rt.pullImage({ image: { image: 'app' } });
    await tick(clock, 1100);
    await first;
    const again = track(rt.pullImage({ image: { image: 'app' } }));
    await tick(clock, 100);
    assert.equal(again.done, true);
  });

  test('should abort a pull when its caller cancels, and give the bandwidth back', async () => {
    const { rt, clock } = newRuntime();
    const a = track(rt.pullImage({ image: { image: 'app' } }));
    const controller = new AbortController();
    const b = track(rt.pullImage({ image: { image: 'other' } }, { signal: controller.signal }));
    await tick(clock, 600); // both 250 kB in
    controller.abort();
    await settle(clock);
    assert.equal(b.done, true);
    assert.ok(BuiltinRuntimeError.is(b.error) && b.error.grpcCode === GrpcStatus.CANCELLED);
    // A has 750 kB left at full speed: done at 1350.
    await tick(clock, 749);
    assert.equal(a.done, false);
    await tick(clock, 1);
    assert.equal(a.done, true);
    assert.equal((await rt.imageStatus({ image: { image: 'other' } })).image, null);
    assert.equal(rt.stats().downloads, 0);
    assert.equal(clock.pendingTimers(), 0);
  });

  test('should abort a pull cancelled during the registry latency without leaving a timer', async () => {
    const { rt, clock } = newRuntime();
    const controller = new AbortController();
    const pull = track(rt.pullImage({ image: { image: 'app' } }, { signal: controller.signal }));
    await tick(clock, 50);
    controller.abort();
    await settle(clock);
    assert.ok(BuiltinRuntimeError.is(pull.error) && pull.error.grpcCode === GrpcStatus.CANCELLED);
    assert.equal(clock.pendingTimers(), 0);
  });

  test('should keep a shared transfer going while one of its waiters remains', async () => {
    const { rt, clock } = newRuntime();
    const controller = new AbortController();
    const a = track(rt.pullImage({ image: { image: 'app' } }, { signal: controller.signal }));
    const b = track(rt.pullImage({ image: { image: 'app' } }));
    await tick(clock, 500);
    controller.abort();
    await tick(clock, 600);
    assert.ok(BuiltinRuntimeError.is(a.error));
    assert.equal(b.done, true);
    assert.equal(b.error, undefined);
  });
});

describe('registries', () => {
  test('should answer NOT_FOUND for .invalid hosts, with containerd-like wording', async () => {
    const { rt, clock } = newRuntime();
    const pull = later(rt.pullImage({ image: { image: 'registry.example.invalid/team/app:v1' } }));
    await tick(clock, 100);
    await assert.rejects(pull, rejectsWith(GrpcStatus.NOT_FOUND,
      /^failed to pull and unpack image "registry\.example\.invalid\/team\/app:v1": failed to resolve reference .*no such host$/));
  });

  test('should answer NOT_FOUND for a missing tag and for references configured missing', async () => {
    const { rt, clock } = newRuntime({ registry: { images: { 'gone/app:v2': { missing: true } } } });
    const missingTag = later(rt.pullImage({ image: { image: 'nginx:missing' } }));
    const configured = later(rt.pullImage({ image: { image: 'gone/app:v2' } }));
    await tick(clock, 100);
    await assert.rejects(missingTag, rejectsWith(GrpcStatus.NOT_FOUND,
      /^failed to pull and unpack image "docker\.io\/library\/nginx:missing": failed to resolve reference "docker\.io\/library\/nginx:missing": docker\.io\/library\/nginx:missing: not found$/));
    await assert.rejects(configured, rejectsWith(GrpcStatus.NOT_FOUND, /gone\/app:v2: not found$/));
  });

  test('should answer UNKNOWN 401 Unauthorized without or with wrong credentials for the private registry', async () => {
    const { rt, clock } = newRuntime();
    const image = { image: `${DEFAULT_PRIVATE_REGISTRY}/team/app:v1` };
    const anonymous = later(rt.pullImage({ image }));
    const wrong = later(rt.pullImage({ image, auth: { username: DEFAULT_PRIVATE_LOGIN.username, password: 'nope' } }));
    const elsewhere = later(rt.pullImage({
      image, auth: { ...DEFAULT_PRIVATE_LOGIN, serverAddress: 'https://other.example.com' },
    }));
    await tick(clock, 100);
    for (const p of [anonymous, wrong, elsewhere]) {
      await assert.rejects(p, rejectsWith(GrpcStatus.UNKNOWN,
        /pulling from host registry\.auth\.kruise-ts\.test failed with status code \[manifests v1\]: 401 Unauthorized$/));
    }
  });

  test('should pull from the private registry with username/password or a base64 auth', async () => {
    const { rt, clock } = newRuntime({ pullBandwidthBytesPerSecond: Infinity });
    const image = { image: `${DEFAULT_PRIVATE_REGISTRY}/team/app:v1` };
    const plain = rt.pullImage({ image, auth: { ...DEFAULT_PRIVATE_LOGIN } });
    const encoded = rt.pullImage({
      image,
      auth: { auth: Buffer.from(`${DEFAULT_PRIVATE_LOGIN.username}:${DEFAULT_PRIVATE_LOGIN.password}`).toString('base64'),
        serverAddress: `https://${DEFAULT_PRIVATE_REGISTRY}` },
    });
    await tick(clock, 100);
    assert.equal((await plain).imageRef, (await encoded).imageRef);
  });

  test('should fail with UNKNOWN on a malformed reference, at once', async () => {
    const { rt } = newRuntime();
    await assert.rejects(rt.pullImage({ image: { image: 'Bad:Name:x' } }),
      rejectsWith(GrpcStatus.UNKNOWN, /^failed to parse image reference "Bad:Name:x": invalid reference format$/));
  });
});

describe('image store', () => {
  test('should name images like containerd: normalised repo tag and repo digest, config digest as id', async () => {
    const { rt, clock } = newRuntime();
    const pull = rt.pullImage({ image: { image: 'app' } });
    await tick(clock, 1100);
    const { imageRef } = await pull;
    const { image } = await rt.imageStatus({ image: { image: 'app:latest' } });
    assert.ok(image);
    assert.equal(image.id, imageRef);
    assert.deepEqual(image.repoTags, ['docker.io/library/app:latest']);
    assert.equal(image.repoDigests?.length, 1);
    assert.match(image.repoDigests?.[0] ?? '', /^docker\.io\/library\/app@sha256:[a-f0-9]{64}$/);
    assert.notEqual(image.repoDigests?.[0]?.split('@')[1], image.id);
    assert.equal(image.size, String(MB));
    for (const ref of [imageRef ?? '', image.repoDigests?.[0] ?? '', (imageRef ?? '').slice(7, 19), 'docker.io/library/app']) {
      assert.equal((await rt.imageStatus({ image: { image: ref } })).image?.id, imageRef, ref);
    }
  });

  test('should pull by digest and keep the digest; a tag digest gives the same image', async () => {
    const { rt, clock } = newRuntime({ pullBandwidthBytesPerSecond: Infinity });
    const tagged = rt.pullImage({ image: { image: 'app:v1' } });
    await tick(clock, 100);
    const { imageRef } = await tagged;
    const digest = rt.registry.inspect('app:v1').manifestDigest;
    await rt.removeImage({ image: { image: imageRef ?? '' } });

    const byDigest = rt.pullImage({ image: { image: `app:v1@${digest}` } });
    await tick(clock, 100);
    assert.equal((await byDigest).imageRef, imageRef);
    const { image } = await rt.imageStatus({ image: { image: `docker.io/library/app@${digest}` } });
    // containerd's ParseDockerRef drops the tag of a tag+digest reference: no repo tag is recorded.
    assert.deepEqual(image?.repoTags, []);
    assert.deepEqual(image?.repoDigests, [`docker.io/library/app@${digest}`]);

    const unknownDigest = `sha256:${'ab'.repeat(32)}`;
    const other = rt.pullImage({ image: { image: `app@${unknownDigest}` } });
    await tick(clock, 100);
    assert.notEqual((await other).imageRef, imageRef);
  });

  test('should move a tag to the new image when its content changed, leaving the old one by id and digest', async () => {
    const registry = new BuiltinRegistry({ images: { 'app:v1': { sizeBytes: MB } } });
    const { rt, clock } = newRuntime({ registry, pullBandwidthBytesPerSecond: Infinity });
    const first = rt.pullImage({ image: { image: 'app:v1' } });
    await tick(clock, 100);
    const oldId = (await first).imageRef ?? '';
    registry.setImage('app:v1', { sizeBytes: 2 * MB, revision: 'pushed-again' });
    const second = rt.pullImage({ image: { image: 'app:v1' } });
    await tick(clock, 100);
    const newId = (await second).imageRef ?? '';
    assert.notEqual(newId, oldId);
    const old = (await rt.imageStatus({ image: { image: oldId } })).image;
    assert.deepEqual(old?.repoTags, []);
    assert.equal(old?.repoDigests?.length, 1);
    assert.deepEqual((await rt.imageStatus({ image: { image: 'app:v1' } })).image?.id, newId);
    assert.equal((await rt.imageFsInfo({})).imageFilesystems?.[0]?.usedBytes?.value, String(3 * MB));
  });

  test('should answer ImageStatus of an absent image with an empty image and no error', async () => {
    const { rt } = newRuntime();
    assert.deepEqual(await rt.imageStatus({ image: { image: 'nginx:1.25' } }), { image: null, info: {} });
    assert.deepEqual(await rt.imageStatus({ image: { image: 'NOT a reference' } }), { image: null, info: {} });
  });

  test('should make RemoveImage idempotent', async () => {
    const { rt, clock } = newRuntime();
    const pull = rt.pullImage({ image: { image: 'app' } });
    await tick(clock, 1100);
    await pull;
    assert.deepEqual(await rt.removeImage({ image: { image: 'app' } }), {});
    assert.deepEqual(await rt.removeImage({ image: { image: 'app' } }), {});
    assert.deepEqual(await rt.removeImage({ image: { image: 'never/pulled:x' } }), {});
    assert.equal((await rt.imageStatus({ image: { image: 'app' } })).image, null);
  });

  test('should filter ListImages (containerd 1.6 would ignore the filter) and sum sizes in ImageFsInfo', async () => {
    const { rt, clock } = newRuntime();
    const pulls = [rt.pullImage({ image: { image: 'app' } }), rt.pullImage({ image: { image: 'other' } })];
    await tick(clock, 2100);
    await Promise.all(pulls);
    assert.equal((await rt.listImages({})).images?.length, 2);
    const filtered = await rt.listImages({ filter: { image: { image: 'other' } } });
    assert.deepEqual(filtered.images?.map((i) => i.repoTags), [['docker.io/library/other:latest']]);
    assert.deepEqual((await rt.listImages({ filter: { image: { image: 'absent' } } })).images, []);
    const fs = (await rt.imageFsInfo({})).imageFilesystems?.[0];
    assert.equal(fs?.usedBytes?.value, String(2 * MB));
    assert.equal(fs?.timestamp, `${EPOCH + 2100}000000`);
  });
});

describe('pod sandboxes', () => {
  test('should run, list with filters, stop and remove a sandbox', async () => {
    const { rt } = newRuntime();
    const { podSandboxId: a = '' } = await rt.runPodSandbox({ config: sandboxConfig('a') });
    const { podSandboxId: b = '' } = await rt.runPodSandbox({
      config: sandboxConfig('b', { linux: { securityContext: { namespaceOptions: { network: 'POD' } } } }),
    });
    const status = await rt.podSandboxStatus({ podSandboxId: a });
    assert.equal(status.status?.state, 'SANDBOX_READY');
    assert.equal(status.status?.createdAt, `${EPOCH}000000`);
    assert.deepEqual(status.status?.metadata, { name: 'a', namespace: 'default', uid: 'uid-a', attempt: 0 });
    assert.equal(status.status?.network?.ip, '');
    assert.match((await rt.podSandboxStatus({ podSandboxId: b })).status?.network?.ip ?? '', /^10\.88\.\d+\.\d+$/);

    assert.equal((await rt.listPodSandbox({})).items?.length, 2);
    assert.deepEqual((await rt.listPodSandbox({ filter: { labelSelector: { pod: 'b' } } })).items?.map((s) => s.id), [b]);
    assert.deepEqual((await rt.listPodSandbox({ filter: { id: a.slice(0, 4) } })).items?.map((s) => s.id), [a]);

    await rt.stopPodSandbox({ podSandboxId: a });
    await rt.stopPodSandbox({ podSandboxId: a });
    assert.deepEqual(
      (await rt.listPodSandbox({ filter: { state: { state: 'SANDBOX_NOTREADY' } } })).items?.map((s) => s.id), [a]);
    assert.deepEqual(
      (await rt.listPodSandbox({ filter: { state: { state: 'SANDBOX_READY' } } })).items?.map((s) => s.id), [b]);

    await rt.removePodSandbox({ podSandboxId: a });
    await rt.removePodSandbox({ podSandboxId: a });
    await rt.removePodSandbox({ podSandboxId: b }); // a ready sandbox is stopped first
    assert.deepEqual((await rt.listPodSandbox({})).items, []);
    await assert.rejects(rt.podSandboxStatus({ podSandboxId: a }),
      rejectsWith(GrpcStatus.NOT_FOUND, /^an error occurred when try to find sandbox: not found$/));
    await assert.rejects(rt.stopPodSandbox({ podSandboxId: a }),
      rejectsWith(GrpcStatus.NOT_FOUND, new RegExp(`^an error occurred when try to find sandbox "${a}": not found$`)));
  });

  test('should refuse a second sandbox with the same name and attempt, and a config without metadata', async () => {
    const { rt } = newRuntime();
    const { podSandboxId } = await rt.runPodSandbox({ config: sandboxConfig('a') });
    await assert.rejects(rt.runPodSandbox({ config: sandboxConfig('a') }), rejectsWith(GrpcStatus.UNKNOWN,
      new RegExp(`^failed to reserve sandbox name "a_default_uid-a_0": name "a_default_uid-a_0" is reserved for "${podSandboxId}"$`)));
    await assert.rejects(rt.runPodSandbox({ config: {} }), rejectsWith(GrpcStatus.UNKNOWN, /must include metadata/));
    await rt.removePodSandbox({ podSandboxId: podSandboxId ?? '' });
    await rt.runPodSandbox({ config: sandboxConfig('a') });
  });
});

describe('containers', () => {
  test('should go created → running → exited with 143 on a graceful stop, and record times', async () => {
    const { rt, clock } = newRuntime();
    const pod = await readyPod(rt, clock);
    const { containerId = '' } = await rt.createContainer({ podSandboxId: pod, config: containerConfig('main') });
    let s = await statusOf(rt, containerId);
    assert.deepEqual([s.state, s.startedAt, s.finishedAt, s.reason], ['CONTAINER_CREATED', '0', '0', '']);
    await tick(clock, 10);
    await rt.startContainer({ containerId });
    s = await statusOf(rt, containerId);
    assert.equal(s.state, 'CONTAINER_RUNNING');
    assert.equal(s.startedAt, `${EPOCH + 1110}000000`);
    await tick(clock, 60_000);
    assert.equal((await statusOf(rt, containerId)).state, 'CONTAINER_RUNNING', 'the image entrypoint runs until stopped');
    assert.equal(clock.pendingTimers(), 0);

    await rt.stopContainer({ containerId, timeout: '30' });
    s = await statusOf(rt, containerId);
    assert.deepEqual([s.state, s.exitCode, s.reason], ['CONTAINER_EXITED', 143, 'Error']);
    assert.equal(s.finishedAt, `${EPOCH + 61_110}000000`);
    await assert.rejects(rt.startContainer({ containerId }), rejectsWith(GrpcStatus.UNKNOWN,
      new RegExp(`^failed to set starting state for container "${containerId}": container is in CONTAINER_EXITED state$`)));
    assert.deepEqual(await rt.stopContainer({ containerId, timeout: '30' }), {}, 'stopping an exited container is a no-op');
  });

  test('should kill at once (137) with timeout 0', async () => {
    const { rt, clock } = newRuntime();
    const id = await runContainer(rt, await readyPod(rt, clock), 'main');
    await rt.stopContainer({ containerId: id, timeout: '0' });
    const s = await statusOf(rt, id);
    assert.deepEqual([s.exitCode, s.reason], [137, 'Error']);
  });

  test('should exit 143 after the stop delay, or be killed (137) when the delay outlasts the timeout', async () => {
    const { rt, clock } = newRuntime();
    const pod = await readyPod(rt, clock);
    const slow = await runContainer(rt, pod, 'slow', [], { annotations: { [STOP_DELAY_ANNOTATION]: '5000' } });
    const stuck = await runContainer(rt, pod, 'stuck', [], { annotations: { [STOP_DELAY_ANNOTATION]: '60000' } });
    const slowStop = track(rt.stopContainer({ containerId: slow, timeout: '10' }));
    const stuckStop = track(rt.stopContainer({ containerId: stuck, timeout: '10' }));
    await tick(clock, 4999);
    assert.deepEqual([slowStop.done, (await statusOf(rt, slow)).state], [false, 'CONTAINER_RUNNING']);
    await tick(clock, 1);
    assert.equal(slowStop.done, true);
    assert.equal((await statusOf(rt, slow)).exitCode, 143);
    await tick(clock, 4999);
    assert.equal(stuckStop.done, false);
    await tick(clock, 1);
    assert.equal(stuckStop.done, true);
    const s = await statusOf(rt, stuck);
    assert.deepEqual([s.exitCode, s.finishedAt], [137, `${EPOCH + 1100 + 10_000}000000`]);
  });

  test('should model exit codes and durations of builtin commands', async () => {
    const { rt, clock } = newRuntime();
    const pod = await readyPod(rt, clock);
    const rows: [string, string[], string[], number, number][] = [
      // name, command, args, exit code, run time (ms)
      ['sh-exit', ['sh', '-c'], ['exit 3'], 3, 0],
      ['exit', ['exit', '7'], [], 7, 0],
      ['false', ['/bin/false'], [], 1, 0],
      ['true', ['true'], [], 0, 0],
      ['sleep', ['sleep'], ['5'], 0, 5000],
      ['script', ['/bin/sh', '-c', 'sleep 2 && echo done > /tmp/x && exit 4'], [], 4, 2000],
    ];
    const ids = new Map<string, string>();
    for (const [name, command, args] of rows) ids.set(name, await runContainer(rt, pod, name, command, { args }));
    const forever = await runContainer(rt, pod, 'forever', ['sleep', 'infinity']);
    const startedAt = clock.now();
    await tick(clock, 10_000);
    for (const [name, , , exitCode, runMs] of rows) {
      const s = await statusOf(rt, ids.get(name) ?? '');
      assert.equal(s.state, 'CONTAINER_EXITED', name);
      assert.equal(s.exitCode, exitCode, name);
      assert.equal(s.reason, exitCode === 0 ? 'Completed' : 'Error', name);
      assert.equal(s.finishedAt, `${startedAt + runMs}000000`, name);
    }
    assert.equal((await statusOf(rt, forever)).state, 'CONTAINER_RUNNING');
    await rt.stopContainer({ containerId: forever, timeout: '30' });
    assert.equal((await statusOf(rt, forever)).exitCode, 143);
  });

  test('should keep metadata.attempt, labels, annotations and report image refs like containerd', async () => {
    const { rt, clock } = newRuntime();
    const pod = await readyPod(rt, clock);
    const image = (await rt.imageStatus({ image: { image: 'app' } })).image;
    const { containerId = '' } = await rt.createContainer({
      podSandboxId: pod,
      config: { ...containerConfig('main'), metadata: { name: 'main', attempt: 3 }, image: { image: image?.id ?? '' },
        labels: { l: '1' }, annotations: { a: '2' }, logPath: 'main/3.log' },
      sandboxConfig: { ...sandboxConfig(), logDirectory: '/var/log/pods/x' },
    });
    const s = await statusOf(rt, containerId);
    assert.deepEqual(s.metadata, { name: 'main', attempt: 3 });
    assert.deepEqual([s.labels, s.annotations, s.logPath], [{ l: '1' }, { a: '2' }, '/var/log/pods/x/main/3.log']);
    assert.equal(s.image?.image, 'docker.io/library/app:latest');
    assert.equal(s.imageRef, image?.repoDigests?.[0]);
    const listed = (await rt.listContainers({ filter: { podSandboxId: pod } })).containers ?? [];
    assert.deepEqual(listed.map((c) => [c.id, c.imageRef, c.image?.image, c.state]),
      [[containerId, image?.id, image?.id, 'CONTAINER_CREATED']]);
  });

  test('should filter ListContainers by id prefix, state, sandbox and labels', async () => {
    const { rt, clock } = newRuntime();
    const pod = await readyPod(rt, clock);
    const running = await runContainer(rt, pod, 'a', [], { labels: { role: 'main' } });
    const { containerId: created = '' } = await rt.createContainer({ podSandboxId: pod, config: containerConfig('b') });
    const ids = async (filter: object) => ((await rt.listContainers({ filter })).containers ?? []).map((c) => c.id);
    assert.deepEqual(await ids({ state: { state: 'CONTAINER_RUNNING' } }), [running]);
    assert.deepEqual(await ids({ state: { state: 'CONTAINER_CREATED' } }), [created]);
    assert.deepEqual(await ids({ labelSelector: { role: 'main' } }), [running]);
    assert.deepEqual(await ids({ id: created.slice(0, 4) }), [created]);
    assert.deepEqual(await ids({ podSandboxId: 'nope' }), []);
  });

  test('should refuse to create without the image, a sandbox, metadata, or a free name', async () => {
    const { rt, clock } = newRuntime();
    const pod = await readyPod(rt, clock);
    await assert.rejects(rt.createContainer({
      podSandboxId: pod, config: { ...containerConfig('x'), image: { image: 'nginx:1.25' } },
    }), rejectsWith(GrpcStatus.NOT_FOUND, /^failed to resolve image "nginx:1\.25": not found$/));
    await assert.rejects(rt.createContainer({ podSandboxId: 'nope', config: containerConfig('x') }),
      rejectsWith(GrpcStatus.NOT_FOUND, /^failed to find sandbox id "nope": not found$/));
    await assert.rejects(rt.createContainer({ podSandboxId: pod, config: {} }),
      rejectsWith(GrpcStatus.UNKNOWN, /container config must include metadata/));
    await rt.createContainer({ podSandboxId: pod, config: containerConfig('x') });
    await assert.rejects(rt.createContainer({ podSandboxId: pod, config: containerConfig('x') }),
      rejectsWith(GrpcStatus.UNKNOWN, /^failed to reserve container name "x_web-0_default_uid-web-0_0"/));
    await rt.stopPodSandbox({ podSandboxId: pod });
    await assert.rejects(rt.createContainer({ podSandboxId: pod, config: containerConfig('y') }),
      rejectsWith(GrpcStatus.NOT_FOUND, /^failed to get sandbox container task: no running task found/));
  });

  test('should record a StartError (128) when the sandbox stopped before the start', async () => {
    const { rt, clock } = newRuntime();
    const pod = await readyPod(rt, clock);
    const { containerId = '' } = await rt.createContainer({ podSandboxId: pod, config: containerConfig('x') });
    await rt.stopPodSandbox({ podSandboxId: pod });
    await assert.rejects(rt.startContainer({ containerId }),
      rejectsWith(GrpcStatus.UNKNOWN, new RegExp(`^sandbox container "${pod}" is not running$`)));
    const s = await statusOf(rt, containerId);
    assert.deepEqual([s.state, s.exitCode, s.reason, s.message],
      ['CONTAINER_EXITED', 128, 'StartError', `sandbox container "${pod}" is not running`]);
  });

  test('should kill containers when their sandbox stops, and remove them with it', async () => {
    const { rt, clock } = newRuntime();
    const pod = await readyPod(rt, clock);
    const id = await runContainer(rt, pod, 'main');
    await rt.stopPodSandbox({ podSandboxId: pod });
    assert.equal((await statusOf(rt, id)).exitCode, 137);
    await rt.removePodSandbox({ podSandboxId: pod });
    await assert.rejects(rt.containerStatus({ containerId: id }),
      rejectsWith(GrpcStatus.NOT_FOUND, new RegExp(`^an error occurred when try to find container "${id}": not found$`)));
    assert.deepEqual(rt.stats(), { sandboxes: 0, containers: 0, images: 1, downloads: 0 });
  });

  test('should remove a running container by killing it, and make RemoveContainer idempotent', async () => {
    const { rt, clock } = newRuntime();
    const pod = await readyPod(rt, clock);
    const id = await runContainer(rt, pod, 'main', ['sleep', '100']);
    await rt.removeContainer({ containerId: id });
    await rt.removeContainer({ containerId: id });
    assert.equal(rt.stats().containers, 0);
    await settle(clock);
    assert.equal(clock.pendingTimers(), 0, 'the sleeping process was killed with its timer');
    await assert.rejects(rt.stopContainer({ containerId: id, timeout: '1' }), rejectsWith(GrpcStatus.NOT_FOUND, /not found$/));
    await assert.rejects(rt.removeContainer({ containerId: '' }), rejectsWith(GrpcStatus.UNKNOWN, /prefix can't be empty/));
  });

  test('should hold no timer for idle running containers', async () => {
    const { rt, clock } = newRuntime();
    const pod = await readyPod(rt, clock);
    for (let i = 0; i < 50; i++) await runContainer(rt, pod, `c${i}`);
    await settle(clock);
    assert.equal(clock.pendingTimers(), 0);
  });
});

describe('ExecSync', () => {
  async function running(command: string[] = []) {
    const { rt, clock } = newRuntime();
    const id = await runContainer(rt, await readyPod(rt, clock), 'main', command);
    const exec = (cmd: string[], timeout = '0', signal?: AbortSignal) =>
      rt.execSync({ containerId: id, cmd, timeout }, { signal });
    return { rt, clock, id, exec };
  }

  test('should run the builtin commands and report their exit codes and output', async () => {
    const { exec } = await running();
    const rows: [string[], number, string, string][] = [
      [['true'], 0, '', ''],
      [['false'], 1, '', ''],
      [['exit', '5'], 5, '', ''],
      [['sh', '-c', 'exit 300'], 44, '', ''],
      [['echo', 'hello', 'world'], 0, 'hello world\n', ''],
      [['/bin/sh', '-c', "echo -n 'a b'; echo \"c\" 1>&2 2>/dev/null; false || echo fallback"], 0, 'a bfallback\n', ''],
      [['cat', '/etc/hostname'], 1, '', "cat: can't open '/etc/hostname': No such file or directory\n"],
      [['sh', '-c', 'nosuchcmd --flag'], 127, '', 'sh: nosuchcmd: not found\n'],
      [['sh', '-c', 'echo "unterminated'], 2, '', 'sh: syntax error: unterminated quoted string\n'],
      [['test', '-f', '/tmp/none'], 1, '', ''],
    ];
    for (const [cmd, exitCode, stdout, stderr] of rows) {
      const res = await exec(cmd);
      assert.deepEqual([res.exitCode, res.stdout?.toString(), res.stderr?.toString()], [exitCode, stdout, stderr], cmd.join(' '));
    }
  });

  test('should keep files written by one exec for the next (postStart marker, then probe)', async () => {
    const { clock, exec } = await running();
    const hook = track(exec(['sh', '-c', 'sleep 2; echo migrated > /tmp/done']));
    await tick(clock, 1000);
    assert.equal((await exec(['cat', '/tmp/done'])).exitCode, 1);
    await tick(clock, 1000);
    assert.equal(hook.done, true);
    assert.equal(hook.value?.exitCode, 0);
    const probe = await exec(['cat', '/tmp/done']);
    assert.deepEqual([probe.exitCode, probe.stdout?.toString()], [0, 'migrated\n']);
    assert.equal((await exec(['[', '-f', '/tmp/done', ']'])).exitCode, 0);
    assert.equal((await exec(['rm', '/tmp/done'])).exitCode, 0);
    assert.equal((await exec(['test', '-e', '/tmp/done'])).exitCode, 1);
  });

  test('should sleep within the timeout, and fail with DEADLINE_EXCEEDED past it', async () => {
    const { clock, exec } = await running();
    const quick = track(exec(['sleep', '1'], '2'));
    const slow = track(exec(['sleep', '5'], '1'));
    await tick(clock, 999);
    assert.deepEqual([quick.done, slow.done], [false, false]);
    await tick(clock, 1);
    assert.equal(quick.value?.exitCode, 0);
    assert.equal(slow.done, true);
    assert.ok(BuiltinRuntimeError.is(slow.error));
    assert.equal(slow.error.grpcCode, GrpcStatus.DEADLINE_EXCEEDED);
    assert.equal(slow.error.message, 'failed to exec in container: timeout 1s exceeded: context deadline exceeded');
    assert.equal(clock.pendingTimers(), 0);
  });

  test('should fail like runc for a program that is not there', async () => {
    const { exec } = await running();
    await assert.rejects(exec(['grpc_health_probe', '-addr=:8080']), rejectsWith(GrpcStatus.UNKNOWN,
      /^failed to exec in container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: exec failed: unable to start container process: exec: "grpc_health_probe": executable file not found in \$PATH: unknown$/));
    await assert.rejects(exec(['/app/check']), rejectsWith(GrpcStatus.UNKNOWN,
      /exec: "\/app\/check": stat \/app\/check: no such file or directory: unknown$/));
  });

  test('should refuse to exec in a container that is not running or does not exist', async () => {
    const { rt, id, exec } = await running();
    await rt.stopContainer({ containerId: id, timeout: '0' });
    await assert.rejects(exec(['true']),
      rejectsWith(GrpcStatus.UNKNOWN, /^failed to exec in container: container is in CONTAINER_EXITED state$/));
    await assert.rejects(rt.execSync({ containerId: 'nope', cmd: ['true'] }),
      rejectsWith(GrpcStatus.NOT_FOUND, /^failed to exec in container: failed to find container "nope" in store: not found$/));
  });

  test('should end an exec with 137 when its container is killed, and with CANCELLED when its caller leaves', async () => {
    const { rt, clock, id, exec } = await running();
    const controller = new AbortController();
    const left = track(exec(['sleep', '60'], '0', controller.signal));
    const killed = track(exec(['sleep', '60']));
    await tick(clock, 1000);
    controller.abort();
    await settle(clock);
    assert.ok(BuiltinRuntimeError.is(left.error) && left.error.grpcCode === GrpcStatus.CANCELLED);
    await rt.stopContainer({ containerId: id, timeout: '0' });
    await settle(clock);
    assert.equal(killed.value?.exitCode, 137);
    assert.equal(clock.pendingTimers(), 0);
  });
});

describe('options', () => {
  test('should reject invalid options at construction', () => {
    assert.throws(() => new BuiltinRuntime({ pullLatencyMs: -1 }), (err) => KruiseError.is(err) && err.fieldPath === 'pullLatencyMs');
    assert.throws(() => new BuiltinRuntime({ pullBandwidthBytesPerSecond: 0 }), (err) => KruiseError.is(err) && err.reason === 'Invalid');
    assert.throws(() => new BuiltinRegistry({ images: { 'UPPER:x': {} } }), (err) => KruiseError.is(err) && err.reason === 'Invalid');
  });
});
