/**
 * CloneSet in-place update on a real containerd 1.6 (issue 8): `startSandbox` in-process with its 2 nodes on the
 * testbed's containerd, so the coordinator's CloneSet controller updates Pods whose containers really run. A
 * 2-Pod CloneSet (InPlaceIfPossible) of a busybox image from the local registry that sleeps moves to a second tag
 * of it: the Pods keep their names and UIDs, each container restarted once, and containerd runs the new image
 * (spec §4.7). After close and the testbed's stop nothing of ours is left. Skips, naming what is missing, without
 * root or the Debian packages (`containerd runc docker-registry busybox-static`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { CloneSet } from '../../src/api/cloneset-types.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { Pod } from '../../src/api/pod-types.js';
import { CONTROLLER_REVISION_HASH_LABEL } from '../../src/api/well-known-keys.js';
import { shortHash } from '../../src/coordinator/cloneset/index.js';
import type { CriClient } from '../../src/cri/cri-client.js';
import { mergePatch, resources } from '../../src/kube/index.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';
import { missingPrerequisites, mountsUnder, startSandboxOnContainerd, type ContainerdTestbed, type SandboxOnContainerd } from '../support/containerd/index.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const missing = missingPrerequisites();
const NS = 'default';
const NAME = 'ctd';

function manifest(image: string): CloneSet {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet',
    metadata: { name: NAME, namespace: NS },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: NAME } },
      template: {
        metadata: { labels: { app: NAME } },
        // The host network: containerd here has no CNI.
        spec: {
          hostNetwork: true, terminationGracePeriodSeconds: 2,
          containers: [{ name: 'main', image, command: ['sleep', '3600'] }],
        },
      },
      updateStrategy: { type: 'InPlaceIfPossible', maxUnavailable: 1 },
    },
  };
}

const isReady = (p: Pod): boolean => p.status?.phase === 'Running'
  && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

describe('CloneSet in-place update on a real containerd', { skip: missing.length > 0 ? `missing: ${missing.join(', ')}` : false }, () => {
  let env: SandboxOnContainerd | undefined;
  let testbed: ContainerdTestbed;
  let cri: CriClient;
  let sandbox: Sandbox | undefined;

  before(async () => {
    env = await startSandboxOnContainerd({
      prefix: 'kruise-ts-cs-ctd-', nodes: 2, logger: log,
      testbed: {
        images: [
          { name: 'kcs/busybox', tag: '1', cmd: ['sh', '-c', 'echo one'] },
          { name: 'kcs/busybox', tag: '2', cmd: ['sh', '-c', 'echo two'] },
        ],
      },
    });
    ({ testbed, cri, sandbox } = env);
  });
  after(async () => { await env?.close(); });

  it('should swap the container image of 2 pods in place, keeping their UIDs, and leave nothing behind', async () => {
    const sb = sandbox!;
    const v1 = testbed.ref('kcs/busybox:1');
    const v2 = testbed.ref('kcs/busybox:2');
    const pods = async (): Promise<Pod[]> =>
      (await sb.client.list(resources.pods, { namespace: NS, labelSelector: `app=${NAME}` })).items as unknown as Pod[];
    const getCs = (): Promise<CloneSet> => sb.client.get<CloneSet>(resources.cloneSets, NS, NAME);
    /** The running container of a Pod, as containerd reports it. */
    const runningIn = async (p: Pod) => {
      const id = p.status?.containerStatuses?.[0]?.containerID?.replace(/^containerd:\/\//, '') ?? '';
      assert.ok(id, `${p.metadata.name}: a container id`);
      return (await cri.containerStatus({ containerId: id })).status;
    };

    await sb.client.create(resources.cloneSets, manifest(v1) as unknown as KubeObject);
    const first = await waitFor(async () => {
      const [cs, ps] = await Promise.all([getCs(), pods()]);
      return ps.length === 2 && ps.every(isReady) && cs.status?.readyReplicas === 2 ? ps : undefined;
    }, '2 ready pods on containerd', 90_000);
    for (const p of first) {
      const st = await runningIn(p);
      assert.equal(st?.state, 'CONTAINER_RUNNING');
      assert.equal(st?.image?.image, v1);
    }
    const oldRev = (await getCs()).status!.updateRevision!;

    await mergePatch(sb.client, resources.cloneSets, NS, NAME, {
      spec: { template: { spec: { containers: [{ name: 'main', image: v2, command: ['sleep', '3600'] }] } } },
    });
    const { cs, updated } = await waitFor(async () => {
      const [c, ps] = await Promise.all([getCs(), pods()]);
      const s = c.status;
      return s && s.updateRevision !== oldRev && s.currentRevision === s.updateRevision && s.updatedReplicas === 2
        && s.readyReplicas === 2 && ps.length === 2 && ps.every((p) => isReady(p) && p.status?.containerStatuses?.[0]?.image === v2)
        ? { cs: c, updated: ps } : undefined;
    }, 'the in-place update to finish', 90_000);

    assert.deepEqual(updated.map((p) => [p.metadata.name, p.metadata.uid]).sort(),
      first.map((p) => [p.metadata.name, p.metadata.uid]).sort(), 'names and UIDs kept');
    for (const p of updated) {
      const name = p.metadata.name!;
      assert.equal(p.spec.containers[0]!.image, v2, name);
      assert.equal(p.status?.containerStatuses?.[0]?.restartCount, 1, `${name}: restarted once`);
      assert.equal(p.metadata.labels![CONTROLLER_REVISION_HASH_LABEL], shortHash(cs.status!.updateRevision!), name);
      const before1 = first.find((q) => q.metadata.name === name)!;
      assert.notEqual(p.status?.containerStatuses?.[0]?.imageID, before1.status?.containerStatuses?.[0]?.imageID, `${name}: new imageID`);
      // containerd itself runs the new image in a new container.
      const st = await runningIn(p);
      assert.equal(st?.state, 'CONTAINER_RUNNING', name);
      assert.equal(st?.image?.image, v2, name);
      const image = (await cri.imageStatus({ image: { image: v2 } })).image;
      assert.ok(image, 'containerd holds the new image');
      assert.ok([image.id, ...image.repoDigests].includes(st?.imageRef ?? ''), `${name}: runs ${st?.imageRef}, not ${v2}`);
      assert.notEqual(st?.id, before1.status?.containerStatuses?.[0]?.containerID?.replace(/^containerd:\/\//, ''), `${name}: a new container`);
    }

    await sb.client.delete(resources.cloneSets, NS, NAME);
    await waitFor(async () => (await pods()).length === 0, 'the pods to be gone', 60_000);
    await sb.close();
    sandbox = undefined;
    assert.deepEqual((await cri.listPodSandbox({})).items, [], 'no pod sandbox left in containerd');
    assert.deepEqual((await cri.listContainers({})).containers, [], 'no container left in containerd');
    assert.deepEqual(mountsUnder(testbed.description.baseDir), [], 'no rootfs or shm mount left');
  });
});
