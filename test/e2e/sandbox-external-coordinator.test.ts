/**
 * The sandbox without its coordinator (`coordinator: false`, `kruise-ts sandbox --no-coordinator`): the API
 * server, the nodes, their agents and the admission webhooks run, but nothing reconciles a CloneSet until a
 * coordinator in another process does (here: the one `kruise-ts coordinator` builds, on the sandbox's kubeconfig).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { CloneSet } from '../../src/api/cloneset-types.js';
import { KruiseError } from '../../src/api/errors.js';
import { sandboxFeatureGates } from '../../src/api/feature-gates.js';
import type { Pod } from '../../src/api/pod-types.js';
import { buildRole } from '../../src/cli/runtime-role.js';
import { KubeApiError, resources } from '../../src/kube/index.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const NS = 'default';
/**
 * How long a CloneSet is watched for a reconcile that must not come. With its coordinator, this sandbox has both
 * Pods of a 2-replica CloneSet about 0.2 s after the create; a negative needs a window, and this one is several
 * times that.
 */
const SETTLE_MS = 1500;

function cloneSet(name: string, replicas: number, templateApp = name): CloneSet {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: templateApp } }, spec: { containers: [{ name: 'main', image: 'nginx:alpine' }] } },
    },
  };
}

const isReady = (p: Pod): boolean => p.status?.phase === 'Running'
  && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

describe('sandbox with coordinator: false', () => {
  let dir: string;
  let sandbox: Sandbox;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kruise-ts-nocoord-'));
    sandbox = await startSandbox({
      port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''), logger: log, coordinator: false,
      nodes: { count: 2, imagePullSeconds: 0.2 },
    });
  });
  after(async () => {
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const pods = async (app: string): Promise<Pod[]> =>
    (await sandbox.client.list(resources.pods, { namespace: NS, labelSelector: `app=${app}` })).items as unknown as Pod[];

  it('runs the nodes\' agents but no coordinator, and will not restart one it does not own', async () => {
    assert.ok(sandbox.imagePull, 'the node side runs');
    assert.equal(sandbox.imagePull.coordinator, undefined);
    for (const node of sandbox.nodes!.nodes) assert.equal(sandbox.imagePull.agent(node.name)?.running, true, `the agent of ${node.name}`);
    await assert.rejects(sandbox.imagePull.restartCoordinator(), (e: unknown) => KruiseError.is(e) && e.reason === 'Invalid' && e.fieldPath === 'runCoordinator');
  });

  it('still defaults and validates CloneSets through its webhooks', async () => {
    const created = await sandbox.client.create<CloneSet>(resources.cloneSets, cloneSet('defaulted', 0));
    assert.equal(created.spec.revisionHistoryLimit, 10, 'the mutating webhook defaulted the CloneSet');
    await assert.rejects(
      sandbox.client.create(resources.cloneSets, cloneSet('mismatched', 1, 'other')),
      (e: unknown) => e instanceof KubeApiError && e.code === 422 && /selector/.test(e.message),
    );
  });

  it('leaves a CloneSet unreconciled until an external coordinator runs, which then brings its Pods up', async () => {
    await sandbox.client.create(resources.cloneSets, cloneSet('waiting', 2));
    await sleep(SETTLE_MS);
    assert.deepEqual(await pods('waiting'), [], 'no Pod without a coordinator');
    const untouched = await sandbox.client.get<CloneSet>(resources.cloneSets, NS, 'waiting');
    assert.equal(untouched.status?.observedGeneration, undefined, 'no status written without a coordinator');

    // What `kruise-ts coordinator --kubeconfig <the sandbox's> --no-leader-elect` builds; no --webhook-port: the
    // sandbox keeps serving the webhooks.
    const built = await buildRole('coordinator', {
      kubeconfig: sandbox.kubeconfigPath, healthPort: 0, leaderElect: false, featureGates: sandboxFeatureGates('').toString(),
    }, { inClusterHost: undefined, podName: 'external-coordinator', nodeName: undefined }, log);
    const stop = new AbortController();
    const done = built.run(stop.signal);
    try {
      await waitFor(async () => {
        const [cs, ps] = await Promise.all([sandbox.client.get<CloneSet>(resources.cloneSets, NS, 'waiting'), pods('waiting')]);
        return ps.length === 2 && ps.every(isReady) && cs.status?.readyReplicas === 2 && cs.status.observedGeneration === cs.metadata.generation;
      }, 'the external coordinator to bring up 2 Ready Pods', 30_000);
    } finally {
      stop.abort();
      await done;
    }
  });
});
