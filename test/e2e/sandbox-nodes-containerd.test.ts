/**
 * `kruise-ts sandbox --cri-endpoint` on a real containerd 1.6 (runc, local registry, offline busybox images, all
 * from test/support/containerd): the nodes report containerd as their runtime, busybox pods from the local registry
 * run and become Ready on their node, a deleted pod's sandbox leaves containerd, and after SIGTERM containerd holds
 * no sandbox, container or mount of ours. Skips, naming what is missing, without root, the Debian packages
 * (`containerd runc docker-registry busybox-static`) or kubectl.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriClient } from '../../src/cri/cri-client.js';
import { SANDBOX_NODE_LABEL } from '../../src/sandbox/node/sandbox-nodes.js';
import { waitFor } from '../support/api-server-harness.js';
import { missingPrerequisites, mountsUnder, startContainerdTestbed, type ContainerdTestbed } from '../support/containerd/index.js';
import { Kubectl, kubectlSkipReason } from '../support/kubectl.js';
import { exitOf, startCli, type RunningCli as Running } from '../support/cli-process.js';

const missing = [...missingPrerequisites(), ...(kubectlSkipReason() ? [kubectlSkipReason()!] : [])];




/** A busybox pod on the host network (containerd here has no CNI) that sleeps. */
function podManifest(name: string, image: string): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
    spec: {
      hostNetwork: true, terminationGracePeriodSeconds: 2,
      containers: [{ name: 'main', image, command: ['sleep', '3600'] }],
    },
  });
}

describe('kruise-ts sandbox on a real containerd', { skip: missing.length > 0 ? `missing: ${missing.join(', ')}` : false }, () => {
  let testbed: ContainerdTestbed;
  let cri: CriClient;
  let dir: string;
  let run: Running | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kruise-ts-nodes-ctd-'));
    testbed = await startContainerdTestbed({ images: [{ name: 'kctd/busybox', tag: '1', cmd: ['sh'] }] });
    cri = new CriClient({ endpoint: testbed.containerd.endpoint, timeoutMs: 30_000 });
  });
  after(async () => {
    if (run && run.child.exitCode === null) {
      run.child.kill('SIGKILL');
      await exitOf(run.child);
    }
    await cri?.destroy();
    await testbed?.stop();
    assert.deepEqual(testbed?.leftovers() ?? [], [], 'nothing of the testbed is left');
    await rm(dir, { recursive: true, force: true });
  });

  it('should run busybox pods on containerd and leave nothing behind after SIGTERM', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    run = startCli(['sandbox', '--port', '0', '--kubeconfig', kubeconfig, '--nodes', '2', '--cri-endpoint', testbed.containerd.endpoint, '--log-level', 'warn']);
    await waitFor(() => /sandbox ready/.test(run!.stdout()) || run!.child.exitCode !== null, 'the ready line', 60_000);
    assert.match(run.stdout(), /sandbox ready/, run.stderr());
    const k = new Kubectl(kubeconfig, join(dir, 'cache'));

    const runtimes = await k.ok(['get', 'nodes', '-o', 'jsonpath={.items[*].status.nodeInfo.containerRuntimeVersion}']);
    for (const v of runtimes.split(' ')) assert.match(v, /^containerd:\/\/1\./);
    const ready = await k.ok(['get', 'nodes', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}']);
    assert.equal(ready, 'True True');

    const image = testbed.ref('kctd/busybox:1');
    for (const name of ['bb1', 'bb2']) await k.ok(['apply', '-f', '-'], podManifest(name, image));
    await k.ok(['wait', '--for=condition=Ready', 'pod/bb1', 'pod/bb2', '--timeout=90s']);
    const placed = await k.ok(['get', 'pods', 'bb1', 'bb2', '-o', 'jsonpath={.items[*].spec.nodeName}']);
    assert.deepEqual(placed.split(' ').sort(), ['kruise-ts-node-1', 'kruise-ts-node-2']);

    // Each node labels its sandboxes with its name: one running sandbox per node, with a running container.
    for (const node of ['kruise-ts-node-1', 'kruise-ts-node-2']) {
      const { items } = await cri.listPodSandbox({ filter: { labelSelector: { [SANDBOX_NODE_LABEL]: node }, state: { state: 'SANDBOX_READY' } } });
      assert.equal(items.length, 1, node);
    }
    const running = await cri.listContainers({ filter: { state: { state: 'CONTAINER_RUNNING' } } });
    assert.equal(running.containers.length, 2);

    await k.ok(['delete', 'pod', 'bb1', '--timeout=60s']);
    await waitFor(async () => (await cri.listContainers({ filter: { state: { state: 'CONTAINER_RUNNING' } } })).containers.length === 1, 'bb1\'s container to stop', 30_000);
    await waitFor(async () => (await cri.listPodSandbox({})).items.filter((s) => s?.metadata?.name === 'bb1').length === 0, 'bb1\'s sandbox to be removed', 30_000);

    run.child.kill('SIGTERM');
    assert.equal(await exitOf(run.child), 0, run.stderr());
    assert.deepEqual((await cri.listPodSandbox({})).items, [], 'no pod sandbox left in containerd');
    assert.deepEqual((await cri.listContainers({})).containers, [], 'no container left in containerd');
    assert.deepEqual(mountsUnder(testbed.description.baseDir), [], 'no rootfs or shm mount left');
  });
});
