/**
 * `kruise-ts sandbox --nodes 3` as a user runs it, on the built-in runtime: the ready line comes once the three
 * nodes are Ready, and kubectl sees them; `kubectl run` (any image name works on the built-in runtime) gives a pod
 * that is scheduled, becomes Ready, shows its node in `get pods -o wide`, and `kubectl delete` completes. Bad node
 * flags fail with a message naming the flag. kubectl parts skip, naming the missing binary, where it is absent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../support/api-server-harness.js';
import { Kubectl, kubectlSkipReason } from '../support/kubectl.js';
import { exitOf, startCli, type RunningCli as Running } from '../support/cli-process.js';





interface NodeJson { metadata: { name: string; labels: Record<string, string> }; status: { conditions: { type: string; status: string }[]; nodeInfo: { containerRuntimeVersion: string; kubeletVersion: string } } }

describe('kruise-ts sandbox with nodes', () => {
  let dir: string;
  let run: Running | undefined;
  let kubeconfig: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kruise-ts-nodes-'));
    kubeconfig = join(dir, 'kubeconfig');
  });
  after(async () => {
    if (run && run.child.exitCode === null) {
      run.child.kill('SIGTERM');
      await exitOf(run.child);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('should print the ready line once 3 nodes are Ready, and run a pod through kubectl', async (t) => {
    run = startCli(['sandbox', '--port', '0', '--kubeconfig', kubeconfig, '--nodes', '3', '--image-pull-seconds', '0.2',
      '--node-labels', 'zone=z1,example.com/tier=gold', '--log-level', 'warn']);
    await waitFor(() => /^kruise-ts sandbox ready: /m.test(run!.stdout()) || run!.child.exitCode !== null, 'the ready line', 30_000);
    assert.match(run.stdout(), /^kruise-ts sandbox ready: export KUBECONFIG=/m, run.stderr());
    const skip = kubectlSkipReason();
    if (skip) { t.skip(skip); return; }
    const k = new Kubectl(kubeconfig, join(dir, 'cache'));

    // Ready as soon as the ready line is out: no waiting.
    const nodes = (await k.json<{ items: NodeJson[] }>(['get', 'nodes'])).items;
    assert.deepEqual(nodes.map((n) => n.metadata.name).sort(), ['kruise-ts-node-1', 'kruise-ts-node-2', 'kruise-ts-node-3']);
    for (const n of nodes) {
      assert.equal(n.status.conditions.find((c) => c.type === 'Ready')?.status, 'True', n.metadata.name);
      assert.equal(n.metadata.labels['kubernetes.io/hostname'], n.metadata.name);
      assert.equal(n.metadata.labels['kubernetes.io/os'], 'linux');
      assert.ok(n.metadata.labels['kubernetes.io/arch']);
      assert.equal(n.metadata.labels['zone'], 'z1');
      assert.equal(n.metadata.labels['example.com/tier'], 'gold');
      assert.equal(n.status.nodeInfo.containerRuntimeVersion, 'kruise-ts-builtin://0.1.0');
      assert.equal(n.status.nodeInfo.kubeletVersion, 'v1.32.0-kruise-ts');
    }
    const table = await k.ok(['get', 'nodes']);
    assert.equal(table.split('\n').filter((l) => /\bReady\b/.test(l)).length, 3, table);
    const leases = await k.ok(['get', 'leases', '-n', 'kube-node-lease', '-o', 'name']);
    assert.equal(leases.trim().split('\n').length, 3, leases);

    await k.ok(['run', 'demo', '--image=no-such-registry.example/any/image:v1']);
    await k.ok(['wait', '--for=condition=Ready', 'pod/demo', '--timeout=60s']);
    const wide = await k.ok(['get', 'pods', '-o', 'wide']);
    assert.match(wide, /^demo\s+1\/1\s+Running\s+\d+\s+\S+\s+\S+\s+kruise-ts-node-[123]\s/m, wide);
    const events = await k.ok(['get', 'events', '--field-selector', 'involvedObject.name=demo,reason=Scheduled', '-o', 'jsonpath={.items[*].message}']);
    assert.match(events, /Successfully assigned default\/demo to kruise-ts-node-[123]/);

    await k.ok(['delete', 'pod', 'demo', '--timeout=60s']);
    const gone = await k.run(['get', 'pod', 'demo']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound|not found/);

    run.child.kill('SIGTERM');
    assert.equal(await exitOf(run.child), 0, run.stderr());
  });

  it('should spread pods over the nodes and leave an unschedulable one Pending with the reason', async (t) => {
    const skip = kubectlSkipReason();
    if (skip) { t.skip(skip); return; }
    const kc = join(dir, 'kc-spread');
    const r = startCli(['sandbox', '--port', '0', '--kubeconfig', kc, '--nodes', '2', '--image-pull-seconds', '0', '--log-level', 'warn']);
    try {
      await waitFor(() => /sandbox ready/.test(r.stdout()) || r.child.exitCode !== null, 'the ready line', 30_000);
      const k = new Kubectl(kc, join(dir, 'cache-spread'));
      for (const name of ['p1', 'p2']) await k.ok(['run', name, '--image=busybox', '--', 'sleep', '3600']);
      await k.ok(['wait', '--for=condition=Ready', 'pod/p1', 'pod/p2', '--timeout=60s']);
      const nodesOf = await k.ok(['get', 'pods', 'p1', 'p2', '-o', 'jsonpath={.items[*].spec.nodeName}']);
      assert.deepEqual(nodesOf.split(' ').sort(), ['kruise-ts-node-1', 'kruise-ts-node-2']);
      await k.ok(['run', 'picky', '--image=busybox', '--overrides', '{"spec":{"nodeSelector":{"zone":"nowhere"}}}']);
      await k.ok(['wait', '--for=condition=PodScheduled=false', 'pod/picky', '--timeout=30s']);
      const msg = await k.ok(['get', 'pod', 'picky', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}']);
      assert.equal(msg, "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.");
    } finally {
      r.child.kill('SIGTERM');
      await exitOf(r.child);
    }
  });

  it('should refuse bad node flags with a message naming the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['--nodes', 'three'], /--nodes/],
      [['--image-pull-seconds', '-1'], /--image-pull-seconds/],
      [['--node-labels', 'kubernetes.io/hostname=x'], /--node-labels: label kubernetes.io\/hostname is set by the node itself/],
      [['--node-labels', 'nokey'], /--node-labels: "nokey" is not key=value/],
      [['--cri-endpoint', 'tcp://127.0.0.1:1'], /--cri-endpoint: .*only unix sockets/],
    ];
    for (const [args, want] of cases) {
      const r = startCli(['sandbox', '--port', '0', '--kubeconfig', join(dir, 'kc-bad'), ...args]);
      assert.notEqual(await exitOf(r.child), 0, args.join(' '));
      assert.match(r.stderr(), want);
    }
  });

  it('should fail to start, naming the endpoint, when the CRI runtime does not answer', async () => {
    const r = startCli(['sandbox', '--port', '0', '--kubeconfig', join(dir, 'kc-cri'), '--cri-endpoint', `unix://${join(dir, 'absent.sock')}`, '--log-level', 'error']);
    assert.equal(await exitOf(r.child), 2);
    assert.match(r.stderr(), /sandbox failed to start: the CRI runtime at unix:\/\/.*absent\.sock does not answer/);
  });
});
