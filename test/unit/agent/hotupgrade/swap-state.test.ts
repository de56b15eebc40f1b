import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../../../../src/api/pod-types.js';
import type { HotUpgradeRequest } from '../../../../src/api/sidecarset-hot-upgrade.js';
import {
  applySwapWrite, parseSwapStatus, planSwap, transition, type ObservedSwapContainer, type SwapInput, type SwapStatus, type SwapStep,
} from '../../../../src/agent/hotupgrade/swap-state.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const request: HotUpgradeRequest = { sidecarSet: 'ss', resourceVersion: '22', sidecars: [{ name: 'p', image: 'p:2', emptyImage: 'empty:1' }] };

function pod(images: [string, string], working = 'p-1', extra: Record<string, string> = {}): Pod {
  return {
    metadata: {
      name: 'pod', namespace: 'ns', uid: 'u',
      annotations: {
        'kruise.io/sidecarset-working-hotupgrade-container': JSON.stringify({ p: working }),
        'version.sidecarset.kruise.io/p-1': '1', 'versionalt.sidecarset.kruise.io/p-1': '0',
        'version.sidecarset.kruise.io/p-2': '0', 'versionalt.sidecarset.kruise.io/p-2': '1',
        'kruise-ts.io/sidecarset-hot-upgrade-request': JSON.stringify(request),
        ...extra,
      },
    },
    spec: { containers: [{ name: 'p-1', image: images[0] }, { name: 'p-2', image: images[1] }, { name: 'app', image: 'app:1' }] },
  } as Pod;
}

const specImage = (p: Pod, name: string): string | undefined => p.spec.containers.find((c) => c.name === name)?.image;
const run = (image: string, ready = true): ObservedSwapContainer => ({ runningImage: image, started: true, ready });

function input(p: Pod, observed: Record<string, ObservedSwapContainer>, now = T0, o: Partial<SwapInput> = {}): SwapInput {
  return { pod: p, request, status: parseSwapStatus(p), observed, now, timeoutMs: 120_000, pollMs: 500, sameImage: (a, b) => a === b, ...o };
}

function write(step: SwapStep) {
  assert.ok(step.kind === 'write', `expected a write, got ${JSON.stringify(step)}`);
  return step.write;
}

const ALL = new Set(['p:2', 'empty:1']);

