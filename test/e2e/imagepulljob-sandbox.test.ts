/**
 * ImagePullJob end to end in the sandbox on the built-in runtime (issue 7): `startSandbox` in-process with 6 nodes,
 * so the coordinator's ImagePullJob and NodeImage controllers and one agent per node run as `kruise-ts sandbox`
 * runs them, over gRPC to each node's own built-in runtime. Pulls take 2 s (`imagePullSeconds`), long enough to see
 * them overlap. Every PullImage the runtimes serve is recorded (the runtime's method wrapped before the sandbox
 * serves it), so the tests assert on what the nodes' runtimes were actually asked. Each test pulls its own image.
 * kubectl drives what a user would type (apply, get -o json) and skips, naming itself, where it is absent.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { sandboxFeatureGates } from '../../src/api/feature-gates.js';
import type { ImagePullJob } from '../../src/api/imagepulljob-types.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { NodeImage } from '../../src/api/nodeimage-types.js';
import type { PullImageRequest, PullImageResponse } from '../../src/cri/cri-types.js';
import { isNotFound, resources } from '../../src/kube/index.js';
import { BuiltinRuntime, type CallContext } from '../../src/sandbox/cri/builtin-runtime.js';
import { BuiltinRuntimeError } from '../../src/sandbox/cri/builtin-runtime-error.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';
import { Kubectl, kubectlSkipReason } from '../support/kubectl.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const NODES = 6;
const PULL_SECONDS = 2;

/** One PullImage served by a node's built-in runtime; `code` is the gRPC code of a failed one. */
interface PullRecord { runtime: BuiltinRuntime; image: string; startedAt: number; endedAt?: number; ok?: boolean; code?: number }

/**
 * Records every PullImage of every BuiltinRuntime. Installed on the prototype before the sandbox starts: the gRPC
 * server looks each method up once, when it starts serving.
 */
class PullRecorder {
  readonly pulls: PullRecord[] = [];
  private readonly original = BuiltinRuntime.prototype.pullImage;

  install(): void {
    const pulls = this.pulls;
    const original = this.original;
    BuiltinRuntime.prototype.pullImage = async function pullImage(this: BuiltinRuntime, req: PullImageRequest, ctx?: CallContext): Promise<PullImageResponse> {
      const record: PullRecord = { runtime: this, image: req.image?.image ?? '', startedAt: performance.now() };
      pulls.push(record);
      try {
        const res = await original.call(this, req, ctx);
        record.ok = true;
        return res;
      } catch (e) {
        record.ok = false;
        if (BuiltinRuntimeError.is(e)) record.code = e.grpcCode;
        throw e;
      } finally {
        record.endedAt = performance.now();
      }
    };
  }

  uninstall(): void { BuiltinRuntime.prototype.pullImage = this.original; }

  of(image: string): PullRecord[] { return this.pulls.filter((p) => p.image === image); }

  /** The most distinct runtimes (nodes) that had a PullImage of `image` in flight at one moment. */
  maxNodesAtOnce(image: string): number {
    const events: { at: number; runtime: BuiltinRuntime; delta: 1 | -1 }[] = [];
    for (const p of this.of(image)) {
      events.push({ at: p.startedAt, runtime: p.runtime, delta: 1 });
      events.push({ at: p.endedAt ?? Infinity, runtime: p.runtime, delta: -1 });
    }
    // Ends before starts at the same instant: a node that finishes and one that starts are not "at once".
    events.sort((a, b) => a.at - b.at || a.delta - b.delta);
    const perRuntime = new Map<BuiltinRuntime, number>();
    let max = 0;
    for (const e of events) {
      perRuntime.set(e.runtime, (perRuntime.get(e.runtime) ?? 0) + e.delta);
      max = Math.max(max, [...perRuntime.values()].filter((n) => n > 0).length);
    }
    return max;
  }
}

function jobManifest(name: string, spec: Record<string, unknown>): ImagePullJob {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', metadata: { name, namespace: 'default' },
    spec: { completionPolicy: { type: 'Always' }, ...spec } as ImagePullJob['spec'],
  };
}

