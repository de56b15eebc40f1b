/**
 * `kruise-ts sandbox` as a user runs it (what `npm start` runs): it prints the ready line, kubectl works with the
 * printed KUBECONFIG, bad flags fail with a clear message, and SIGTERM stops it cleanly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/api-server-harness.js';
import { Kubectl, kubectlSkipReason } from '../support/kubectl.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Running { child: ChildProcess; stdout: () => string; stderr: () => string }

function startCli(args: string[]): Running {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  return { child, stdout: () => out, stderr: () => err };
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = await once(child, 'exit') as [number | null];
  return code;
}

describe('kruise-ts sandbox command', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'kruise-ts-cli-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('prints the ready line, serves kubectl, and exits 0 on SIGTERM', async (t) => {
    const kubeconfig = join(dir, 'nested', 'kubeconfig');
    const run = startCli(['sandbox', '--port', '0', '--kubeconfig', kubeconfig, '--log-level', 'warn']);
    try {
      const line = await waitFor(() => /^kruise-ts sandbox ready: export KUBECONFIG=(.+)$/m.exec(run.stdout()), 'the ready line', 20_000);
      assert.equal(line[1], kubeconfig);
      assert.equal((await stat(kubeconfig)).mode & 0o777, 0o600, 'the kubeconfig holds a token: owner-only');
      const skip = kubectlSkipReason();
      if (skip) t.diagnostic(skip);
      else {
        const k = new Kubectl(kubeconfig, join(dir, 'cache'));
        const names = (await k.ok(['get', 'ns', '-o', 'name'])).trim().split('\n');
        for (const ns of ['namespace/default', 'namespace/kube-system', 'namespace/kruise-system']) assert.ok(names.includes(ns), `${ns} in ${names.join(',')}`);
        const crds = await k.ok(['get', 'crds', '-o', 'name']);
        assert.match(crds, /clonesets.apps.kruise.io/);
      }
    } finally {
      run.child.kill('SIGTERM');
    }
    assert.equal(await exitOf(run.child), 0, run.stderr());
  });

  it('refuses an unknown feature gate with a message naming it', async () => {
    const run = startCli(['sandbox', '--port', '0', '--kubeconfig', join(dir, 'kc2'), '--feature-gates', 'NoSuchGate=true']);
    assert.equal(await exitOf(run.child), 2);
    assert.match(run.stderr(), /--feature-gates: .*NoSuchGate/);
  });

  it('refuses a port that is not a number', async () => {
    const run = startCli(['sandbox', '--port', 'http', '--kubeconfig', join(dir, 'kc3')]);
    assert.notEqual(await exitOf(run.child), 0);
    assert.match(run.stderr(), /--port/);
  });

  it('says clearly that a busy port is in use', async () => {
    const first = startCli(['sandbox', '--port', '0', '--kubeconfig', join(dir, 'kc4'), '--log-level', 'info']);
    try {
      const logged = await waitFor(() => /"url":"https:\/\/127\.0\.0\.1:(\d+)"/.exec(first.stderr()), 'the first sandbox to log its URL', 20_000);
      const second = startCli(['sandbox', '--port', logged[1]!, '--kubeconfig', join(dir, 'kc5')]);
      assert.equal(await exitOf(second.child), 2);
      assert.match(second.stderr(), new RegExp(`port ${logged[1]} is in use`));
    } finally {
      first.child.kill('SIGTERM');
      await exitOf(first.child);
    }
  });

  it('says the coordinator role is not implemented yet instead of pretending', async () => {
    const run = startCli(['coordinator']);
    assert.equal(await exitOf(run.child), 2);
    assert.match(run.stderr(), /not implemented yet/);
  });
});
