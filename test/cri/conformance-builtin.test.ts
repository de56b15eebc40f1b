/**
 * The CRI conformance table against the sandbox's built-in runtime, served over a unix socket by
 * `serveBuiltinRuntime` and reached with the same typed CriClient as containerd. Image references use the same
 * registry host naming as the containerd run (`127.0.0.1:PORT/kctd/...`); the built-in registry models them, so no
 * registry process is needed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CriClient } from '../../src/cri/index.js';
import { BuiltinRegistry } from '../../src/sandbox/cri/builtin-registry.js';
import { BuiltinRuntime } from '../../src/sandbox/cri/builtin-runtime.js';
import { serveBuiltinRuntime } from '../../src/sandbox/cri/grpc-server.js';
import type { ConformanceTarget } from './conformance-cases.js';
import { defineConformanceSuite } from './conformance-suite.js';

const CREDENTIALS = { username: 'kruise', password: 'kruise-secret' };
const OPEN_REGISTRY = '127.0.0.1:5000';
const AUTH_REGISTRY = '127.0.0.1:5001';

defineConformanceSuite('builtin', async () => {
  // Short: unix socket paths must fit in 108 bytes.
  const dir = await mkdtemp('/tmp/kbcri-');
  const registry = new BuiltinRegistry({
    privateRegistries: { [AUTH_REGISTRY]: { ...CREDENTIALS } },
    // About the size of the real busybox test image: pulls take the latency plus a few ms.
    defaultSizeBytes: () => 1024 * 1024,
  });
  const runtime = new BuiltinRuntime({ registry });
  const server = await serveBuiltinRuntime({ socketPath: join(dir, 'cri.sock'), runtime });
  const client = new CriClient({ endpoint: server.address, timeoutMs: 30_000, pullImageTimeoutMs: 60_000 });
  const busybox = `${OPEN_REGISTRY}/kctd/busybox:1`;
  // What the registry will serve for the tag: the digest a `repo@digest` pull must name.
  const content = registry.inspect(busybox);
  const target: ConformanceTarget = {
    kind: 'builtin',
    client,
    credentials: CREDENTIALS,
    images: {
      busybox,
      busyboxDigest: content.manifestDigest,
      busyboxImageId: content.imageId,
      removable: `${OPEN_REGISTRY}/kctd/removable:1`,
      private: `${AUTH_REGISTRY}/kctd/private:1`,
      missingTag: `${OPEN_REGISTRY}/kctd/busybox:missing`,
      // The built-in registry models every host as reachable but `.invalid` ones.
      unreachable: 'unreachable.invalid/kctd/busybox:1',
    },
  };
  return {
    target,
    async close() {
      await client.destroy();
      await server.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
