/**
 * The real-runtime harness itself (test/support/containerd): reproducible images, and no leftovers however a test
 * process ends.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CriClient } from '../../src/cri/index.js';
import {
  buildBusyboxImage, buildBusyboxLayer, missingPrerequisites, startContainerdTestbed, testbedLeftovers, writeTar,
  type TestbedDescription,
} from '../support/containerd/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const missing = missingPrerequisites();
const skipReal = missing.length > 0 ? `missing: ${missing.join(', ')}` : undefined;

describe('test images', { concurrency: false }, () => {
  let dir = '';
  let fakeBusybox = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kctd-img-'));
    // Any file stands in for busybox here: only the bytes matter, and busybox-static may not be installed.
    fakeBusybox = join(dir, 'busybox');
    await writeFile(fakeBusybox, Buffer.from('not really busybox\n'.repeat(4096)));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the same binary gives the same layer, config and manifest digests on every build', async () => {
    const a = await buildBusyboxImage({ name: 'kctd/x', tag: '1', layer: await buildBusyboxLayer(fakeBusybox) });
    const b = await buildBusyboxImage({ name: 'kctd/x', tag: '1', layer: await buildBusyboxLayer(fakeBusybox) });
    assert.equal(a.digest, b.digest);
    assert.equal(a.imageId, b.imageId);
    assert.equal(a.layers[0]?.digest, b.layers[0]?.digest);
  });

  it('images that differ in cmd share the layer and have different ids', async () => {
    const layer = await buildBusyboxLayer(fakeBusybox);
    const a = await buildBusyboxImage({ name: 'kctd/x', tag: '1', cmd: ['sh'], layer });
    const b = await buildBusyboxImage({ name: 'kctd/x', tag: '1', cmd: ['true'], layer });
    assert.equal(a.layers[0]?.digest, b.layers[0]?.digest);
    assert.notEqual(a.imageId, b.imageId);
  });

  it('GNU tar reads our archives: directories, files with modes, symlinks, long paths', async () => {
    {
      const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/file`;
      const tar = writeTar([
        { type: 'dir', path: 'bin' },
        { type: 'file', path: 'bin/busybox', mode: 0o755, data: Buffer.from('#!/bin/true\n') },
        { type: 'symlink', path: 'bin/sh', target: 'busybox' },
        { type: 'file', path: long, data: Buffer.alloc(700, 1) },
      ]);
      await writeFile(join(dir, 'l.tar'), tar);
      const r = spawnSync('tar', ['-tvf', join(dir, 'l.tar')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0] ?? '', /^drwxr-xr-x 0\/0 .* bin\/$/);
      assert.match(lines[1] ?? '', /^-rwxr-xr-x 0\/0 +12 1970-01-01 00:00 bin\/busybox$/);
      assert.match(lines[2] ?? '', /^lrwxrwxrwx 0\/0 .* bin\/sh -> busybox$/);
      assert.match(lines[3] ?? '', new RegExp(`^-rw-r--r-- 0/0 +700 .* ${long}$`));
    }
  });
});

describe('the containerd testbed', { concurrency: false, skip: skipReal }, () => {
  it('stop() removes a pod a test left running and leaves nothing behind', async () => {
    const testbed = await startContainerdTestbed({ images: [{ name: 'kctd/busybox', tag: '1' }] });
    let stopped = false;
    try {
      const client = new CriClient({ endpoint: testbed.containerd.endpoint, timeoutMs: 30_000 });
      const image = testbed.ref('kctd/busybox:1');
      await client.pullImage({ image: { image } });
      const sandboxConfig = {
        metadata: { name: 'left', uid: 'left', namespace: 'kctd' },
        linux: { cgroupParent: testbed.containerd.cgroupParent, securityContext: { namespaceOptions: { network: 'NODE' as const } } },
      };
      const { podSandboxId } = await client.runPodSandbox({ config: sandboxConfig });
      const { containerId } = await client.createContainer({
        podSandboxId, sandboxConfig, config: { metadata: { name: 'c' }, image: { image }, command: ['sleep', 'infinity'] },
      });
      await client.startContainer({ containerId });
      await client.destroy();
      const report = await testbed.stop();
      stopped = true;
      assert.equal(report.sandboxesRemoved, 1);
      assert.deepEqual(report.leaks, []);
      assert.deepEqual(testbed.leftovers(), []);
    } finally {
      if (!stopped) await testbed.stop();
    }
  });

  for (const mode of ['throw', 'exit', 'sigterm'] as const) {
    it(`a test process that ends by ${mode === 'sigterm' ? 'SIGTERM' : mode} with a pod running leaves nothing behind`, async () => {
      const child = spawn(process.execPath, [join(here, 'fixtures', 'abandoned-testbed.js')], {
        env: { ...process.env, KCTD_ABANDON: mode }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const description = await new Promise<TestbedDescription>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          const line = stdout.split('\n')[0];
          if (stdout.includes('\n') && line !== undefined) resolve(JSON.parse(line) as TestbedDescription);
        });
        void exited.then(() => reject(new Error(`the child ended before it was ready: ${stderr}`)));
      });
      if (mode === 'sigterm') child.kill('SIGTERM');
      await exited;
      assert.deepEqual(testbedLeftovers(description), [], stderr);
    });
  }
});
