/**
 * The pod worker's status write, against a built-in runtime (in-process) and a fake API client: the answer to the
 * status patch is the whole Pod, and may carry a spec change the worker has not been told about yet.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pLimit from 'p-limit';
import { pino } from 'pino';
import type { Pod } from '../../../src/api/pod-types.js';
import type { EventRecorder } from '../../../src/kube/events/index.js';
import type { KubeClient } from '../../../src/kube/kube-client.js';
import { BuiltinRuntime, InProcessCriClient } from '../../../src/sandbox/cri/index.js';
import { KUBELET_BACKOFF } from '../../../src/sandbox/node/pods/index.js';
import { PodWorker, type PodWorkerContext } from '../../../src/sandbox/node/pods/pod-worker.js';

function pod(image: string, resourceVersion: string): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-1', resourceVersion },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image }] },
  };
}

function context(patch: (body: { status: unknown }) => Pod, requeued: number[]): PodWorkerContext {
  const client = { patch: (_r: unknown, _ns: string, _n: string, _t: string, body: { status: unknown }) => Promise.resolve(patch(body)) };
  return {
    nodeName: 'node-1', nodeIp: '10.0.0.7',
    cri: new InProcessCriClient({ runtime: new BuiltinRuntime({ pullLatencyMs: 1 }) }),
    client: client as unknown as KubeClient,
    recorder: { event: () => undefined } as unknown as EventRecorder,
    logger: pino({ level: 'silent' }),
    now: Date.now, sandboxLabels: {},
    planner: { containerBackoff: KUBELET_BACKOFF, imageBackoff: KUBELET_BACKOFF, minimumGracePeriodSeconds: 2 },
    pullLimit: pLimit(1), operationLimit: pLimit(1), hookTimeoutMs: 1000,
    runtimeScheme: () => Promise.resolve('kruise-ts'),
    syncRetryMs: 1000, resyncPeriodMs: 30_000,
    requeue: (_uid, delayMs) => { requeued.push(delayMs); },
  };
}

describe('pod worker status write', () => {
  it('should sync again at once when the patch answer carries a spec change made since the plan', async () => {
    const requeued: number[] = [];
    // The agent changed the image (resourceVersion 2) between this worker's read and its status patch (3).
    const worker = new PodWorker(context((body) => ({ ...pod('busybox:1.37', '3'), status: body.status as Pod['status'] }), requeued), pod('busybox:1.36', '1'));
    await worker.sync(AbortSignal.timeout(5000));
    assert.deepEqual(requeued, [0], 'a sync is asked for at once');
    // The informer's events for versions 2 and 3 now look like nothing new to the worker: only that requeue acts.
    assert.equal(worker.observe(pod('busybox:1.37', '2')), false);
    await worker.stop();
  });

  it('should not ask for a sync when the patch answer only carries its own status', async () => {
    const requeued: number[] = [];
    const worker = new PodWorker(context((body) => ({ ...pod('busybox:1.36', '2'), status: body.status as Pod['status'] }), requeued), pod('busybox:1.36', '1'));
    await worker.sync(AbortSignal.timeout(5000));
    assert.deepEqual(requeued, []);
    await worker.stop();
  });
});
