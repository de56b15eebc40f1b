import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultSidecarSet, fieldErrorMessage, validateSidecarSet, validateSidecarSetConflicts, type SidecarSet,
} from '../../../src/api/index.js';

type Mutate = (s: SidecarSet) => void;

function base(mutate?: Mutate, name = 'log-agent'): SidecarSet {
  const s = defaultSidecarSet({
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'SidecarSet', metadata: { name },
    spec: {
      selector: { matchLabels: { app: 'demo' } },
      containers: [{ name: 'agent', image: 'agent:1', volumeMounts: [{ name: 'logs', mountPath: '/var/log' }] }],
      volumes: [{ name: 'logs', emptyDir: {} }],
    },
  });
  mutate?.(s);
  return s;
}

const messages = (s: SidecarSet, old?: SidecarSet) => validateSidecarSet(s, old).map(fieldErrorMessage);

test('a defaulted SidecarSet is valid', () => assert.deepEqual(messages(base()), []));

test('a SidecarSet with only initContainers is valid', () => {
  assert.deepEqual(messages(base((s) => { s.spec.initContainers = s.spec.containers!.map((c) => ({ ...c, name: 'init' })); s.spec.containers = []; })), []);
});

test('a HotUpgrade container with an empty image is valid', () => {
  assert.deepEqual(messages(base((s) => { s.spec.containers![0]!.upgradeStrategy = { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'agent-empty:1' }; })), []);
});

const NAME_MSG = "sidecarset name must consist of alphanumeric characters or '-' (e.g. 'example-com', regex used for validation is '^[a-zA-Z0-9\\-]+$')";

const CASES: { name: string; mutate: Mutate; want: string[] }[] = [
  { name: 'a name with a dot', mutate: (s) => { s.metadata.name = 'log.agent'; }, want: [`metadata.name: Invalid value: "log.agent": ${NAME_MSG}`] },
  { name: 'a name longer than 63 characters', mutate: (s) => { s.metadata.name = 'A'.repeat(64); }, want: [`metadata.name: Invalid value: "${'A'.repeat(64)}": must be no more than 63 characters`] },
  { name: 'a namespace in metadata', mutate: (s) => { s.metadata.namespace = 'default'; }, want: ['metadata.namespace: Forbidden: not allowed on this type'] },
  { name: 'no selector', mutate: (s) => { delete s.spec.selector; }, want: ['spec.selector: Required value: no selector defined for SidecarSet'] },
  { name: 'an empty selector', mutate: (s) => { s.spec.selector = {}; }, want: ['spec.selector: Invalid value: {}: empty selector is not valid for sidecarset.'] },
  {
    name: 'an invalid selector', mutate: (s) => { s.spec.selector = { matchLabels: { app: 'bad value' } }; },
    want: ["spec.selector.matchLabels: Invalid value: \"bad value\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"],
  },
  { name: 'an empty update selector', mutate: (s) => { s.spec.updateStrategy!.selector = {}; }, want: ['spec.updateStrategy.selector: Invalid value: {}: empty selector is not valid for sidecarset.'] },
  {
    name: 'a partition that is not a percent', mutate: (s) => { s.spec.updateStrategy!.partition = '10'; },
    want: ["spec.updateStrategy.partition: Invalid value: \"10\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"],
  },
  { name: 'a negative maxUnavailable', mutate: (s) => { s.spec.updateStrategy!.maxUnavailable = -1; }, want: ['spec.updateStrategy.maxUnavailable: Invalid value: -1: must be greater than or equal to 0'] },
  { name: 'an empty scatter key', mutate: (s) => { s.spec.updateStrategy!.scatterStrategy = [{ key: '', value: '*' }]; }, want: ['spec.updateStrategy.scatterStrategy: Required value: key should not be empty'] },
  { name: 'an unknown update type', mutate: (s) => { s.spec.updateStrategy!.type = 'Sometimes' as 'NotUpdate'; }, want: ['spec.updateStrategy.type: Unsupported value: "Sometimes": supported values: "NotUpdate", "RollingUpdate"'] },
  { name: 'no containers at all', mutate: (s) => { s.spec.containers = []; }, want: ['spec: Required value: no initContainer or container defined for SidecarSet'] },
  { name: 'an unknown inject policy', mutate: (s) => { s.spec.containers![0]!.podInjectPolicy = 'Middle' as 'AfterAppContainer'; }, want: ['spec.containers[0].podInjectPolicy: Invalid value: "Middle": unsupported pod inject policy'] },
  { name: 'an unknown share volume policy', mutate: (s) => { s.spec.containers![0]!.shareVolumePolicy = { type: 'on' as 'enabled' }; }, want: ['spec.containers[0].shareVolumePolicy: Invalid value: {"type":"on"}: unsupported share volume policy'] },
  { name: 'an unknown upgrade type', mutate: (s) => { s.spec.containers![0]!.upgradeStrategy = { upgradeType: 'Warm' as 'HotUpgrade' }; }, want: ['spec.containers[0].upgradeStrategy.upgradeType: Unsupported value: "Warm": supported values: "ColdUpgrade", "HotUpgrade"'] },
  {
    name: 'a HotUpgrade container without hotUpgradeEmptyImage', mutate: (s) => { s.spec.containers![0]!.upgradeStrategy = { upgradeType: 'HotUpgrade' }; },
    want: ['spec.containers[0].upgradeStrategy.hotUpgradeEmptyImage: Required value: hotUpgradeEmptyImage is required for HotUpgrade containers'],
  },
  { name: 'a container without image', mutate: (s) => { delete s.spec.containers![0]!.image; }, want: ['spec.containers[0].image: Required value'] },
  {
    name: 'a mount of a volume the set does not declare', mutate: (s) => { s.spec.volumes = []; },
    want: ['spec.containers[0].volumeMounts[0].name: Not found: "logs"'],
  },
  {
    name: 'an init container named like a container', mutate: (s) => { s.spec.initContainers = [{ ...s.spec.containers![0]! }]; },
    want: ['spec.containers[0].name: Duplicate value: "agent"'],
  },
  { name: 'duplicate volumes', mutate: (s) => { s.spec.volumes!.push({ name: 'logs', emptyDir: {} }); }, want: ['spec.volumes[1].name: Duplicate value: "logs"'] },
];

