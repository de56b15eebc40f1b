/**
 * THE CRI conformance table (STYLE habit 16): one list of cases, run in order against every runtime we support —
 * the built-in runtime served over a unix socket (`conformance-builtin.test.ts`) and a real containerd
 * (`conformance-containerd.test.ts`) — always through the typed `CriClient`, so what we assert is what the agent
 * sees on the wire.
 *
 * Rows run in order and share state (one pod sandbox, one running container), the way the agent uses a runtime.
 * Where the runtimes answer differently the row says so in `perRuntime`, with the reason; everything else must be
 * identical. Errors are asserted on their gRPC code and our `CriError.reason` class, never on message text.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CriError, type ContainerConfig, type ContainerState, type CriClient, type Decoded, type ContainerStatus,
  type PodSandboxConfig,
} from '../../src/cri/index.js';

export type RuntimeKind = 'builtin' | 'containerd';

/** Image references that mean the same on both runtimes (same registry host naming). */
export interface ConformanceImages {
  /** A busybox image by tag (`127.0.0.1:PORT/kctd/busybox:1`): it runs sh, sleep, true, false, echo. */
  readonly busybox: string;
  /** Its manifest digest (`sha256:...`), what `repo@digest` pulls. */
  readonly busyboxDigest: string;
  /** Its image id (the config digest), what PullImage returns and ImageStatus reports. */
  readonly busyboxImageId: string;
  /** A second image with an id of its own that nothing else refers to, for RemoveImage. */
  readonly removable: string;
  /** An image in a registry that requires `credentials`. */
  readonly private: string;
  /** A tag that does not exist in an existing repository. */
  readonly missingTag: string;
  /** An image whose registry cannot be reached (see the row for what each runtime uses). */
  readonly unreachable: string;
}

/** What one suite run provides. */
export interface ConformanceTarget {
  readonly kind: RuntimeKind;
  readonly client: CriClient;
  readonly images: ConformanceImages;
  readonly credentials: { readonly username: string; readonly password: string };
  /** `linux.cgroup_parent` of our sandboxes: containerd's harness removes it at the end. */
  readonly cgroupParent?: string;
}

/** What the rows hand each other. */
export interface ConformanceState {
  /** Labels on everything we create; the cleanup row lists by them. */
  readonly labels: Readonly<Record<string, string>>;
  readonly sandboxConfig: PodSandboxConfig;
  sandboxId?: string;
  /** The long-running container (`sleep infinity`). */
  containerId?: string;
  /** The sandbox after the cleanup row removed it. */
  removedSandboxId?: string;
}

/** An error as the table asserts it: gRPC code and our reason class, never the message text. */
export interface ExpectedError {
  readonly code: string;
  readonly reason: string;
}

export interface ConformanceCase {
  /** A sentence: what the runtime does. */
  readonly name: string;
  /** Where the runtimes differ: what each answers, and why. `run` gets the target's entry. */
  readonly perRuntime?: { readonly why: string; readonly expect: Readonly<Record<RuntimeKind, ExpectedError>> };
  run(t: ConformanceTarget, s: ConformanceState, expected?: ExpectedError): Promise<void>;
}

/** What `c` expects of `kind`; the suite passes it to `run`. */
export function expectedFor(c: ConformanceCase, kind: RuntimeKind): ExpectedError | undefined {
  return c.perRuntime?.expect[kind];
}

/**
 * Host network; PID namespace shared with the pod (kubelet's `shareProcessNamespace`), so that the pause process is
 * PID 1 and a container's `sleep` is not: the kernel ignores SIGTERM for a PID 1 without a handler, and a graceful
 * StopContainer would then always end in SIGKILL on a real runtime.
 */
const POD_NAMESPACES = { network: 'NODE', pid: 'POD', ipc: 'POD' } as const;

export function newConformanceState(t: ConformanceTarget): ConformanceState {
  const run = randomBytes(4).toString('hex');
  const labels = { 'kruise-ts.test/conformance': run };
  return {
    labels,
    sandboxConfig: {
      metadata: { name: `conformance-${run}`, uid: `uid-${run}`, namespace: 'kruise-ts-test', attempt: 0 },
      // Host network, so no CNI is needed; and then the hostname MUST be empty, or runc fails with "unable to set
      // hostname without a private UTS namespace" (kubelet leaves it empty too).
      hostname: '',
      labels,
      linux: {
        cgroupParent: t.cgroupParent ?? '',
        securityContext: { namespaceOptions: POD_NAMESPACES },
      },
    },
  };
}