describe('ImagePullJob end to end in the sandbox (built-in runtime)', () => {
  const recorder = new PullRecorder();
  let dir: string;
  let sandbox: Sandbox;
  let kubectl: Kubectl | undefined;

  before(async () => {
    recorder.install();
    dir = await mkdtemp(join(tmpdir(), 'kruise-ts-ipj-'));
    sandbox = await startSandbox({
      port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''), logger: log,
      nodes: { count: NODES, imagePullSeconds: PULL_SECONDS },
    });
    if (!kubectlSkipReason()) kubectl = new Kubectl(sandbox.kubeconfigPath, join(dir, 'kubectl-cache'));
  });
  after(async () => {
    await sandbox?.close();
    recorder.uninstall();
    await rm(dir, { recursive: true, force: true });
  });

  const nodeOf = (runtime: BuiltinRuntime): string => {
    const i = sandbox.nodes!.runtimes.indexOf(runtime);
    return sandbox.nodes!.nodes[i]!.name;
  };
  const getJob = (name: string): Promise<ImagePullJob> => sandbox.client.get<ImagePullJob>(resources.imagePullJobs, 'default', name);
  const createJob = (job: ImagePullJob): Promise<ImagePullJob> => sandbox.client.create<ImagePullJob>(resources.imagePullJobs, job);
  const waitCompleted = (name: string, timeoutMs: number): Promise<ImagePullJob> =>
    waitFor(async () => { const j = await getJob(name); return j.status?.completionTime !== undefined ? j : undefined; }, `job ${name} to complete`, timeoutMs);
  const deleteJob = async (name: string): Promise<void> => {
    await sandbox.client.delete(resources.imagePullJobs, 'default', name).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
  };

  it('should pull on at most 2 nodes at once with parallelism 2 and succeed on all 6', async (t) => {
    const image = 'docker.io/library/par:1';
    const job = jobManifest('par', { image, parallelism: 2 });
    if (kubectl) {
      await kubectl.ok(['apply', '-f', '-'], JSON.stringify(job));
    } else {
      t.diagnostic(`${kubectlSkipReason()}: created through the API instead`);
      await createJob(job);
    }
    // Three waves of 2 s pulls.
    await waitCompleted('par', 30_000);
    const status = kubectl
      ? (await kubectl.json<ImagePullJob>(['get', 'imagepulljob', 'par'])).status!
      : (await getJob('par')).status!;
    assert.equal(status.desired, NODES);
    assert.equal(status.succeeded, NODES);
    assert.equal(status.failed, 0);
    assert.equal(status.active, 0);
    assert.equal(status.message, 'job has completed');
    const pulls = recorder.of(image);
    assert.equal(pulls.length, NODES, 'one PullImage per node');
    assert.equal(new Set(pulls.map((p) => p.runtime)).size, NODES, 'on every node');
    assert.ok(pulls.every((p) => p.ok === true));
    assert.equal(recorder.maxNodesAtOnce(image), 2, 'two nodes at once, never more');
    await deleteJob('par');
  });

  it('should list .invalid images in failedNodes after backoffLimit + 1 attempts per node', async () => {
    const image = 'registry.example.invalid/team/app:1';
    await createJob(jobManifest('bad', { image, parallelism: NODES, pullPolicy: { backoffLimit: 1, timeoutSeconds: 30 } }));
    // 2 attempts of 2 s with a 1 s backoff between.
    const job = await waitCompleted('bad', 30_000);
    assert.equal(job.status?.failed, NODES);
    assert.equal(job.status?.succeeded, 0);
    assert.deepEqual([...job.status?.failedNodes ?? []].sort(), sandbox.nodes!.nodes.map((n) => n.name).sort());
    const pulls = recorder.of(image);
    assert.ok(pulls.every((p) => p.ok === false));
    for (const n of sandbox.nodes!.nodes) {
      assert.equal(pulls.filter((p) => nodeOf(p.runtime) === n.name).length, 2, `attempts on ${n.name}`);
    }
    const ni = await sandbox.client.get<NodeImage>(resources.nodeImages, '', 'kruise-ts-node-1');
    const tag = ni.status?.imageStatuses?.['registry.example.invalid/team/app']?.tags.find((x) => x.tag === '1');
    assert.equal(tag?.phase, 'Failed');
    assert.match(tag?.message ?? '', /NOT_FOUND/);
    await deleteJob('bad');
  });

  it('should delete an Always job once ttlSecondsAfterFinished has passed', async () => {
    await createJob(jobManifest('ttl', {
      image: 'docker.io/library/ttl:1', parallelism: NODES,
      // 3 s, not 1: completionTime has whole seconds, so the TTL may run out up to 1 s early.
      completionPolicy: { type: 'Always', ttlSecondsAfterFinished: 3 },
    }));
    const done = await waitCompleted('ttl', 20_000);
    assert.equal(done.status?.succeeded, NODES);
    await waitFor(async () => {
      try {
        await getJob('ttl');
        return false;
      } catch (e) {
        if (isNotFound(e)) return true;
        throw e;
      }
    }, 'the job to be deleted after its TTL', 15_000);
  });

  it('should pull with the job\'s pull secret from the registry that needs a login', async () => {
    const host = 'registry.auth.kruise-ts.test';
    const auth = Buffer.from('kruise:kruise-secret').toString('base64');
    await sandbox.client.create(resources.secrets, {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regcred', namespace: 'default' },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: { [host]: { auth } } })).toString('base64') },
    } as KubeObject);
    // Without the secret the registry refuses (401), so the secret is what makes the difference.
    // Another repository: a NodeImage keeps pull secrets per image, so tags of one repository share them.
    await createJob(jobManifest('nosecret', { image: `${host}/team/other:1`, parallelism: NODES, pullPolicy: { backoffLimit: 0 } }));
    await createJob(jobManifest('secret', { image: `${host}/team/private:1`, parallelism: NODES, pullSecrets: ['regcred'] }));
    const [withSecret, without] = await Promise.all([waitCompleted('secret', 30_000), waitCompleted('nosecret', 30_000)]);
    assert.equal(withSecret.status?.succeeded, NODES, JSON.stringify(withSecret.status));
    assert.equal(without.status?.failed, NODES, JSON.stringify(without.status));
    assert.ok(recorder.of(`${host}/team/other:1`).every((p) => p.ok === false));
    assert.ok(recorder.of(`${host}/team/private:1`).every((p) => p.ok === true));
    await deleteJob('secret');
    await deleteJob('nosecret');
    await sandbox.client.delete(resources.secrets, 'default', 'regcred');
  });

  it('should resume a pull when a node\'s agent is stopped and restarted mid-job', async () => {
    const image = 'docker.io/library/restart:1';
    const node = 'kruise-ts-node-1';
    await createJob(jobManifest('restart', { image, parallelism: NODES }));
    const pulling = await waitFor(async () => {
      const ni = await sandbox.client.get<NodeImage>(resources.nodeImages, '', node);
      const tag = ni.status?.imageStatuses?.['restart']?.tags.find((x) => x.tag === '1');
      return tag?.phase === 'Pulling' ? tag : undefined;
    }, `${node} to report Pulling`, 10_000);
    await sandbox.imagePull!.stopAgent(node);
    assert.equal(sandbox.imagePull!.agent(node)?.running, false);
    // The stopped agent recorded nothing about its cut pull: the status still says Pulling, never Failed.
    const meanwhile = await sandbox.client.get<NodeImage>(resources.nodeImages, '', node);
    const stale = meanwhile.status?.imageStatuses?.['restart']?.tags.find((x) => x.tag === '1');
    assert.equal(stale?.phase, 'Pulling');
    await sandbox.imagePull!.startAgent(node);

    const job = await waitCompleted('restart', 20_000);
    assert.equal(job.status?.succeeded, NODES);
    assert.equal(job.status?.failed, 0);
    const ni = await sandbox.client.get<NodeImage>(resources.nodeImages, '', node);
    const tag = ni.status?.imageStatuses?.['restart']?.tags.find((x) => x.tag === '1');
    assert.equal(tag?.phase, 'Succeeded');
    assert.equal(tag?.startTime, pulling.startTime, 'the new agent resumed the task: same startTime');
    const onNode = recorder.of(image).filter((p) => nodeOf(p.runtime) === node);
    assert.equal(onNode.length, 2, 'the cut pull and the resumed one');
    assert.equal(onNode[0]!.ok, false);
    assert.equal(onNode[1]!.ok, true);
    await deleteJob('restart');
  });

  it('should complete two jobs of one image with one tag owned by both and one transfer per node', async () => {
    const image = 'docker.io/library/twice:1';
    await Promise.all([
      createJob(jobManifest('twice-a', { image, parallelism: NODES })),
      createJob(jobManifest('twice-b', { image, parallelism: 3 })),
    ]);
    const [a, b] = await Promise.all([waitCompleted('twice-a', 30_000), waitCompleted('twice-b', 30_000)]);
    assert.equal(a.status?.succeeded, NODES);
    assert.equal(b.status?.succeeded, NODES);
    const pulls = recorder.of(image);
    for (const n of sandbox.nodes!.nodes) {
      const onNode = pulls.filter((p) => nodeOf(p.runtime) === n.name);
      // The second job joining the tag starts a new round (version + 1, §4.5 step 7): a pull of the first round
      // still in flight is cancelled and the new round pulls; one that had finished makes the new round find the
      // image present. Either way the image arrives once, and nothing fails.
      assert.equal(onNode.filter((p) => p.ok === true).length, 1, `successful PullImage calls on ${n.name}`);
      assert.ok(onNode.every((p) => p.ok === true || p.code === 1 /* CANCELLED */), `${n.name}: ${JSON.stringify(onNode.map((p) => p.code))}`);
    }
    for (const n of sandbox.nodes!.nodes) {
      const ni = await sandbox.client.get<NodeImage>(resources.nodeImages, '', n.name);
      const tag = ni.spec?.images?.['twice']?.tags.find((x) => x.tag === '1');
      assert.deepEqual((tag?.ownerReferences ?? []).map((o) => o.name).sort(), ['twice-a', 'twice-b'], n.name);
      const st = ni.status?.imageStatuses?.['twice']?.tags.find((x) => x.tag === '1');
      assert.equal(st?.phase, 'Succeeded', n.name);
      assert.equal(st?.version, tag?.version, `${n.name}: the status is about the round both jobs own`);
    }
    // A third job joining after the pulls finished starts one more round, which finds the image present.
    const before = pulls.length;
    await createJob(jobManifest('twice-c', { image, parallelism: NODES }));
    const c = await waitCompleted('twice-c', 30_000);
    assert.equal(c.status?.succeeded, NODES);
    assert.equal(recorder.of(image).length, before, 'no PullImage for an image already present (IfNotPresent)');
    for (const name of ['twice-a', 'twice-b', 'twice-c']) await deleteJob(name);
  });

  // Last: it adds a seventh node.
  it('should warm a node added later with a Never job', async () => {
    const image = 'docker.io/library/never:1';
    await createJob(jobManifest('never', { image, parallelism: NODES, completionPolicy: { type: 'Never' } }));
    await waitFor(async () => (await getJob('never')).status?.succeeded === NODES, 'the first 6 nodes to pull', 20_000);
    const added = await sandbox.addNode();
    assert.equal(added.name, `kruise-ts-node-${NODES + 1}`);
    const job = await waitFor(async () => {
      const j = await getJob('never');
      return j.status?.succeeded === NODES + 1 ? j : undefined;
    }, 'the added node to pull', 20_000);
    assert.equal(job.status?.desired, NODES + 1);
    assert.equal(job.status?.completionTime, undefined, 'a Never job never completes');
    const onAdded = recorder.of(image).filter((p) => nodeOf(p.runtime) === added.name);
    assert.equal(onAdded.length, 1);
    const present = await added.cri.imageStatus({ image: { image } });
    assert.ok(present.image, 'the image is on the added node');
    await deleteJob('never');
  });
});

describe('the sandbox without nodes', () => {
  it('should run no image pull coordinator or agents', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kruise-ts-ipj0-'));
    const sandbox = await startSandbox({
      port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''), logger: log,
      nodes: { count: 0 },
    });
    try {
      assert.equal(sandbox.nodes, undefined);
      assert.equal(sandbox.imagePull, undefined);
      await assert.rejects(sandbox.addNode(), /without nodes/);
    } finally {
      await sandbox.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
