/**
 * ImagePullJob end to end on a real containerd 1.6 (issue 7): `startSandbox` in-process with its nodes on the
 * testbed's containerd (`--cri-endpoint`), so the coordinator's controllers and each node's agent pull through
 * the real CRI. Jobs pull a busybox test image by tag and another by digest from the local registry, and a third
 * from the htpasswd-protected registry with a `kubernetes.io/dockerconfigjson` pull secret in the job's namespace
 * (while a job for that registry without the secret fails on every node).
 * All succeed, containerd holds the images, and after close and the testbed's stop nothing of ours is left. Skips,
 * naming what is missing, without root, the Debian packages (`containerd runc docker-registry busybox-static`) or
 * a bcrypt tool for the registry's htpasswd.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { ImagePullJob } from '../../src/api/imagepulljob-types.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { CriClient } from '../../src/cri/cri-client.js';
import { resources } from '../../src/kube/index.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { waitFor } from '../support/api-server-harness.js';
import {
  missingAuthPrerequisites, missingPrerequisites, mountsUnder, startSandboxOnContainerd, type ContainerdTestbed, type SandboxOnContainerd,
} from '../support/containerd/index.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const missing = [...missingPrerequisites(), ...missingAuthPrerequisites()];
const NODES = 2;
const AUTH = { user: 'kruise', pass: 'kruise-ctd-secret' };

function jobManifest(name: string, image: string, pullSecrets?: string[], backoffLimit = 1): ImagePullJob {
  return {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', metadata: { name, namespace: 'default' },
    spec: {
      image, parallelism: NODES, completionPolicy: { type: 'Always' },
      pullPolicy: { backoffLimit, timeoutSeconds: 60 },
      ...(pullSecrets ? { pullSecrets } : {}),
    },
  };
}

describe('ImagePullJob end to end on a real containerd', { skip: missing.length > 0 ? `missing: ${missing.join(', ')}` : false }, () => {
  let env: SandboxOnContainerd | undefined;
  let testbed: ContainerdTestbed;
  let cri: CriClient;
  let sandbox: Sandbox | undefined;

  before(async () => {
    env = await startSandboxOnContainerd({
      prefix: 'kruise-ts-ipj-ctd-', nodes: NODES, logger: log,
      testbed: {
        auth: AUTH,
        images: [
          { name: 'kipj/bytag', tag: '1', cmd: ['echo', 'by tag'] },
          { name: 'kipj/bydigest', tag: '1', cmd: ['echo', 'by digest'] },
          { name: 'kipj/private', tag: '1', cmd: ['echo', 'private'], private: true },
          { name: 'kipj/locked', tag: '1', cmd: ['echo', 'locked'], private: true },
        ],
      },
    });
    ({ testbed, cri, sandbox } = env);
  });
  after(async () => { await env?.close(); });

  it('should pull by tag, by digest, and from the registry that needs a login with a pull secret', async () => {
    const sb = sandbox!;
    const byTag = testbed.ref('kipj/bytag:1');
    const byDigest = testbed.ref('kipj/bydigest:1', 'digest');
    const privateRef = testbed.ref('kipj/private:1');
    const authHost = testbed.authRegistry!.host;
    for (const ref of [byTag, byDigest, privateRef]) {
      assert.equal((await cri.imageStatus({ image: { image: ref } })).image, null, `${ref} is not there before`);
    }
    await sb.client.create(resources.secrets, {
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regcred', namespace: 'default' },
      type: 'kubernetes.io/dockerconfigjson',
      data: {
        '.dockerconfigjson': Buffer.from(JSON.stringify({
          auths: { [authHost]: { auth: Buffer.from(`${AUTH.user}:${AUTH.pass}`).toString('base64') } },
        })).toString('base64'),
      },
    } as KubeObject);

    await sb.client.create(resources.imagePullJobs, jobManifest('by-tag', byTag));
    await sb.client.create(resources.imagePullJobs, jobManifest('by-digest', byDigest));
    await sb.client.create(resources.imagePullJobs, jobManifest('private', privateRef, ['regcred']));
    // The same registry without the secret: refused, so the secret is what let the other job in.
    await sb.client.create(resources.imagePullJobs, jobManifest('locked', testbed.ref('kipj/locked:1'), undefined, 0));
    for (const name of ['by-tag', 'by-digest', 'private']) {
      const job = await waitFor(async () => {
        const j = await sb.client.get<ImagePullJob>(resources.imagePullJobs, 'default', name);
        return j.status?.completionTime !== undefined ? j : undefined;
      }, `job ${name} to complete`, 60_000);
      assert.equal(job.status?.succeeded, NODES, `${name}: ${JSON.stringify(job.status)}`);
      assert.equal(job.status?.failed, 0, name);
    }
    const locked = await waitFor(async () => {
      const j = await sb.client.get<ImagePullJob>(resources.imagePullJobs, 'default', 'locked');
      return j.status?.completionTime !== undefined ? j : undefined;
    }, 'job locked to complete', 60_000);
    assert.equal(locked.status?.failed, NODES, JSON.stringify(locked.status));
    assert.deepEqual([...locked.status?.failedNodes ?? []].sort(), ['kruise-ts-node-1', 'kruise-ts-node-2']);
    // What the nodes pulled is in containerd, digests included.
    const tagged = await cri.imageStatus({ image: { image: byTag } });
    assert.ok(tagged.image, byTag);
    const digested = await cri.imageStatus({ image: { image: byDigest } });
    assert.ok(digested.image?.repoDigests.some((d) => d === byDigest), JSON.stringify(digested.image?.repoDigests));
    assert.ok((await cri.imageStatus({ image: { image: privateRef } })).image, privateRef);

    for (const name of ['by-tag', 'by-digest', 'private', 'locked']) await sb.client.delete(resources.imagePullJobs, 'default', name);
    await sb.client.delete(resources.secrets, 'default', 'regcred');

    // Close: the agents and the nodes leave no pod sandbox, container or mount in containerd.
    await sb.close();
    sandbox = undefined;
    assert.deepEqual((await cri.listPodSandbox({})).items, [], 'no pod sandbox left in containerd');
    assert.deepEqual((await cri.listContainers({})).containers, [], 'no container left in containerd');
    assert.deepEqual(mountsUnder(testbed.description.baseDir), [], 'no rootfs or shm mount left');
  });
});
