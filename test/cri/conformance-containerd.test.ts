/**
 * The CRI conformance table against a real containerd 1.6 (CRI plugin, runc) pulling from local registries, all
 * started and stopped by `test/support/containerd`. Skips, naming what is missing, where the Debian packages
 * (`containerd runc docker-registry busybox-static`) or root are not there; `.ci/run` installs them.
 */
import assert from 'node:assert/strict';
import { CriClient } from '../../src/cri/index.js';
import {
  missingAuthPrerequisites, missingPrerequisites, startContainerdTestbed,
} from '../support/containerd/index.js';
import type { ConformanceTarget } from './conformance-cases.js';
import { defineConformanceSuite } from './conformance-suite.js';

const CREDENTIALS = { username: 'kruise', password: 'kruise-secret' };
const missing = [...missingPrerequisites(), ...missingAuthPrerequisites()];

defineConformanceSuite('containerd', async () => {
  const testbed = await startContainerdTestbed({
    auth: { user: CREDENTIALS.username, pass: CREDENTIALS.password },
    images: [
      { name: 'kctd/busybox', tag: '1', cmd: ['sh'] },
      // Other commands, so other configs and image ids: containerd's RemoveImage removes every reference of an
      // image id, and removing one of these must not touch kctd/busybox.
      { name: 'kctd/removable', tag: '1', cmd: ['true'] },
      { name: 'kctd/private', tag: '1', cmd: ['sleep', '1'], private: true },
    ],
  });
  const client = new CriClient({ endpoint: testbed.containerd.endpoint, timeoutMs: 30_000, pullImageTimeoutMs: 60_000 });
  const busybox = testbed.images.get('kctd/busybox:1');
  if (busybox === undefined) throw new Error('the busybox test image was not built');
  const target: ConformanceTarget = {
    kind: 'containerd',
    client,
    credentials: CREDENTIALS,
    cgroupParent: testbed.containerd.cgroupParent,
    images: {
      busybox: testbed.ref('kctd/busybox:1'),
      busyboxDigest: busybox.digest,
      busyboxImageId: busybox.imageId,
      removable: testbed.ref('kctd/removable:1'),
      private: testbed.ref('kctd/private:1'),
      missingTag: `${testbed.registry.host}/kctd/busybox:missing`,
      // Port 1 (tcpmux) is closed on these machines: connection refused at once, no DNS involved.
      unreachable: '127.0.0.1:1/kctd/busybox:1',
    },
  };
  return {
    target,
    async close() {
      await client.destroy();
      // Rejects if containerd's cleanup had to leave something; then check the registries' side too.
      await testbed.stop();
      assert.deepEqual(testbed.leftovers(), [], 'nothing of the testbed is left');
    },
  };
}, { skip: missing.length > 0 ? `missing: ${missing.join(', ')}` : undefined });