for (const c of CASES) {
  test(`a SidecarSet with ${c.name} is rejected with the expected message`, () => assert.deepEqual(messages(base(c.mutate)), c.want));
}

test('a NotUpdate strategy skips the rolling-update checks', () => {
  assert.deepEqual(messages(base((s) => { s.spec.updateStrategy = { type: 'NotUpdate', partition: '10', selector: {} }; })), []);
});

test('changing a container from ColdUpgrade to HotUpgrade on update gives exactly one error', () => {
  const old = base();
  const updated = base((s) => { s.spec.containers![0]!.upgradeStrategy = { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'e:1' }; });
  assert.deepEqual(messages(updated, old), ['spec.containers[0].upgradeStrategy.upgradeType: Invalid value: "agent": container agent upgradeType is immutable']);
});

test('upgradeType immutability is enforced only when the old value was set', () => {
  const old = base((s) => { delete s.spec.containers![0]!.upgradeStrategy; });
  const updated = base((s) => { s.spec.containers![0]!.upgradeStrategy = { upgradeType: 'HotUpgrade', hotUpgradeEmptyImage: 'e:1' }; });
  assert.deepEqual(messages(updated, old), []);
});

test('new containers and unchanged types pass the update check', () => {
  const old = base();
  const updated = base((s) => { s.spec.containers!.push({ name: 'other', image: 'o:1', imagePullPolicy: 'IfNotPresent', podInjectPolicy: 'AfterAppContainer', shareVolumePolicy: { type: 'disabled' } }); });
  assert.deepEqual(messages(updated, old), []);
});

const CONFLICTS: { name: string; other: SidecarSet; want: string[] }[] = [
  { name: 'a same-named container in an overlapping set', other: base(undefined, 'other'), want: ['spec.containers: Invalid value: "agent": container agent already exist in other'] },
  {
    name: 'a same-named container in a set of another namespace', want: [],
    other: base((s) => { s.spec.namespace = 'b'; }, 'other'),
  },
  {
    name: 'a same-named container in a namespaced set, from a cluster-wide set',
    want: ['spec.containers: Invalid value: "agent": container agent already exist in other'],
    other: base((s) => { s.spec.namespace = 'b'; }, 'other'),
  },
  {
    name: 'a same-named container in a set with a disjoint selector', want: [],
    other: base((s) => { s.spec.selector = { matchLabels: { app: 'different' } }; }, 'other'),
  },
  {
    name: 'a same-named init container', want: ['spec.containers: Invalid value: "init": container init already exist in other'],
    other: base((s) => { s.spec.containers![0]!.name = 'x'; s.spec.initContainers = [{ name: 'init', image: 'i:1' }]; }, 'other'),
  },
  {
    name: 'a same-named but different volume', want: ['spec.volumes: Invalid value: "logs": volume logs is in conflict with sidecarset other'],
    other: base((s) => { s.spec.containers![0]!.name = 'x'; s.spec.volumes = [{ name: 'logs', hostPath: { path: '/var/log' } }]; }, 'other'),
  },
  {
    name: 'an identical volume', want: [],
    other: base((s) => { s.spec.containers![0]!.name = 'x'; }, 'other'),
  },
  { name: 'itself', other: base(), want: [] },
];

for (const c of CONFLICTS) {
  test(`conflict check against ${c.name}`, () => {
    const set = base((s) => {
      if (c.name.includes('init')) s.spec.initContainers = [{ name: 'init', image: 'i:1' }];
      if (c.name.includes('another namespace')) s.spec.namespace = 'a';
    });
    assert.deepEqual(validateSidecarSetConflicts(set, [c.other]).map(fieldErrorMessage), c.want);
  });
}
