/**
 * `kruise-ts sandbox --no-coordinator` as its help tells a user to use it: the sandbox runs without the
 * coordinator's controllers, and `kruise-ts coordinator --kubeconfig <its kubeconfig> --no-leader-elect
 * --health-port 0 --webhook-port 0` started beside it reconciles and takes the webhooks over.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CloneSet } from '../../src/api/cloneset-types.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { Pod } from '../../src/api/pod-types.js';
import { VERSION } from '../../src/api/version.js';
import { MUTATING_CONFIGURATION_NAME } from '../../src/coordinator/admission/index.js';
import { loadKubeConfig, makeClient } from '../../src/kube/client-config.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { resources, type ResourceRef } from '../../src/kube/index.js';
import { waitFor } from '../support/api-server-harness.js';
import { exitOf, startCli, type RunningCli } from '../support/cli-process.js';

const MUTATING: ResourceRef = {
  group: 'admissionregistration.k8s.io', version: 'v1', plural: 'mutatingwebhookconfigurations', kind: 'MutatingWebhookConfiguration', namespaced: false,
};

function cloneSet(name: string, replicas: number): CloneSet {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'nginx:alpine' }] } },
    },
  };
}

/** The port of the first webhook's clientConfig.url. */
async function webhookPort(client: KubeClient): Promise<string | undefined> {
  const cfg = await client.get<KubeObject & { webhooks?: { clientConfig?: { url?: string } }[] }>(MUTATING, '', MUTATING_CONFIGURATION_NAME);
  const url = cfg.webhooks?.[0]?.clientConfig?.url;
  return url === undefined ? undefined : new URL(url).port;
}

describe('kruise-ts sandbox --no-coordinator', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'kruise-ts-nocoord-cli-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('documents the flag and the coordinator command to run beside it', async () => {
    const run = startCli(['sandbox', '--help']);
    assert.equal(await exitOf(run.child), 0, run.stderr());
    const help = run.stdout().replace(/\s+/g, ' ');
    assert.match(help, /--no-coordinator/);
    assert.match(help, /kruise-ts coordinator --kubeconfig/);
  });

  it('leaves reconciling to a `kruise-ts coordinator` started beside it, which takes the webhooks over', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    const sandbox: RunningCli = startCli([
      'sandbox', '--no-coordinator', '--port', '0', '--kubeconfig', kubeconfig, '--nodes', '1', '--image-pull-seconds', '0.2', '--log-level', 'info',
    ]);
    let coordinator: RunningCli | undefined;
    let client: KubeClient | undefined;
    try {
      await waitFor(() => /^kruise-ts sandbox ready: /m.test(sandbox.stdout()), 'the ready line', 20_000);
      assert.match(sandbox.stderr(), /"coordinator":"external"/);
      client = makeClient({ kubeConfig: await loadKubeConfig({ kubeconfigPath: kubeconfig }), role: 'cli', version: VERSION });
      const sandboxPort = await webhookPort(client);
      await client.create(resources.cloneSets, cloneSet('before', 1));

      coordinator = startCli([
        'coordinator', '--kubeconfig', kubeconfig, '--no-leader-elect', '--health-port', '0', '--webhook-port', '0', '--log-level', 'warn',
      ]);
      const c = client;
      await waitFor(async () => {
        const [cs, list] = await Promise.all([
          c.get<CloneSet>(resources.cloneSets, 'default', 'before'),
          c.list(resources.pods, { namespace: 'default', labelSelector: 'app=before' }),
        ]);
        const pods = list.items as unknown as Pod[];
        return pods.length === 1 && pods[0]!.status?.phase === 'Running' && cs.status?.readyReplicas === 1;
      }, 'the coordinator to bring the CloneSet\'s Pod up', 30_000);
      const takenOver = await webhookPort(c);
      assert.ok(takenOver !== undefined && takenOver !== sandboxPort, `the webhooks point at the coordinator (${sandboxPort} → ${takenOver})`);
      const defaulted = await c.create<CloneSet>(resources.cloneSets, cloneSet('after', 0));
      assert.equal(defaulted.spec.revisionHistoryLimit, 10, 'the coordinator\'s webhook defaulted it');
    } finally {
      client?.close();
      coordinator?.child.kill('SIGTERM');
      if (coordinator) assert.equal(await exitOf(coordinator.child), 0, coordinator.stderr());
      sandbox.child.kill('SIGTERM');
    }
    assert.equal(await exitOf(sandbox.child), 0, sandbox.stderr());
  });
});
