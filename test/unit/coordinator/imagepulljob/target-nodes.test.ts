/**
 * Target selection, after upstream's imagejob_reader_test TestAll (spec §4.8): five NodeImages node1..5 with
 * `arch` labels, jobs with no selector, names, labels, DoesNotExist and podSelector.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ImagePullJob } from '../../../../src/api/imagepulljob-types.js';
import type { NodeImage } from '../../../../src/api/nodeimage-types.js';
import type { Pod, PodPhase } from '../../../../src/api/pod-types.js';
import { compareActivePods, targetNodeNames } from '../../../../src/coordinator/imagepulljob/target-nodes.js';

const ni = (name: string, labels: Record<string, string> = {}): NodeImage => ({
  apiVersion: 'apps.kruise.io/v1alpha1', kind: 'NodeImage', metadata: { name, labels }, spec: {},
});
// Listed out of order on purpose: targets come out by name.
const NODE_IMAGES = [ni('node3', { arch: 'arm64' }), ni('node1'), ni('node5', { arch: 'arm64' }), ni('node2', { arch: 'x86' }), ni('node4')];

const job = (spec: Partial<ImagePullJob['spec']>, namespace = 'default'): ImagePullJob => ({
  apiVersion: 'apps.kruise.io/v1alpha1', kind: 'ImagePullJob', metadata: { name: 'j', namespace, uid: 'u' },
  spec: { image: 'nginx:1.9.1', ...spec },
});

const pod = (name: string, o: { ns?: string; labels?: Record<string, string>; node?: string; phase?: PodPhase; created?: string; ready?: string; restarts?: number; deleting?: boolean } = {}): Pod => ({
  metadata: {
    name, namespace: o.ns ?? 'default', labels: o.labels ?? {}, creationTimestamp: o.created ?? '2024-01-01T00:00:00Z',
    ...(o.deleting ? { deletionTimestamp: '2024-01-02T00:00:00Z' } : {}),
  },
  spec: { containers: [{ name: 'c' }], ...(o.node ? { nodeName: o.node } : {}) },
  status: {
    phase: o.phase ?? 'Running',
    conditions: o.ready !== undefined ? [{ type: 'Ready', status: 'True', lastTransitionTime: o.ready }] : [],
    containerStatuses: [{ name: 'c', ready: o.ready !== undefined, restartCount: o.restarts ?? 0, image: 'x', imageID: '' }],
  },
});

describe('targetNodeNames', () => {
  const cases: { name: string; job: ImagePullJob; pods?: Pod[]; ownerKind?: string; want: string[] }[] = [
    { name: 'a job without selector targets every NodeImage by name', job: job({}), want: ['node1', 'node2', 'node3', 'node4', 'node5'] },
    { name: 'names target those NodeImages in the order written', job: job({ selector: { names: ['node4', 'node2'] } }), want: ['node4', 'node2'] },
    { name: 'names of missing NodeImages are skipped', job: job({ selector: { names: ['node2', 'node9'] } }), want: ['node2'] },
    { name: 'matchLabels arch=arm64 targets node3 and node5', job: job({ selector: { matchLabels: { arch: 'arm64' } } }), want: ['node3', 'node5'] },
    {
      name: 'arch DoesNotExist targets node1 and node4',
      job: job({ selector: { matchExpressions: [{ key: 'arch', operator: 'DoesNotExist' }] } }), want: ['node1', 'node4'],
    },
    {
      name: 'podSelector targets the nodes of matching active pods, ignoring pods without node and other namespaces',
      job: job({ podSelector: { matchLabels: { app: 'foo' } } }),
      pods: [
        pod('a', { labels: { app: 'foo' }, node: 'node2' }),
        pod('b', { labels: { app: 'foo' } }),
        pod('c', { labels: { app: 'foo' }, node: 'node3', ns: 'other' }),
        pod('d', { labels: { app: 'bar' }, node: 'node4' }),
        pod('e', { labels: { app: 'foo' }, node: 'node5', phase: 'Succeeded' }),
        pod('f', { labels: { app: 'foo' }, node: 'node1', deleting: true }),
      ],
      want: ['node2'],
    },
    {
      name: 'podSelector nodes without a NodeImage are skipped and each node appears once',
      job: job({ podSelector: { matchLabels: { app: 'foo' } } }),
      pods: [pod('a', { labels: { app: 'foo' }, node: 'node9' }), pod('b', { labels: { app: 'foo' }, node: 'node1' }), pod('c', { labels: { app: 'foo' }, node: 'node1' })],
      want: ['node1'],
    },
    {
      name: 'without a CloneSet owner, pods are taken in creation order, oldest first',
      job: job({ podSelector: { matchLabels: { app: 'foo' } } }),
      pods: [
        pod('new', { labels: { app: 'foo' }, node: 'node1', created: '2024-01-03T00:00:00Z' }),
        pod('old', { labels: { app: 'foo' }, node: 'node4', created: '2024-01-01T00:00:00Z' }),
        pod('mid', { labels: { app: 'foo' }, node: 'node2', created: '2024-01-02T00:00:00Z' }),
      ],
      want: ['node4', 'node2', 'node1'],
    },
    {
      name: 'with a CloneSet owner, pods are taken in the ActivePods update order (not ready, then restarts, then newest)',
      job: job({ podSelector: { matchLabels: { app: 'foo' } } }),
      ownerKind: 'CloneSet',
      pods: [
        pod('ready-old', { labels: { app: 'foo' }, node: 'node1', ready: '2024-01-01T00:00:00Z' }),
        pod('ready-recent', { labels: { app: 'foo' }, node: 'node2', ready: '2024-01-05T00:00:00Z' }),
        pod('pending', { labels: { app: 'foo' }, node: 'node3', phase: 'Pending' }),
        pod('running-unready-restarted', { labels: { app: 'foo' }, node: 'node4', restarts: 3 }),
        pod('running-unready', { labels: { app: 'foo' }, node: 'node5' }),
      ],
      want: ['node3', 'node4', 'node5', 'node2', 'node1'],
    },
  ];
  for (const c of cases) {
    it(`should say: ${c.name}`, () => {
      assert.deepEqual(targetNodeNames({ job: c.job, nodeImages: NODE_IMAGES, ...(c.pods ? { pods: c.pods } : {}), ownerKind: c.ownerKind }), c.want);
    });
  }

  it('should put unassigned pods before assigned ones and newer before older when all else is equal', () => {
    const a = pod('a', { created: '2024-01-01T00:00:00Z', node: 'n' });
    const b = pod('b', { created: '2024-01-02T00:00:00Z', node: 'n' });
    const unassigned = pod('u', {});
    assert.ok(compareActivePods(unassigned, a) < 0);
    assert.ok(compareActivePods(b, a) < 0);
  });
});
