/**
 * The swap controller's pull step, against a built-in runtime (in-process) whose pulls are slow, a fake Pod source
 * and a fake API client that records every update: a slow pull is recorded as Pulling, Pods of one node share one
 * pull, and the switch follows from the Pod the controller's own write returned.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { KubeObject } from '../../../../src/api/meta.js';
import type { Pod } from '../../../../src/api/pod-types.js';
import { fixedCriSource } from '../../../../src/agent/cri-connector.js';
import { HotUpgradeController, parseSwapStatus, type NodePodSource } from '../../../../src/agent/hotupgrade/index.js';
import type { CriApi } from '../../../../src/cri/cri-api.js';
import type { KubeClient } from '../../../../src/kube/kube-client.js';
import { BuiltinRuntime, InProcessCriClient } from '../../../../src/sandbox/cri/index.js';
import { waitFor } from '../../../support/api-server-harness.js';

const request = { sidecarSet: 'ss', resourceVersion: '22', sidecars: [{ name: 'p', image: 'p:2', emptyImage: 'empty:1' }] };

function pod(name: string): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '10',
      annotations: {
        'kruise.io/sidecarset-working-hotupgrade-container': JSON.stringify({ p: 'p-1' }),
        'version.sidecarset.kruise.io/p-1': '1', 'versionalt.sidecarset.kruise.io/p-1': '0',
        'version.sidecarset.kruise.io/p-2': '0', 'versionalt.sidecarset.kruise.io/p-2': '1',
        'kruise-ts.io/sidecarset-hot-upgrade-request': JSON.stringify(request),
      },
    },
    spec: { nodeName: 'node-1', containers: [{ name: 'p-1', image: 'p:1' }, { name: 'p-2', image: 'empty:1' }] },
  };
}

describe('hot-upgrade swap controller', () => {
  it('should record Pulling while a slow pull runs, share it between the node\'s Pods, then switch each', async () => {
    const runtime = new InProcessCriClient({ runtime: new BuiltinRuntime({ pullLatencyMs: 600 }) });
    await runtime.pullImage({ image: { image: 'empty:1' } });
    let pulls = 0;
    const cri = new Proxy(runtime, {
      get(target, prop, receiver) {
        if (prop === 'pullImage') pulls++;
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }) as CriApi;
    // The cache never catches up: every step after the first must come from the Pod the last update returned.
    const cached = new Map(['a', 'b'].map((n) => [n, pod(n)]));
    const source: NodePodSource = {
      get: (_ns, name) => cached.get(name),
      subscribe: (onChange) => { for (const p of cached.values()) onChange(p); return () => undefined; },
    };
    const writes: Pod[] = [];
    let rv = 10;
    const client = {
      update: (_r: unknown, obj: KubeObject) => {
        const stored = structuredClone(obj) as unknown as Pod;
        stored.metadata.resourceVersion = String(++rv);
        writes.push(stored);
        return Promise.resolve(stored);
      },
    } as unknown as Pick<KubeClient, 'update'>;
    const controller = new HotUpgradeController({
      nodeName: 'node-1', client, pods: source, recorder: { event: () => undefined }, cri: fixedCriSource(cri),
      logger: pino({ level: 'silent' }), pollMs: 150,
    });
    const stop = new AbortController();
    const running = controller.start(stop.signal);
    try {
      const phases = (name: string) => writes.filter((w) => w.metadata.name === name).map((w) => parseSwapStatus(w)?.phase);
      await waitFor(() => (['a', 'b'].every((n) => phases(n).includes('WaitingTarget')) ? true : undefined), 'both Pods switched', 10_000);
      for (const name of ['a', 'b']) {
        assert.deepEqual(phases(name), ['Pulling', 'WaitingTarget'], name);
        const switched = writes.find((w) => w.metadata.name === name && parseSwapStatus(w)?.phase === 'WaitingTarget')!;
        assert.deepEqual(switched.spec.containers.map((c) => c.image), ['p:1', 'p:2'], name);
        const st = parseSwapStatus(switched)!;
        assert.ok(Date.parse(st.switchedAt!) - Date.parse(st.startedAt) >= 500, `the switch is stamped after the pull: ${JSON.stringify(st)}`);
      }
      assert.equal(pulls, 1, 'one pull of p:2 for the node');
    } finally {
      stop.abort();
      await running;
    }
  });
});