// ---- helpers ----

const EXEC_TIMEOUT_S = 10;
const WAIT_MS = 15_000;

async function expectCriError(promise: Promise<unknown>, code: string, reason: string): Promise<CriError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(CriError.is(err), `expected a CriError, got ${String(err)}`);
    assert.equal(err.grpcCodeName, code, `gRPC code (message: ${err.details})`);
    assert.equal(err.reason, reason, `reason (message: ${err.details})`);
    return err;
  }
  assert.fail(`expected the call to fail with ${code}`);
}

function required<T>(value: T | undefined | null, what: string): T {
  assert.ok(value !== undefined && value !== null, `${what} is missing (an earlier row failed?)`);
  return value;
}

function containerConfig(t: ConformanceTarget, s: ConformanceState, name: string, command: string[], attempt = 0): ContainerConfig {
  return {
    metadata: { name, attempt },
    image: { image: t.images.busybox },
    command,
    labels: s.labels,
    linux: { securityContext: { namespaceOptions: POD_NAMESPACES } },
  };
}

async function runContainer(t: ConformanceTarget, s: ConformanceState, config: ContainerConfig): Promise<string> {
  const sandboxId = required(s.sandboxId, 'the sandbox');
  const { containerId } = await t.client.createContainer({ podSandboxId: sandboxId, config, sandboxConfig: s.sandboxConfig });
  await t.client.startContainer({ containerId });
  return containerId;
}

/** Polls ContainerStatus until the state is `state` (no sleeps on time alone: a condition with a deadline). */
async function waitForState(t: ConformanceTarget, id: string, state: ContainerState): Promise<Decoded<ContainerStatus>> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const { status } = await t.client.containerStatus({ containerId: id });
    const st = required(status, 'ContainerStatus.status');
    if (st.state === state) return st;
    assert.ok(Date.now() < deadline, `container ${id} still ${st.state} after ${WAIT_MS} ms (waiting for ${state})`);
    await delay(20);
  }
}

async function exec(t: ConformanceTarget, s: ConformanceState, cmd: string[]) {
  return t.client.execSync(
    { containerId: required(s.containerId, 'the running container'), cmd, timeout: String(EXEC_TIMEOUT_S) },
    { timeoutMs: (EXEC_TIMEOUT_S + 5) * 1000 },
  );
}

async function imageListed(t: ConformanceTarget, id: string): Promise<boolean> {
  // containerd 1.6 ignores ListImages' filter: always filter on the client.
  const { images } = await t.client.listImages({});
  return images.some((i) => i?.id === id);
}

// ---- the table ----

