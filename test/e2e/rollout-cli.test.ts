/**
 * `kruise-ts rollout status|pause|resume|undo cloneset/NAME` as a user runs them: the sandbox (3 nodes, built-in
 * runtime, 0.2 s pulls) runs in this process, the CLI as a child process against its kubeconfig. The steps share
 * one CloneSet and run in order.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { CloneSet } from '../../src/api/cloneset-types.js';
import { sandboxFeatureGates } from '../../src/api/feature-gates.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { Pod } from '../../src/api/pod-types.js';
import { CONTROLLER_REVISION_HASH_LABEL } from '../../src/api/well-known-keys.js';
import { mergePatchFor, parseCloneSetRef, previousRevision, revisionTemplate, rolloutView } from '../../src/cli/rollout-run.js';
import type { ControllerRevision } from '../../src/coordinator/cloneset/revision.js';
import { mergePatch, resources } from '../../src/kube/index.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';
import { exitOf, startCli } from '../support/cli-process.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const NS = 'default';
const NAME = 'web';

const isReady = (p: Pod): boolean => p.status?.phase === 'Running'
  && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

describe('kruise-ts rollout (CloneSet)', () => {
  let dir: string;
  let sandbox: Sandbox;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kruise-ts-rollout-'));
    sandbox = await startSandbox({
      port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''), logger: log,
      nodes: { count: 3, imagePullSeconds: 0.2 },
    });
  });
  after(async () => {
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs the CLI to its end; a run that outlives `timeoutMs` is killed and fails the test. */
  async function cli(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const run = startCli([...args, '--kubeconfig', sandbox.kubeconfigPath]);
    const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
    try {
      const code = await exitOf(run.child);
      return { code, stdout: run.stdout(), stderr: run.stderr() };
    } finally {
      clearTimeout(timer);
    }
  }
  const getCs = (): Promise<CloneSet> => sandbox.client.get<CloneSet>(resources.cloneSets, NS, NAME);
  const setImage = (image: string): Promise<KubeObject> => mergePatch(sandbox.client, resources.cloneSets, NS, NAME, {
    spec: { template: { spec: { containers: [{ name: 'nginx', image }] } } },
  });
  const listPods = async (): Promise<Pod[]> => {
    const list = await sandbox.client.list(resources.pods, { namespace: NS, labelSelector: `app=${NAME}` });
    return (list.items as unknown as Pod[]).filter((p) => !p.metadata.deletionTimestamp);
  };
  /** name → [uid, image, revision label]: what an update changes. */
  const podStates = async (): Promise<Map<string, string[]>> => new Map((await listPods()).map((p) => [p.metadata.name!, [
    p.metadata.uid!, p.spec.containers[0]!.image!, p.metadata.labels![CONTROLLER_REVISION_HASH_LABEL]!,
  ]]));

  it('should exit 0 from rollout status --watch once a CloneSet update has completed', async () => {
    await sandbox.client.create(resources.cloneSets, {
      apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet',
      metadata: { name: NAME, namespace: NS },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: NAME } },
        template: { metadata: { labels: { app: NAME } }, spec: { containers: [{ name: 'nginx', image: 'nginx:alpine' }] } },
        updateStrategy: { type: 'InPlaceIfPossible', maxUnavailable: 1 },
      },
    } as unknown as KubeObject);
    const created = await cli(['rollout', 'status', `cloneset/${NAME}`, '--watch', '--timeout', '60s']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /successfully rolled out/);

    await setImage('nginx:1.25');
    const updated = await cli(['rollout', 'status', `cloneset/${NAME}`, '-n', NS, '--watch', '--timeout', '60s']);
    assert.equal(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, /successfully rolled out/);
    assert.match(updated.stdout, /revision web-\w+ \(update, current\): 3 pods, 3 ready/);
    const pods = await listPods();
    assert.equal(pods.length, 3);
    assert.ok(pods.every((p) => p.spec.containers[0]!.image === 'nginx:1.25' && isReady(p)), 'every pod updated and ready');
    const cs = await getCs();
    assert.equal(cs.status!.currentRevision, cs.status!.updateRevision);

    const once = await cli(['rollout', 'status', 'cloneset', NAME]);
    assert.equal(once.code, 0, 'a complete rollout exits 0 without --watch too');
  });

  it('should exit 2 for another kind or a CloneSet that does not exist', async () => {
    const kind = await cli(['rollout', 'status', 'deployment/web']);
    assert.equal(kind.code, 2);
    assert.match(kind.stderr, /only clonesets/);
    const missing = await cli(['rollout', 'pause', 'cloneset/nope']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /"nope" not found/);
  });

  it('should change no pod while paused, time out status, and finish the update on resume', async () => {
    const paused = await cli(['rollout', 'pause', `cloneset/${NAME}`]);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /cloneset\.apps\.kruise\.io\/web paused/);
    assert.equal((await getCs()).spec.updateStrategy?.paused, true);

    const before2 = await podStates();
    const oldRev = (await getCs()).status!.updateRevision!;
    await setImage('nginx:1.26');
    await waitFor(async () => {
      const cs = await getCs();
      return cs.status?.observedGeneration === cs.metadata.generation && cs.status?.updateRevision !== oldRev;
    }, 'the controller to see the new template');
    await sleep(1500); // what an unpaused CloneSet would need to start updating the pods
    assert.deepEqual(await podStates(), before2, 'no pod changed while paused');

    const notDone = await cli(['rollout', 'status', `cloneset/${NAME}`]);
    assert.equal(notDone.code, 1, 'incomplete without --watch');
    assert.match(notDone.stdout, /0 out of 3 new pods have been updated, paused/);
    const timedOut = await cli(['rollout', 'status', `cloneset/${NAME}`, '--watch', '--timeout', '2s']);
    assert.equal(timedOut.code, 1, 'timed out');
    assert.match(timedOut.stderr, /timed out/);

    const resumed = await cli(['rollout', 'resume', `cloneset/${NAME}`]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resumed/);
    const done = await cli(['rollout', 'status', `cloneset/${NAME}`, '--watch', '--timeout', '60s']);
    assert.equal(done.code, 0, done.stderr);
    const after2 = await listPods();
    assert.ok(after2.every((p) => p.spec.containers[0]!.image === 'nginx:1.26' && isReady(p)), 'updated after resume');
    assert.deepEqual(after2.map((p) => p.metadata.uid).sort(), [...before2.values()].map((v) => v[0]).sort(), 'in place');
  });

  it('should bring the previous image back in place with rollout undo', async () => {
    const before3 = await podStates();
    const undone = await cli(['rollout', 'undo', `cloneset/${NAME}`]);
    assert.equal(undone.code, 0, undone.stderr);
    assert.match(undone.stdout, /rolled back to revision \d+ \(web-\w+\)/);
    assert.equal((await getCs()).spec.template.spec.containers[0]!.image, 'nginx:1.25');

    const done = await cli(['rollout', 'status', `cloneset/${NAME}`, '--watch', '--timeout', '60s']);
    assert.equal(done.code, 0, done.stderr);
    const pods = await listPods();
    assert.ok(pods.every((p) => p.spec.containers[0]!.image === 'nginx:1.25' && isReady(p)), 'previous image back');
    assert.deepEqual(pods.map((p) => p.metadata.uid).sort(), [...before3.values()].map((v) => v[0]).sort(), 'same pods: in place');
  });
});

