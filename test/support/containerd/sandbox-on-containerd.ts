/**
 * A sandbox whose nodes run on the testbed's real containerd, for the end-to-end suites that need one: the testbed
 * (containerd + registry + images), a CRI client to look at containerd directly, and `startSandbox` with every node
 * on that endpoint. `close()` stops all three and checks that nothing of the testbed is left.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { sandboxFeatureGates } from '../../../src/api/feature-gates.js';
import { CriClient } from '../../../src/cri/cri-client.js';
import { startSandbox, type Sandbox } from '../../../src/sandbox/sandbox.js';
import { startContainerdTestbed, type ContainerdTestbed, type StartTestbedOptions } from './testbed.js';

export interface SandboxOnContainerd {
  readonly testbed: ContainerdTestbed;
  /** A client of the testbed's containerd, for asserting what really runs. */
  readonly cri: CriClient;
  readonly sandbox: Sandbox;
  /** Sandbox, client, testbed, in that order; then asserts that the testbed left nothing behind. */
  close(): Promise<void>;
}

export async function startSandboxOnContainerd(o: {
  /** Temporary directory prefix (the kubeconfig goes there). */
  prefix: string;
  nodes: number;
  testbed: StartTestbedOptions;
  logger: Logger;
}): Promise<SandboxOnContainerd> {
  const dir = await mkdtemp(join(tmpdir(), o.prefix));
  let testbed: ContainerdTestbed | undefined;
  let cri: CriClient | undefined;
  let sandbox: Sandbox | undefined;
  const close = async (): Promise<void> => {
    await sandbox?.close();
    await cri?.destroy();
    await testbed?.stop();
    assert.deepEqual(testbed?.leftovers() ?? [], [], 'nothing of the testbed is left');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    testbed = await startContainerdTestbed(o.testbed);
    cri = new CriClient({ endpoint: testbed.containerd.endpoint, timeoutMs: 30_000 });
    sandbox = await startSandbox({
      port: 0, kubeconfigPath: join(dir, 'kubeconfig'), featureGates: sandboxFeatureGates(''), logger: o.logger,
      nodes: { count: o.nodes, criEndpoint: testbed.containerd.endpoint },
    });
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
  return { testbed, cri, sandbox, close };
}