export const conformanceCases: readonly ConformanceCase[] = [
  // Images
  {
    name: 'ImageStatus of an image that is not present returns no image and no error',
    async run(t) {
      const res = await t.client.imageStatus({ image: { image: t.images.removable } });
      assert.equal(res.image, null);
    },
  },
  {
    name: 'PullImage by tag returns the image id',
    async run(t) {
      const res = await t.client.pullImage({ image: { image: t.images.busybox } });
      assert.equal(res.imageRef, t.images.busyboxImageId);
    },
  },
  {
    name: 'ImageStatus of a pulled image reports its id, tag, repo digest and size',
    async run(t) {
      const { image } = await t.client.imageStatus({ image: { image: t.images.busybox } });
      const img = required(image, 'ImageStatus.image');
      assert.equal(img.id, t.images.busyboxImageId);
      assert.ok(img.repoTags.includes(t.images.busybox), `repoTags ${JSON.stringify(img.repoTags)}`);
      const repo = t.images.busybox.slice(0, t.images.busybox.lastIndexOf(':'));
      assert.ok(img.repoDigests.includes(`${repo}@${t.images.busyboxDigest}`), `repoDigests ${JSON.stringify(img.repoDigests)}`);
      assert.ok(BigInt(img.size) > 0n, `size ${img.size}`);
    },
  },
  {
    name: 'PullImage by digest returns the same image id as the tag',
    async run(t) {
      const repo = t.images.busybox.slice(0, t.images.busybox.lastIndexOf(':'));
      const res = await t.client.pullImage({ image: { image: `${repo}@${t.images.busyboxDigest}` } });
      assert.equal(res.imageRef, t.images.busyboxImageId);
    },
  },
  {
    name: 'PullImage of repo:tag@digest pulls by the digest and returns the same image id',
    async run(t) {
      const res = await t.client.pullImage({ image: { image: `${t.images.busybox}@${t.images.busyboxDigest}` } });
      assert.equal(res.imageRef, t.images.busyboxImageId);
    },
  },
  {
    name: 'ListImages includes a pulled image',
    async run(t) {
      const { images } = await t.client.listImages({});
      const img = images.find((i) => i?.id === t.images.busyboxImageId);
      assert.ok(img !== undefined && img !== null, 'the pulled image is listed');
      assert.ok(img.repoTags.includes(t.images.busybox));
    },
  },
  {
    name: 'PullImage from a registry with auth fails as Unauthorized without credentials (UNKNOWN, a 401)',
    async run(t) {
      await expectCriError(t.client.pullImage({ image: { image: t.images.private } }), 'UNKNOWN', 'Unauthorized');
      assert.equal((await t.client.imageStatus({ image: { image: t.images.private } })).image, null);
    },
  },
  {
    name: 'PullImage from a registry with auth fails as Unauthorized with a wrong password',
    async run(t) {
      const auth = { username: t.credentials.username, password: `${t.credentials.password}-wrong` };
      await expectCriError(t.client.pullImage({ image: { image: t.images.private }, auth }), 'UNKNOWN', 'Unauthorized');
    },
  },
  {
    name: 'PullImage from a registry with auth succeeds with a username and password',
    async run(t) {
      const res = await t.client.pullImage({ image: { image: t.images.private }, auth: { ...t.credentials } });
      assert.match(res.imageRef, /^sha256:[0-9a-f]{64}$/);
    },
  },
  {
    name: 'PullImage from a registry with auth succeeds with base64 user:password in `auth`',
    async run(t) {
      await t.client.removeImage({ image: { image: t.images.private } });
      const auth = Buffer.from(`${t.credentials.username}:${t.credentials.password}`).toString('base64');
      const res = await t.client.pullImage({ image: { image: t.images.private }, auth: { auth } });
      assert.match(res.imageRef, /^sha256:[0-9a-f]{64}$/);
    },
  },
  {
    name: 'PullImage of a tag that does not exist fails as NOT_FOUND',
    async run(t) {
      await expectCriError(t.client.pullImage({ image: { image: t.images.missingTag } }), 'NOT_FOUND', 'NotFound');
    },
  },
  {
    name: 'PullImage from a registry that cannot be reached fails, and leaves no image',
    perRuntime: {
      why: 'containerd cannot reach 127.0.0.1:1 (connection refused) and answers UNKNOWN; the built-in runtime '
        + 'models every registry as reachable except `.invalid` hosts, which it answers NOT_FOUND',
      expect: { containerd: { code: 'UNKNOWN', reason: 'Unknown' }, builtin: { code: 'NOT_FOUND', reason: 'NotFound' } },
    },
    async run(t, _s, expected) {
      assert.ok(expected !== undefined);
      const err = await expectCriError(
        t.client.pullImage({ image: { image: t.images.unreachable } }, { timeoutMs: 30_000 }),
        expected.code, expected.reason,
      );
      assert.equal(err.retryable, false);
      assert.equal((await t.client.imageStatus({ image: { image: t.images.unreachable } })).image, null);
    },
  },
  {
    name: 'PullImage from a registry host that does not resolve (.invalid) fails, and leaves no image',
    perRuntime: {
      why: 'containerd answers a DNS failure UNKNOWN ("no such host"); the built-in runtime answers NOT_FOUND '
        + '(src/sandbox/cri/builtin-registry.ts, "Known difference")',
      expect: { containerd: { code: 'UNKNOWN', reason: 'Unknown' }, builtin: { code: 'NOT_FOUND', reason: 'NotFound' } },
    },
    async run(t, _s, expected) {
      assert.ok(expected !== undefined);
      const image = 'registry.kruise-ts.invalid/kctd/busybox:1';
      await expectCriError(t.client.pullImage({ image: { image } }, { timeoutMs: 30_000 }), expected.code, expected.reason);
      assert.equal((await t.client.imageStatus({ image: { image } })).image, null);
    },
  },
  {
    name: 'RemoveImage removes a pulled image: ImageStatus is empty and ListImages no longer has it',
    async run(t) {
      const { imageRef } = await t.client.pullImage({ image: { image: t.images.removable } });
      assert.notEqual(imageRef, t.images.busyboxImageId, 'the removable image has an id of its own');
      assert.ok(await imageListed(t, imageRef));
      await t.client.removeImage({ image: { image: t.images.removable } });
      assert.equal((await t.client.imageStatus({ image: { image: t.images.removable } })).image, null);
      assert.equal(await imageListed(t, imageRef), false);
      assert.ok(await imageListed(t, t.images.busyboxImageId), 'other images stay');
    },
  },
  {
    name: 'RemoveImage of an image that is not present succeeds',
    async run(t) {
      await t.client.removeImage({ image: { image: t.images.removable } });
      await t.client.removeImage({ image: { image: t.images.missingTag } });
    },
  },

  // Pods and containers
  {
    name: 'RunPodSandbox starts a host-network sandbox with an empty hostname, ready',
    async run(t, s) {
      const { podSandboxId } = await t.client.runPodSandbox({ config: s.sandboxConfig });
      s.sandboxId = podSandboxId;
      const { status } = await t.client.podSandboxStatus({ podSandboxId });
      const st = required(status, 'PodSandboxStatus.status');
      assert.equal(st.state, 'SANDBOX_READY');
      assert.equal(st.metadata?.name, s.sandboxConfig.metadata?.name);
      assert.equal(st.linux?.namespaces?.options?.network, 'NODE');
      const { items } = await t.client.listPodSandbox({ filter: { labelSelector: s.labels } });
      assert.deepEqual(items.map((i) => i?.id), [podSandboxId]);
    },
  },
  {
    name: 'CreateContainer and StartContainer run a container',
    async run(t, s) {
      s.containerId = await runContainer(t, s, containerConfig(t, s, 'sleeper', ['sleep', 'infinity']));
      const st = await waitForState(t, s.containerId, 'CONTAINER_RUNNING');
      assert.equal(st.metadata?.name, 'sleeper');
      assert.equal(st.metadata?.attempt, 0);
      assert.ok(BigInt(st.startedAt) > 0n, 'startedAt is set');
      assert.equal(st.finishedAt, '0');
      const { containers } = await t.client.listContainers({ filter: { podSandboxId: s.sandboxId } });
      assert.deepEqual(containers.map((c) => [c?.id, c?.state]), [[s.containerId, 'CONTAINER_RUNNING']]);
    },
  },
  {
    name: 'ExecSync of `true` exits 0',
    async run(t, s) {
      assert.equal((await exec(t, s, ['true'])).exitCode, 0);
    },
  },
  {
    name: 'ExecSync of `false` exits 1, as a result and not an error',
    async run(t, s) {
      assert.equal((await exec(t, s, ['false'])).exitCode, 1);
    },
  },
  {
    name: 'ExecSync of `sh -c "exit 3"` exits 3',
    async run(t, s) {
      assert.equal((await exec(t, s, ['sh', '-c', 'exit 3'])).exitCode, 3);
    },
  },
  {
    name: 'ExecSync returns what the command wrote to stdout and stderr',
    async run(t, s) {
      const res = await exec(t, s, ['sh', '-c', 'echo out; cat /no-such-file']);
      assert.equal(res.exitCode, 1);
      assert.equal(res.stdout.toString('utf8'), 'out\n');
      assert.match(res.stderr.toString('utf8'), /\/no-such-file/);
    },
  },
  {
    name: 'StopContainer with a zero timeout kills the container: exited with 137',
    async run(t, s) {
      const id = required(s.containerId, 'the running container');
      await t.client.stopContainer({ containerId: id, timeout: '0' });
      // StopContainer returns once the task is gone; the status may take a moment to show it.
      const st = await waitForState(t, id, 'CONTAINER_EXITED');
      assert.equal(st.exitCode, 137, 'SIGKILL: 128 + 9');
      assert.ok(BigInt(st.finishedAt) >= BigInt(st.startedAt), 'finishedAt is set');
    },
  },
  {
    name: 'StopContainer of an exited container succeeds',
    async run(t, s) {
      await t.client.stopContainer({ containerId: required(s.containerId, 'the container'), timeout: '0' });
    },
  },
  {
    name: 'StopContainer with a grace period ends a container that exits on SIGTERM: exited with 143',
    async run(t, s) {
      const id = await runContainer(t, s, containerConfig(t, s, 'graceful', ['sleep', 'infinity']));
      await waitForState(t, id, 'CONTAINER_RUNNING');
      // Returns once the container has exited; a 143 (not 137) shows SIGTERM ended it, not the SIGKILL at 30 s.
      await t.client.stopContainer({ containerId: id, timeout: '30' }, { timeoutMs: 40_000 });
      const st = await waitForState(t, id, 'CONTAINER_EXITED');
      assert.equal(st.exitCode, 143, 'SIGTERM: 128 + 15');
    },
  },
  {
    name: 'a container created again with attempt 1 after the first exited reports attempt 1',
    async run(t, s) {
      const first = await runContainer(t, s, containerConfig(t, s, 'restarter', ['sh', '-c', 'exit 2'], 0));
      const firstStatus = await waitForState(t, first, 'CONTAINER_EXITED');
      assert.equal(firstStatus.exitCode, 2);
      const second = await runContainer(t, s, containerConfig(t, s, 'restarter', ['sh', '-c', 'exit 0'], 1));
      assert.notEqual(second, first);
      const secondStatus = await waitForState(t, second, 'CONTAINER_EXITED');
      assert.equal(secondStatus.metadata?.name, 'restarter');
      assert.equal(secondStatus.metadata?.attempt, 1);
      assert.equal(secondStatus.exitCode, 0);
      const { containers } = await t.client.listContainers({ filter: { podSandboxId: s.sandboxId } });
      const attempts = containers
        .filter((c) => c?.metadata?.name === 'restarter')
        .map((c) => c?.metadata?.attempt)
        .sort();
      assert.deepEqual(attempts, [0, 1]);
    },
  },
  {
    name: 'StopPodSandbox and RemovePodSandbox leave no sandbox and no container with our labels',
    async run(t, s) {
      const podSandboxId = required(s.sandboxId, 'the sandbox');
      await t.client.stopPodSandbox({ podSandboxId });
      const { status } = await t.client.podSandboxStatus({ podSandboxId });
      assert.equal(status?.state, 'SANDBOX_NOTREADY');
      await t.client.removePodSandbox({ podSandboxId });
      const { items } = await t.client.listPodSandbox({ filter: { labelSelector: s.labels } });
      assert.deepEqual(items, []);
      const { containers } = await t.client.listContainers({ filter: { labelSelector: s.labels } });
      assert.deepEqual(containers, []);
      await expectCriError(t.client.podSandboxStatus({ podSandboxId }), 'NOT_FOUND', 'NotFound');
      s.removedSandboxId = podSandboxId;
      s.sandboxId = undefined;
      s.containerId = undefined;
    },
  },
  {
    // The CRI calls both idempotent, but containerd 1.6 finds the sandbox before stopping it, and a removed one is
    // NOT_FOUND; kubelet treats NotFound from StopPodSandbox as done. RemovePodSandbox of a removed one is OK.
    name: 'RemovePodSandbox of a removed sandbox succeeds, StopPodSandbox of one answers NOT_FOUND',
    async run(t, s) {
      const podSandboxId = required(s.removedSandboxId, 'the removed sandbox');
      await t.client.removePodSandbox({ podSandboxId });
      await expectCriError(t.client.stopPodSandbox({ podSandboxId }), 'NOT_FOUND', 'NotFound');
    },
  },
];