describe('rollout helpers', () => {
  const cs = (spec: Partial<CloneSet['spec']>, status: CloneSet['status'], generation = 2): CloneSet => ({
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', metadata: { name: 'c', uid: 'u1', generation },
    spec: { replicas: 4, selector: {}, template: { spec: { containers: [] } }, ...spec }, status,
  } as unknown as CloneSet);
  const status = (o: Record<string, unknown>): CloneSet['status'] => ({
    observedGeneration: 2, replicas: 4, readyReplicas: 4, updatedReplicas: 4, updatedReadyReplicas: 4,
    currentRevision: 'c-1', updateRevision: 'c-1', ...o,
  } as unknown as CloneSet['status']);

  it('should call a rollout complete only when observed, updated and ready up to replicas - partition', () => {
    assert.equal(rolloutView(cs({}, status({})), []).complete, true);
    assert.equal(rolloutView(cs({}, status({ observedGeneration: 1 })), []).complete, false, 'spec not observed');
    assert.equal(rolloutView(cs({}, status({ updatedReadyReplicas: 3 })), []).complete, false, 'one updated pod not ready');
    assert.equal(rolloutView(cs({}, status({ currentRevision: 'c-0' })), []).complete, false, 'partition 0 needs current == update');
    const partitioned = status({ updatedReplicas: 2, updatedReadyReplicas: 2, currentRevision: 'c-0' });
    assert.equal(rolloutView(cs({ updateStrategy: { partition: '50%' } }, partitioned), []).complete, true, '50% of 4 = 2 kept back');
    assert.equal(rolloutView(cs({ updateStrategy: { partition: 1 } }, partitioned), []).complete, false, '3 should be updated');
  });

  it('should accept cloneset/NAME and cloneset NAME and refuse other kinds', () => {
    assert.equal(parseCloneSetRef('cloneset/a', undefined), 'a');
    assert.equal(parseCloneSetRef('clonesets.apps.kruise.io', 'a'), 'a');
    assert.throws(() => parseCloneSetRef('deployment/a', undefined), /only clonesets/);
    assert.throws(() => parseCloneSetRef('cloneset', undefined), /name is required/);
  });

  it('should pick the highest revision below the update revision among the CloneSet\'s own', () => {
    const rev = (name: string, revision: number, uid = 'u1'): ControllerRevision => ({
      apiVersion: 'apps/v1', kind: 'ControllerRevision', revision,
      metadata: { name, ownerReferences: [{ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', name: 'c', uid, controller: true }] },
      data: { spec: { template: { $patch: 'replace', spec: { containers: [{ name: 'a', image: name }] } } } },
    });
    const c = cs({}, status({ updateRevision: 'c-3' }));
    const revs = [rev('c-1', 1), rev('c-2', 2), rev('c-3', 3), rev('other', 2.5, 'u2'), rev('c-4', 4)];
    assert.equal(previousRevision(c, revs)?.metadata.name, 'c-2');
    assert.equal(previousRevision(c, [rev('c-3', 3)]), undefined);
    assert.deepEqual(revisionTemplate(rev('c-2', 2)), { spec: { containers: [{ name: 'a', image: 'c-2' }] } }, '$patch dropped');
  });

  it('should null the keys only the current template has in the undo merge patch', () => {
    assert.deepEqual(
      mergePatchFor({ metadata: { labels: { a: '1', b: '2' } }, spec: { nodeSelector: { x: 'y' }, containers: [1] } },
        { metadata: { labels: { a: '1' } }, spec: { containers: [2] } }),
      { metadata: { labels: { a: '1', b: null } }, spec: { containers: [2], nodeSelector: null } },
    );
  });
});
