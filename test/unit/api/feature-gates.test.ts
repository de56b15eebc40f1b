import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FEATURE_GATE_NAMES, KruiseError, defaultFeatureGates, featureGateDefaultsForCustomResourceEnable,
  parseFeatureGates, sandboxFeatureGates, type FeatureGateName,
} from '../../../src/api/index.js';

const V090_DEFAULTS: Record<FeatureGateName, boolean> = {
  PodWebhook: true,
  KruiseDaemon: true,
  CloneSetShortHash: false,
  KruisePodReadinessGate: false,
  PreDownloadImageForInPlaceUpdate: false,
  CloneSetPartitionRollback: false,
  ResourcesDeletionProtection: false,
};

test('the defaults are v0.9.0 defaults', () => {
  assert.deepEqual({ ...defaultFeatureGates().values }, V090_DEFAULTS);
  assert.deepEqual([...FEATURE_GATE_NAMES].sort(), Object.keys(V090_DEFAULTS).sort());
});

test('an empty flag keeps the base', () => {
  assert.deepEqual({ ...parseFeatureGates('').values }, V090_DEFAULTS);
  assert.deepEqual({ ...parseFeatureGates(' , ').values }, V090_DEFAULTS);
});

const CASES: { flag: string; expect: Partial<Record<FeatureGateName, boolean>> }[] = [
  { flag: 'ResourcesDeletionProtection=true', expect: { ResourcesDeletionProtection: true } },
  { flag: 'ResourcesDeletionProtection=true,PreDownloadImageForInPlaceUpdate=true', expect: { ResourcesDeletionProtection: true, PreDownloadImageForInPlaceUpdate: true } },
  { flag: ' KruiseDaemon = false ', expect: { KruiseDaemon: false } },
  { flag: 'CloneSetShortHash=1,PodWebhook=T', expect: { CloneSetShortHash: true, PodWebhook: true } },
  { flag: 'AllAlpha=true', expect: { CloneSetShortHash: true, KruisePodReadinessGate: true, PreDownloadImageForInPlaceUpdate: true, CloneSetPartitionRollback: true, ResourcesDeletionProtection: true } },
  { flag: 'AllAlpha=true,CloneSetShortHash=false', expect: { CloneSetShortHash: false, KruisePodReadinessGate: true, PreDownloadImageForInPlaceUpdate: true, CloneSetPartitionRollback: true, ResourcesDeletionProtection: true } },
  { flag: 'CloneSetShortHash=false,AllAlpha=true', expect: { CloneSetShortHash: false, KruisePodReadinessGate: true, PreDownloadImageForInPlaceUpdate: true, CloneSetPartitionRollback: true, ResourcesDeletionProtection: true } },
  { flag: 'AllBeta=false', expect: { PodWebhook: false, KruiseDaemon: false } },
  { flag: 'AllBeta=false,KruiseDaemon=true', expect: { PodWebhook: false } },
];

for (const { flag, expect } of CASES) {
  test(`the flag "${flag}" sets exactly the expected gates`, () => {
    const gates = parseFeatureGates(flag);
    assert.deepEqual({ ...gates.values }, { ...V090_DEFAULTS, ...expect });
    for (const [name, value] of Object.entries(expect)) assert.equal(gates.enabled(name as FeatureGateName), value);
  });
}

const BAD: { flag: string; message: string }[] = [
  { flag: 'NoSuchGate=true', message: 'unrecognized feature gate: NoSuchGate' },
  { flag: 'PodWebhook=yes', message: 'invalid value of PodWebhook=yes, err: strconv.ParseBool: parsing "yes": invalid syntax' },
  { flag: 'PodWebhook', message: 'missing bool value for PodWebhook' },
  { flag: 'PodWebhook=', message: 'invalid value of PodWebhook=, err: strconv.ParseBool: parsing "": invalid syntax' },
  { flag: 'KruisePodReadinessGate=true,PodWebhook=false', message: 'can not enable feature-gate KruisePodReadinessGate because of PodWebhook disabled' },
  { flag: 'AllAlpha=true,AllBeta=false', message: 'can not enable feature-gate KruisePodReadinessGate because of PodWebhook disabled' },
];

for (const { flag, message } of BAD) {
  test(`the flag "${flag}" is rejected with reason Invalid and a message naming the gate`, () => {
    assert.throws(() => parseFeatureGates(flag), (err: unknown) => {
      assert.ok(KruiseError.is(err));
      assert.equal(err.reason, 'Invalid');
      assert.equal(err.message, message);
      return true;
    });
  });
}

test('the gates object is frozen', () => {
  const gates = parseFeatureGates('CloneSetShortHash=true');
  assert.ok(Object.isFrozen(gates));
  assert.ok(Object.isFrozen(gates.values));
  assert.throws(() => { (gates.values as Record<string, boolean>)['PodWebhook'] = false; }, TypeError);
});

test('asking for an unknown gate at run time is an error, not false', () => {
  assert.throws(() => defaultFeatureGates().enabled('Nope' as FeatureGateName), /unrecognized feature gate: Nope/);
});

test('parsing applies over a given base', () => {
  const base = parseFeatureGates('CloneSetShortHash=true');
  assert.equal(parseFeatureGates('KruiseDaemon=false', base).enabled('CloneSetShortHash'), true);
});

test('the sandbox turns on the four v0.9 alpha gates unless the flag says otherwise', () => {
  const gates = sandboxFeatureGates();
  for (const g of ['ResourcesDeletionProtection', 'PreDownloadImageForInPlaceUpdate', 'CloneSetPartitionRollback', 'CloneSetShortHash'] as const) {
    assert.equal(gates.enabled(g), true, g);
  }
  assert.equal(gates.enabled('KruisePodReadinessGate'), false);
  assert.equal(sandboxFeatureGates('CloneSetShortHash=false').enabled('CloneSetShortHash'), false);
  assert.equal(sandboxFeatureGates('AllAlpha=false').enabled('ResourcesDeletionProtection'), false);
});

test('CUSTOM_RESOURCE_ENABLE without SidecarSet turns the PodWebhook default off', () => {
  assert.equal(featureGateDefaultsForCustomResourceEnable(undefined).enabled('PodWebhook'), true);
  assert.equal(featureGateDefaultsForCustomResourceEnable('  ').enabled('PodWebhook'), true);
  assert.equal(featureGateDefaultsForCustomResourceEnable('CloneSet,SidecarSet').enabled('PodWebhook'), true);
  assert.equal(featureGateDefaultsForCustomResourceEnable('CloneSet').enabled('PodWebhook'), false);
});

test('toString lists every gate', () => {
  assert.equal(defaultFeatureGates().toString(),
    'PodWebhook=true,KruiseDaemon=true,CloneSetShortHash=false,KruisePodReadinessGate=false,PreDownloadImageForInPlaceUpdate=false,CloneSetPartitionRollback=false,ResourcesDeletionProtection=false');
});
