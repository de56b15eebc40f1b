import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideNode, type SchedulableNode } from '../../../src/sandbox/node/scheduling.js';

const node = (name: string, over: Partial<SchedulableNode> = {}): SchedulableNode =>
  ({ name, labels: { 'kubernetes.io/hostname': name }, ready: true, unschedulable: false, podCount: 0, ...over });

describe('decideNode', () => {
  const cases: { name: string; nodes: SchedulableNode[]; selector?: Record<string, string>; want: ReturnType<typeof decideNode> }[] = [
    { name: 'spreads to the node with the fewest pods', nodes: [node('a', { podCount: 3 }), node('b', { podCount: 1 }), node('c', { podCount: 2 })], want: { kind: 'bind', node: 'b' } },
    { name: 'breaks ties by name', nodes: [node('b'), node('a')], want: { kind: 'bind', node: 'a' } },
    { name: 'honours nodeSelector', nodes: [node('a'), node('b', { labels: { zone: 'z1' } })], selector: { zone: 'z1' }, want: { kind: 'bind', node: 'b' } },
    { name: 'skips nodes that are not Ready or are cordoned', nodes: [node('a', { ready: false }), node('b', { unschedulable: true }), node('c', { podCount: 9 })], want: { kind: 'bind', node: 'c' } },
    {
      name: 'reports why no node fits, in Kubernetes words',
      nodes: [node('a', { ready: false }), node('b', { unschedulable: true }), node('c')], selector: { zone: 'nowhere' },
      want: { kind: 'unschedulable', message: "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable." },
    },
    { name: 'says there are no nodes at all', nodes: [], want: { kind: 'unschedulable', message: '0/0 nodes are available:' } },
  ];
  for (const c of cases) {
    it(`should ${c.name}`, () => {
      assert.deepEqual(decideNode({ ...(c.selector ? { nodeSelector: c.selector } : {}) }, c.nodes), c.want);
    });
  }
});