describe('hot-upgrade swap state machine', () => {
  it('should walk (slow pull) Pulling → WaitingTarget (switch) → WaitingReset (reset) → Succeeded, each step one write', () => {
    let p = pod(['p:1', 'empty:1']);
    const rows: {
      observed: Record<string, ObservedSwapContainer>; at: number; phase: string; kind: SwapStep['kind']; present?: Set<string>;
    }[] = [
      { observed: { 'p-1': run('p:1'), 'p-2': run('empty:1') }, at: 0, phase: 'Pulling', kind: 'pull', present: new Set() },
      { observed: { 'p-1': run('p:1'), 'p-2': run('empty:1') }, at: 1, phase: 'Pulling', kind: 'pull', present: new Set(['empty:1']) },
      { observed: { 'p-1': run('p:1'), 'p-2': run('empty:1') }, at: 2, phase: 'WaitingTarget', kind: 'write', present: ALL },
      { observed: { 'p-1': run('p:1'), 'p-2': run('p:2', false) }, at: 3, phase: 'WaitingTarget', kind: 'wait' },
      { observed: { 'p-1': run('p:1'), 'p-2': run('p:2') }, at: 4, phase: 'WaitingReset', kind: 'write' },
      { observed: { 'p-2': run('p:2') }, at: 6, phase: 'WaitingReset', kind: 'wait' },
      { observed: { 'p-1': run('empty:1'), 'p-2': run('p:2') }, at: 7, phase: 'Succeeded', kind: 'write' },
    ];
    for (const row of rows) {
      const step = planSwap(input(p, row.observed, T0 + row.at * 1000, row.present ? { presentImages: row.present } : {}));
      assert.equal(step.kind, row.kind, `row ${row.at}`);
      if (step.kind === 'wait') {
        assert.equal(parseSwapStatus(p)?.phase, row.phase, `row ${row.at}`);
        continue;
      }
      if (step.kind === 'pull') {
        assert.deepEqual(step.images, row.at === 0 ? ['p:2', 'empty:1'] : ['p:2'], 'only what the node lacks');
        if (row.at > 0) {
          assert.equal(step.whileSlow, undefined, 'Pulling is recorded already');
          continue;
        }
      }
      const w = step.kind === 'pull' ? step.whileSlow! : write(step);
      assert.equal(w.status.phase, row.phase, `row ${row.at}`);
      if (w.status.phase === 'WaitingTarget') {
        assert.deepEqual(w.images, { 'p-2': 'p:2' });
        assert.deepEqual([w.status.startedAt, w.status.switchedAt], [new Date(T0).toISOString(), new Date(T0 + 2000).toISOString()]);
      }
      if (w.status.phase === 'WaitingReset') {
        assert.deepEqual(w.images, { 'p-1': 'empty:1' });
        assert.deepEqual([w.status.targetRunningAt, w.status.resetAt], [new Date(T0 + 4000).toISOString(), new Date(T0 + 4000).toISOString()]);
      }
      p = applySwapWrite(p, w);
    }
    const a = p.metadata.annotations!;
    assert.deepEqual(p.spec.containers.map((c) => c.image), ['empty:1', 'p:2', 'app:1']);
    assert.equal(a['kruise.io/sidecarset-working-hotupgrade-container'], '{"p":"p-2"}');
    assert.deepEqual([a['version.sidecarset.kruise.io/p-2'], a['versionalt.sidecarset.kruise.io/p-2'],
      a['version.sidecarset.kruise.io/p-1'], a['versionalt.sidecarset.kruise.io/p-1']], ['22', '0', '0', '22']);
    assert.equal(a['kruise-ts.io/sidecarset-hot-upgrade-request'], undefined, 'request removed: swap done');
    const st = parseSwapStatus(p)!;
    assert.deepEqual([st.phase, st.target, st.durationMs], ['Succeeded', { p: 'p-2' }, 7000]);
  });

  it('should switch in its first write when the images are already on the node', () => {
    const p = pod(['p:1', 'empty:1']);
    const observed = { 'p-1': run('p:1'), 'p-2': run('empty:1') };
    const w = write(planSwap(input(p, observed, T0, { presentImages: new Set(['p:2', 'empty:1']) })));
    assert.deepEqual([w.status.phase, w.status.target, w.images], ['WaitingTarget', { p: 'p-2' }, { 'p-2': 'p:2' }]);
    assert.deepEqual([w.status.startedAt, w.status.switchedAt], [new Date(T0).toISOString(), new Date(T0).toISOString()]);
    // One image missing: pull it (Pulling is written only if the pull is slow), then plan again from the same start:
    // the switch, stamped when it is written.
    const missing = planSwap(input(p, observed, T0, { presentImages: new Set(['empty:1']) }));
    assert.ok(missing.kind === 'pull');
    assert.deepEqual([missing.images, missing.whileSlow?.status.phase, missing.whileSlow?.images], [['p:2'], 'Pulling', {}]);
    const after = write(planSwap(input(p, observed, T0 + 150, { presentImages: ALL, startedAt: T0 })));
    assert.deepEqual([after.status.phase, after.status.startedAt, after.status.switchedAt],
      ['WaitingTarget', new Date(T0).toISOString(), new Date(T0 + 150).toISOString()]);
  });

  it('should carry on from a Switching or Resetting status an earlier agent wrote', () => {
    const at = new Date(T0).toISOString();
    const resetting: SwapStatus = { phase: 'Resetting', sidecarSet: 'ss', resourceVersion: '22', startedAt: at, targetRunningAt: at, target: { p: 'p-2' } };
    const p = pod(['p:1', 'p:2'], 'p-2', { 'kruise-ts.io/sidecarset-hot-upgrade-status': JSON.stringify(resetting) });
    const w = write(planSwap(input(p, { 'p-1': run('p:1'), 'p-2': run('p:2') }, T0 + 1000)));
    assert.deepEqual([w.status.phase, w.images], ['WaitingReset', { 'p-1': 'empty:1' }]);
  });

  it('should time out a swap with nothing to switch whose working container does not run', () => {
    const at = new Date(T0).toISOString();
    const st: SwapStatus = { phase: 'WaitingTarget', sidecarSet: 'ss', resourceVersion: '22', startedAt: at, switchedAt: at, target: {} };
    const p = pod(['p:2', 'p:1'], 'p-1', { 'kruise-ts.io/sidecarset-hot-upgrade-status': JSON.stringify(st) });
    assert.equal(planSwap(input(p, {}, T0 + 1000)).kind, 'wait');
    const w = write(planSwap(input(p, {}, T0 + 120_000)));
    assert.deepEqual([w.status.phase, w.events[0]?.reason], ['Failed', 'ResetContainerFailed']);
  });

  it('should emit SidecarHotUpgraded and ResetContainerSucceed with the final write only', () => {
    const st: SwapStatus = { phase: 'WaitingReset', sidecarSet: 'ss', resourceVersion: '22', startedAt: new Date(T0).toISOString(), resetAt: new Date(T0).toISOString(), target: { p: 'p-2' } };
    const p = pod(['empty:1', 'p:2'], 'p-2', { 'kruise-ts.io/sidecarset-hot-upgrade-status': JSON.stringify(st) });
    const w = write(planSwap(input(p, { 'p-1': run('empty:1'), 'p-2': run('p:2') }, T0 + 100)));
    assert.deepEqual(w.events.map((e) => e.reason), ['SidecarHotUpgraded', 'ResetContainerSucceed']);
    assert.equal(w.result, 'succeeded');
  });

  it('should not redo a switch that already landed before a restart', () => {
    const st: SwapStatus = { phase: 'Switching', sidecarSet: 'ss', resourceVersion: '22', startedAt: new Date(T0).toISOString(), target: { p: 'p-2' } };
    const p = pod(['p:1', 'p:2'], 'p-2', { 'kruise-ts.io/sidecarset-hot-upgrade-status': JSON.stringify(st) });
    const w = write(planSwap(input(p, { 'p-1': run('p:1') })));
    assert.deepEqual([w.status.phase, w.images, w.annotations], ['WaitingTarget', {}, {}]);
  });

  it('should fail after the timeout, keep the old container and the request, and retarget the failed one on a new request', () => {
    const st: SwapStatus = { phase: 'WaitingTarget', sidecarSet: 'ss', resourceVersion: '22', startedAt: new Date(T0).toISOString(), switchedAt: new Date(T0).toISOString(), target: { p: 'p-2' } };
    const p = pod(['p:1', 'p:bad'], 'p-2', { 'kruise-ts.io/sidecarset-hot-upgrade-status': JSON.stringify(st) });
    const observed = { 'p-1': run('p:1'), 'p-2': run('p:bad', false) };
    assert.equal(planSwap(input(p, observed, T0 + 119_000)).kind, 'wait');
    const w = write(planSwap(input(p, observed, T0 + 120_000)));
    assert.equal(w.status.phase, 'Failed');
    assert.match(w.status.message ?? '', /did not run Ready within 120s/);
    assert.deepEqual([w.images, w.removeAnnotations, w.result, w.events[0]?.reason], [{}, [], 'failed', 'SidecarHotUpgradeFailed']);
    const failed = applySwapWrite(p, w);
    assert.deepEqual(planSwap(input(failed, observed, T0 + 200_000)), { kind: 'idle', why: 'the swap failed; waiting for a new request' });

    // The set moves on to p:3: a new request starts over, and rule 2b picks the container that is not Ready (p-2).
    const newer: HotUpgradeRequest = { ...request, resourceVersion: '30', sidecars: [{ name: 'p', image: 'p:3', emptyImage: 'empty:1' }] };
    const again = input(failed, observed, T0 + 300_000, { request: newer });
    const q = applySwapWrite(failed, write(planSwap({ ...again, presentImages: new Set(['p:3', 'empty:1']) })));
    assert.equal(parseSwapStatus(q)?.phase, 'WaitingTarget');
    assert.deepEqual(parseSwapStatus(q)?.target, { p: 'p-2' });
    assert.equal(specImage(q, 'p-2'), 'p:3');
  });

  it('should hold the reset back while the new container is not running (the invariant)', () => {
    const st: SwapStatus = { phase: 'Resetting', sidecarSet: 'ss', resourceVersion: '22', startedAt: new Date(T0).toISOString(), targetRunningAt: new Date(T0).toISOString(), target: { p: 'p-2' } };
    const p = pod(['p:1', 'p:2'], 'p-2', { 'kruise-ts.io/sidecarset-hot-upgrade-status': JSON.stringify(st) });
    assert.equal(planSwap(input(p, { 'p-1': run('p:1') }, T0 + 1000)).kind, 'wait');
    const w = write(planSwap(input(p, { 'p-1': run('p:1') }, T0 + 120_000)));
    assert.deepEqual([w.status.phase, w.images, w.events[0]?.reason], ['Failed', {}, 'ResetContainerFailed']);
  });

  it('should refuse illegal transitions and report them', () => {
    const seen: string[] = [];
    const obs = (from: string, to: string, ok: boolean): void => { seen.push(`${from}->${to}:${ok}`); };
    assert.equal(transition('Pulling', ['Pulling'], 'Switching', obs), 'Switching');
    assert.equal(transition('Pulling', ['Pulling'], 'Resetting', obs), undefined);
    assert.equal(transition('Succeeded', ['WaitingTarget'], 'Failed', obs), undefined);
    assert.deepEqual(seen, ['Pulling->Switching:true', 'Pulling->Resetting:false', 'Succeeded->Failed:false']);
  });

  it('should treat an unparsable status as none and start over', () => {
    const p = pod(['p:1', 'empty:1'], 'p-1', { 'kruise-ts.io/sidecarset-hot-upgrade-status': '{not json' });
    const step = planSwap(input(p, {}));
    assert.ok(step.kind === 'pull');
    assert.equal(step.whileSlow?.status.phase, 'Pulling');
  });

  it('should report only the transition it takes, not the slow-pull record', () => {
    const seen: string[] = [];
    planSwap(input(pod(['p:1', 'empty:1']), {}, T0, { onTransition: (from, to) => { seen.push(`${from}->${to}`); } }));
    assert.deepEqual(seen, [], 'a pull step moves nothing yet');
  });
});
