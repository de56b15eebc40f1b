import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultCloneSet, fieldErrorMessage, validateCloneSet, type CloneSet, type Pod,
} from '../../../src/api/index.js';

type Mutate = (cs: CloneSet) => void;

function base(mutate?: Mutate): CloneSet {
  const cs: CloneSet = {
    apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet',
    metadata: { name: 'demo', namespace: 'default', uid: 'cs-uid' },
    spec: {
      replicas: 5,
      selector: { matchLabels: { app: 'demo' } },
      template: { metadata: { labels: { app: 'demo' } }, spec: { containers: [{ name: 'main', image: 'nginx:1.25' }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'] } }],
    },
  };
  const d = defaultCloneSet(cs);
  mutate?.(d);
  return d;
}

const messages = (cs: CloneSet, old?: CloneSet) => validateCloneSet(cs, old).map(fieldErrorMessage);

test('a defaulted CloneSet is valid', () => {
  assert.deepEqual(messages(base()), []);
});

const CASES: { name: string; mutate: Mutate; want: string[] }[] = [
  { name: 'negative replicas', mutate: (c) => { c.spec.replicas = -1; }, want: ['spec.replicas: Invalid value: -1: must be greater than or equal to 0'] },
  { name: 'a missing name', mutate: (c) => { delete c.metadata.name; }, want: ['metadata.name: Required value: name or generateName is required'] },
  {
    name: 'a name that is not a DNS subdomain', mutate: (c) => { c.metadata.name = 'Demo'; },
    want: ["metadata.name: Invalid value: \"Demo\": a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"],
  },
  { name: 'a missing selector', mutate: (c) => { delete (c.spec as Partial<CloneSet['spec']>).selector; }, want: ['spec.selector: Required value'] },
  { name: 'an empty selector', mutate: (c) => { c.spec.selector = {}; }, want: ['spec.selector: Invalid value: {}: empty selector is invalid for cloneset'] },
  {
    name: 'a selector that does not match the template labels', mutate: (c) => { c.spec.template.metadata!.labels = { app: 'other' }; },
    want: ['spec.template.metadata.labels: Invalid value: {"app":"other"}: `selector` does not match template `labels`'],
  },
  {
    name: 'a selector with a bad operator', mutate: (c) => { c.spec.selector = { matchExpressions: [{ key: 'app', operator: 'Foo' as 'In' }] }; },
    want: ['spec.selector.matchExpressions[0].operator: Invalid value: "Foo": not a valid selector operator'],
  },
  { name: 'no containers', mutate: (c) => { c.spec.template.spec.containers = []; }, want: ['spec.template.spec.containers: Required value'] },
  { name: 'a container without image', mutate: (c) => { delete c.spec.template.spec.containers[0]!.image; }, want: ['spec.template.spec.containers[0].image: Required value'] },
  {
    name: 'duplicate container names', mutate: (c) => { c.spec.template.spec.containers.push({ ...c.spec.template.spec.containers[0]! }); },
    want: ['spec.template.spec.containers[1].name: Duplicate value: "main"'],
  },
  {
    name: 'a mount of an unknown volume', mutate: (c) => { c.spec.template.spec.containers[0]!.volumeMounts = [{ name: 'nope', mountPath: '/x' }]; },
    want: ['spec.template.spec.containers[0].volumeMounts[0].name: Not found: "nope"'],
  },
  { name: 'restartPolicy Never', mutate: (c) => { c.spec.template.spec.restartPolicy = 'Never'; }, want: ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'] },
  { name: 'activeDeadlineSeconds', mutate: (c) => { c.spec.template.spec.activeDeadlineSeconds = 10; }, want: ['spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in cloneset is not Supported'] },
  {
    name: 'duplicate podsToDelete', mutate: (c) => { c.spec.scaleStrategy = { podsToDelete: ['a', 'b', 'a', 'b', 'c'] }; },
    want: ['spec.scaleStrategy.podsToDelete: Invalid value: ["a","b","a","b","c"]: duplicated items [a b]'],
  },
  { name: 'an unknown update type', mutate: (c) => { c.spec.updateStrategy!.type = 'Rolling' as 'ReCreate'; }, want: ["spec.updateStrategy.type: Invalid value: \"Rolling\": must be 'ReCreate', InPlaceIfPossible or 'InPlaceOnly'"] },
  {
    name: 'an unparsable partition', mutate: (c) => { c.spec.updateStrategy!.partition = 'abc'; },
    want: ['spec.updateStrategy.partition: Invalid value: "abc": failed getValueFromIntOrPercent for partition: invalid value for IntOrString: invalid value "abc": strconv.Atoi: parsing "abc": invalid syntax'],
  },
  { name: 'a negative partition', mutate: (c) => { c.spec.updateStrategy!.partition = -1; }, want: ['spec.updateStrategy.partition: Invalid value: -1: must be greater than or equal to 0'] },
  { name: 'a negative partition percentage', mutate: (c) => { c.spec.updateStrategy!.partition = '-20%'; }, want: ['spec.updateStrategy.partition: Invalid value: -1: must be greater than or equal to 0'] },
  {
    name: 'an unparsable maxUnavailable', mutate: (c) => { c.spec.updateStrategy!.maxUnavailable = 'x'; },
    want: [
      'spec.updateStrategy.maxUnavailable: Invalid value: "x": failed getValueFromIntOrPercent for maxUnavailable: invalid value for IntOrString: invalid value "x": strconv.Atoi: parsing "x": invalid syntax',
      'spec.updateStrategy.maxUnavailable: Invalid value: "x": maxUnavailable and maxSurge should not both be less than 1',
    ],
  },
  {
    name: 'an unparsable maxSurge', mutate: (c) => { c.spec.updateStrategy!.maxSurge = 'y%'; },
    want: ['spec.updateStrategy.maxSurge: Invalid value: "y%": failed getValueFromIntOrPercent for maxSurge: invalid value for IntOrString: invalid value "y%": strconv.Atoi: parsing "y": invalid syntax'],
  },
  {
    name: 'maxSurge with InPlaceOnly', mutate: (c) => { c.spec.updateStrategy = { ...c.spec.updateStrategy, type: 'InPlaceOnly', maxSurge: 1 }; },
    want: ['spec.updateStrategy.maxSurge: Invalid value: "1": can not use maxSurge with strategy type InPlaceOnly'],
  },
  {
    name: 'maxUnavailable and maxSurge both below one', mutate: (c) => { c.spec.updateStrategy!.maxUnavailable = 0; },
    want: ['spec.updateStrategy.maxUnavailable: Invalid value: 0: maxUnavailable and maxSurge should not both be less than 1'],
  },
  {
    name: 'both priority kinds', mutate: (c) => { c.spec.updateStrategy!.priorityStrategy = { orderPriority: [{ orderedKey: 'k' }], weightPriority: [{ weight: 1, matchSelector: { matchLabels: { a: 'b' } } }] }; },
    want: ['spec.updateStrategy.priorityStrategy: Required value: only one of weightPriority and orderPriority can be used'],
  },
  {
    name: 'a priority weight above 100', mutate: (c) => { c.spec.updateStrategy!.priorityStrategy = { weightPriority: [{ weight: 101, matchSelector: { matchLabels: { a: 'b' } } }] }; },
    want: ['spec.updateStrategy.priorityStrategy: Required value: weight must be valid number in the range 1-100'],
  },
  {
    name: 'an empty priority selector', mutate: (c) => { c.spec.updateStrategy!.priorityStrategy = { weightPriority: [{ weight: 1, matchSelector: {} }] }; },
    want: ['spec.updateStrategy.priorityStrategy: Required value: selector can not be empty'],
  },
  {
    name: 'an invalid priority selector', mutate: (c) => { c.spec.updateStrategy!.priorityStrategy = { weightPriority: [{ weight: 1, matchSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }] }; },
    want: ["spec.updateStrategy.priorityStrategy: Required value: invalid selector matchSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"],
  },
  {
    name: 'an empty order key', mutate: (c) => { c.spec.updateStrategy!.priorityStrategy = { orderPriority: [{ orderedKey: '' }] }; },
    want: ['spec.updateStrategy.priorityStrategy: Required value: order key can not be empty'],
  },
  { name: 'an empty scatter key', mutate: (c) => { c.spec.updateStrategy!.scatterStrategy = [{ key: '', value: 'a' }]; }, want: ['spec.updateStrategy.scatterStrategy: Required value: key should not be empty'] },
  {
    name: 'a duplicate scatter term', mutate: (c) => { c.spec.updateStrategy!.scatterStrategy = [{ key: 'z', value: 'a' }, { key: 'z', value: 'a' }]; },
    want: ['spec.updateStrategy.scatterStrategy: Required value: duplicated key=z value=a'],
  },
];

for (const c of CASES) {
  test(`a CloneSet with ${c.name} is rejected with upstream's message`, () => {
    assert.deepEqual(messages(base(c.mutate)), c.want);
  });
}

test('zero replicas need no update budget', () => {
  assert.deepEqual(messages(base((c) => { c.spec.replicas = 0; c.spec.updateStrategy!.maxUnavailable = 0; })), []);
});

test('volume mounts may reference volumeClaimTemplates', () => {
  assert.deepEqual(messages(base((c) => { c.spec.template.spec.containers[0]!.volumeMounts = [{ name: 'data', mountPath: '/data' }]; })), []);
});

test('maxSurge alone gives enough update budget', () => {
  assert.deepEqual(messages(base((c) => { c.spec.updateStrategy!.maxUnavailable = 0; c.spec.updateStrategy!.maxSurge = '10%'; })), []);
});

const UPDATES: { name: string; mutate: Mutate; want: string[] }[] = [
  { name: 'replicas, template, strategies, minReadySeconds, lifecycle and history limit change', want: [], mutate: (c) => {
    c.spec.replicas = 7; c.spec.template.spec.containers[0]!.env = [{ name: 'A', value: 'b' }];
    c.spec.scaleStrategy = { podsToDelete: [] }; c.spec.updateStrategy!.paused = true; c.spec.minReadySeconds = 5;
    c.spec.lifecycle = { preDelete: { finalizersHandler: ['x/y'] } }; c.spec.revisionHistoryLimit = 3;
  } },
  {
    name: 'the selector changes', mutate: (c) => { c.spec.selector = { matchLabels: { app: 'demo', tier: 'web' } }; c.spec.template.metadata!.labels!['tier'] = 'web'; },
    want: ["spec: Forbidden: updates to cloneset spec for fields other than 'replicas', 'template', 'lifecycle', 'scaleStrategy', 'updateStrategy', 'minReadySeconds' and 'revisionHistoryLimit' are forbidden"],
  },
  {
    name: 'volumeClaimTemplates change', mutate: (c) => { c.spec.volumeClaimTemplates = []; },
    want: ["spec: Forbidden: updates to cloneset spec for fields other than 'replicas', 'template', 'lifecycle', 'scaleStrategy', 'updateStrategy', 'minReadySeconds' and 'revisionHistoryLimit' are forbidden"],
  },
];

for (const u of UPDATES) {
  test(`an update where ${u.name} gives ${u.want.length === 0 ? 'no error' : 'the immutability error'}`, () => {
    const old = base();
    assert.deepEqual(messages(base(u.mutate), old), u.want);
  });
}

test('an InPlaceOnly CloneSet may change only container images', () => {
  const inPlace: Mutate = (c) => { c.spec.updateStrategy = { ...c.spec.updateStrategy, type: 'InPlaceOnly' }; };
  const old = base(inPlace);
  assert.deepEqual(messages(base((c) => { inPlace(c); c.spec.template.spec.containers[0]!.image = 'nginx:1.26'; }), old), []);
  assert.deepEqual(messages(base((c) => { inPlace(c); c.spec.template.spec.containers[0]!.env = [{ name: 'A', value: 'b' }]; }), old),
    ['spec: Forbidden: only allowed to update images in spec for InPlaceOnly, but found add /containers/0/env']);
  assert.deepEqual(messages(base((c) => { inPlace(c); c.spec.template.spec.containers[0]!.imagePullPolicy = 'IfNotPresent'; }), old),
    ['spec: Forbidden: only allowed to update images in spec for InPlaceOnly, but found replace /containers/0/imagePullPolicy']);
  assert.deepEqual(messages(base((c) => { inPlace(c); c.spec.template.spec.containers.push({ name: 'b', image: 'b:1', imagePullPolicy: 'Always' }); }), old),
    ['spec: Forbidden: only allowed to update images in spec for InPlaceOnly, but found add /containers/1']);
  // Template metadata may change: only the template's spec is compared.
  assert.deepEqual(messages(base((c) => { inPlace(c); c.spec.template.metadata!.annotations = { a: 'b' }; }), old), []);
});

function pod(name: string, opts: { uid?: string; deleting?: boolean } = {}): Pod {
  return {
    metadata: {
      name, namespace: 'default',
      ...(opts.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
      ownerReferences: opts.uid === undefined ? [] : [{ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', name: 'demo', uid: opts.uid, controller: true }],
    },
    spec: { containers: [{ name: 'main', image: 'nginx:1.25' }] },
  };
}

test('newly added podsToDelete are looked up when a Pod getter is given', () => {
  const pods: Record<string, Pod> = {
    mine: pod('mine', { uid: 'cs-uid' }),
    gone: pod('gone', { uid: 'cs-uid', deleting: true }),
    theirs: pod('theirs', { uid: 'other' }),
    orphan: pod('orphan'),
  };
  const calls: string[] = [];
  const getPod = (ns: string, name: string): Pod | Error => {
    calls.push(`${ns}/${name}`);
    return pods[name] ?? new Error(`pods "${name}" not found`);
  };
  const old = base((c) => { c.spec.scaleStrategy = { podsToDelete: ['already'] }; });
  const cs = base((c) => { c.spec.scaleStrategy = { podsToDelete: ['already', 'mine', 'gone', 'theirs', 'orphan', 'missing'] }; });
  const errs = validateCloneSet(cs, old, { getPod }).map(fieldErrorMessage);
  assert.deepEqual(errs, [
    'spec.scaleStrategy.podsToDelete: Invalid value: "gone": find pod gone already terminating',
    'spec.scaleStrategy.podsToDelete: Invalid value: "missing": find pod missing failed: pods "missing" not found',
    'spec.scaleStrategy.podsToDelete: Invalid value: "orphan": find pod orphan owner is not this CloneSet',
    'spec.scaleStrategy.podsToDelete: Invalid value: "theirs": find pod theirs owner is not this CloneSet',
  ]);
  assert.ok(!calls.includes('default/already'), 'names already in the old list are not looked up');
});

test('without a Pod getter podsToDelete lookups are left to the caller', () => {
  assert.deepEqual(messages(base((c) => { c.spec.scaleStrategy = { podsToDelete: ['whatever'] }; })), []);
});
