/**
 * `kruise-ts sandbox` as a user runs it (what `npm start` runs): it prints the ready line, kubectl works with the
 * printed KUBECONFIG, bad flags fail with a clear message, and SIGTERM stops it cleanly.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../support/api-server-harness.js';
import { Kubectl, kubectlSkipReason } from '../support/kubectl.js';
import { exitOf, startCli, type RunningCli as Running } from '../support/cli-process.js';





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

  it('runs the coordinator leader-elected against the sandbox, with health, readiness and metrics', async () => {
    const kubeconfig = join(dir, 'coord-kc');
    const sandbox = startCli(['sandbox', '--port', '0', '--kubeconfig', kubeconfig, '--log-level', 'warn']);
    let coordinator: Running | undefined;
    try {
      await waitFor(() => /sandbox ready/.test(sandbox.stdout()), 'the sandbox', 20_000);
      coordinator = startCli(['coordinator', '--kubeconfig', kubeconfig, '--health-port', '0', '--webhook-port', '0', '--log-level', 'info']);
      const port = await waitFor(() => /"port":(\d+).*health server listening|health server listening.*"port":(\d+)/.exec(coordinator!.stderr()), 'the health server', 20_000);
      const base = `http://127.0.0.1:${port[1] ?? port[2]}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 'readiness');
      await waitFor(() => /became leader/.test(coordinator!.stderr()), 'leadership', 20_000);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /rest_client_requests_total\{verb="GET",resource="leases",code="(200|404)"\}/);
      const k = new Kubectl(kubeconfig, join(dir, 'cache2'));
      if (!kubectlSkipReason()) {
        const lease = JSON.parse(await k.ok(['get', 'lease', 'kruise-ts-coordinator', '-n', 'kruise-system', '-o', 'json'])) as { spec: { holderIdentity: string } };
        assert.ok(lease.spec.holderIdentity.length > 0);
      }
      coordinator.child.kill('SIGTERM');
      assert.equal(await exitOf(coordinator.child), 0, coordinator.stderr());
    } finally {
      coordinator?.child.kill('SIGKILL');
      sandbox.child.kill('SIGTERM');
      await exitOf(sandbox.child);
    }
  });

  it('refuses to start the agent without its node name', async () => {
    const run = startCli(['agent', '--kubeconfig', join(dir, 'nonexistent')]);
    assert.equal(await exitOf(run.child), 2);
    assert.match(run.stderr(), /--node-name or set NODE_NAME/);
  });

  it('refuses a kubeconfig that does not exist with a message naming it', async () => {
    const run = startCli(['coordinator', '--kubeconfig', join(dir, 'missing-kubeconfig')]);
    assert.equal(await exitOf(run.child), 2);
    assert.match(run.stderr(), /cannot load the kubeconfig .*missing-kubeconfig/);
  });
});
