import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  allocatableOf, buildNodeObject, DEFAULT_NODE_CAPACITY, goArch, isNodeReady, KUBELET_VERSION, nodeConditions,
  parseNodeLabels, quantityBytes,
} from '../../../src/sandbox/node/node-object.js';
import { leaseObject, microTime } from '../../../src/sandbox/node/node-heartbeat.js';

const NOW = new Date('2026-01-02T03:04:05.678Z');
const input = {
  name: 'kruise-ts-node-1', machineId: 'abc', runtime: { runtimeName: 'kruise-ts-builtin', runtimeVersion: '0.1.0' },
  runtimeReady: true, now: NOW,
};

describe('node object', () => {
  it('should carry the well-known labels and the extra ones', () => {
    const n = buildNodeObject({ ...input, labels: { zone: 'z1' }, architecture: 'arm64' });
    assert.deepEqual(n.metadata.labels, {
      zone: 'z1', 'kubernetes.io/hostname': 'kruise-ts-node-1', 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64',
      'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'arm64',
    });
  });

  it('should report nodeInfo with the runtime from CRI Version and our kubelet version', () => {
    const info = buildNodeObject(input).status!.nodeInfo!;
    assert.equal(info.containerRuntimeVersion, 'kruise-ts-builtin://0.1.0');
    assert.equal(info.kubeletVersion, KUBELET_VERSION);
    assert.equal(info.kubeletVersion, 'v1.32.0-kruise-ts');
    assert.equal(info.operatingSystem, 'linux');
    assert.equal(info.architecture, 'amd64');
    assert.ok(info.osImage.length > 0);
  });

  it('should report capacity and an allocatable lowered by the hard eviction thresholds', () => {
    const st = buildNodeObject(input).status!;
    assert.deepEqual(st.capacity, { cpu: '8', memory: '33554432Ki', pods: '110', 'ephemeral-storage': '104857600Ki' });
    assert.equal(st.allocatable!['memory'], `${33554432 - 102400}Ki`);
    assert.equal(st.allocatable!['pods'], '110');
    assert.equal(st.allocatable!['ephemeral-storage'], String(Math.floor(100 * 2 ** 30 * 0.9)));
    assert.deepEqual(allocatableOf({ ...DEFAULT_NODE_CAPACITY, cpu: '2' })['cpu'], '2');
  });

  it('should give InternalIP 127.0.0.1 and the Hostname as addresses', () => {
    assert.deepEqual(buildNodeObject(input).status!.addresses, [
      { type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: 'kruise-ts-node-1' },
    ]);
  });

  it('should be Ready with the pressure conditions False when the runtime is ready', () => {
    const n = buildNodeObject(input);
    const byType = Object.fromEntries(n.status!.conditions!.map((c) => [c.type, c]));
    assert.equal(byType['Ready']!.status, 'True');
    assert.equal(byType['Ready']!.reason, 'KubeletReady');
    assert.equal(byType['Ready']!.lastHeartbeatTime, '2026-01-02T03:04:05Z');
    for (const t of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) assert.equal(byType[t]!.status, 'False', t);
    assert.ok(isNodeReady(n));
  });

  it('should be NotReady with the runtime message when the runtime is not ready', () => {
    const n = buildNodeObject({ ...input, runtimeReady: false, runtimeMessage: 'socket gone' });
    const ready = n.status!.conditions!.find((c) => c.type === 'Ready')!;
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'KubeletNotReady');
    assert.match(ready.message!, /socket gone/);
    assert.equal(isNodeReady(n), false);
  });

  it('should move lastTransitionTime only on a transition, and the heartbeat time always', () => {
    const first = nodeConditions(true, undefined, NOW);
    const later = new Date(NOW.getTime() + 40_000);
    const same = nodeConditions(true, undefined, later, first);
    const ready = (cs: typeof first) => cs.find((c) => c.type === 'Ready')!;
    assert.equal(ready(same).lastTransitionTime, '2026-01-02T03:04:05Z');
    assert.equal(ready(same).lastHeartbeatTime, '2026-01-02T03:04:45Z');
    const down = nodeConditions(false, 'x', later, first);
    assert.equal(ready(down).lastTransitionTime, '2026-01-02T03:04:45Z');
    assert.equal(down.find((c) => c.type === 'MemoryPressure')!.lastTransitionTime, '2026-01-02T03:04:05Z');
  });

  it('should map Node.js architectures to GOARCH names', () => {
    assert.equal(goArch('x64'), 'amd64');
    assert.equal(goArch('arm64'), 'arm64');
    assert.equal(goArch('ia32'), '386');
  });

  it('should parse binary and decimal quantities', () => {
    assert.equal(quantityBytes('1Ki'), 1024);
    assert.equal(quantityBytes('2G'), 2e9);
    assert.throws(() => quantityBytes('1.5Gi'), /unsupported quantity/);
  });
});

describe('node lease', () => {
  it('should be held by the node, owned by its Node, with a microsecond renew time', () => {
    const lease = leaseObject('n1', 'uid-1', 40, NOW.getTime());
    assert.equal(lease.metadata.namespace, 'kube-node-lease');
    assert.deepEqual(lease.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-1' }]);
    assert.deepEqual(lease['spec'], { holderIdentity: 'n1', leaseDurationSeconds: 40, renewTime: '2026-01-02T03:04:05.678000Z' });
    assert.equal(microTime(0), '1970-01-01T00:00:00.000000Z');
  });
});

describe('--node-labels', () => {
  const rows: { text: string; want?: Record<string, string>; error?: RegExp }[] = [
    { text: '', want: {} },
    { text: 'zone=z1,example.com/tier=gold', want: { zone: 'z1', 'example.com/tier': 'gold' } },
    { text: 'empty=', want: { empty: '' } },
    { text: 'novalue', error: /"novalue" is not key=value/ },
    { text: '=v', error: /is not key=value/ },
    { text: 'bad key=v', error: /label key "bad key" is not a valid label name/ },
    { text: 'k=bad value', error: /label value "bad value" of k is not valid/ },
    { text: 'Upper.Case/k=v', error: /not a valid label name/ },
    { text: 'kubernetes.io/hostname=x', error: /set by the node itself/ },
    { text: 'a=1,a=2', error: /given twice/ },
  ];
  for (const r of rows) {
    it(`should ${r.error ? 'refuse' : 'accept'} ${JSON.stringify(r.text)}`, () => {
      if (r.error) assert.throws(() => parseNodeLabels(r.text), r.error);
      else assert.deepEqual(parseNodeLabels(r.text), r.want);
    });
  }
});
