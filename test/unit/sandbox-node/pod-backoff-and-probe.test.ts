/**
 * The two pure state models under the pod planner: kubelet's per-key back-off and the readiness probe counters.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  backoffRemainingSince, backoffRemainingSinceUpdate, formatGoDuration, KUBELET_BACKOFF, nextBackoff, type BackoffEntry,
} from '../../../src/sandbox/node/pods/backoff.js';
import {
  compileProbe, INITIAL_PROBE_STATE, nextProbeDueMs, recordProbeResult,
} from '../../../src/sandbox/node/pods/readiness-probe.js';

const T0 = 1_700_000_000_000;
const S = 1000;

describe('kubelet back-off', () => {
  it('starts at 10 s, doubles, and caps at 300 s', () => {
    let e: BackoffEntry | undefined;
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      e = nextBackoff(e, T0 + i * S, T0 + i * S, KUBELET_BACKOFF);
      seen.push(e.backoffMs / S);
    }
    assert.deepEqual(seen, [10, 20, 40, 80, 160, 300, 300, 300]);
  });

  it('forgets an entry whose last update is more than 10 minutes before the event', () => {
    const e = { backoffMs: 160 * S, lastUpdateMs: T0 };
    assert.equal(nextBackoff(e, T0 + 600 * S, T0 + 600 * S, KUBELET_BACKOFF).backoffMs, 300 * S);
    assert.equal(nextBackoff(e, T0 + 601 * S, T0 + 601 * S, KUBELET_BACKOFF).backoffMs, 10 * S);
    assert.equal(backoffRemainingSince(e, T0 + 601 * S, T0 + 602 * S, KUBELET_BACKOFF), 0);
  });

  it('measures a container back-off from its death and an image back-off from the last failure', () => {
    const e = { backoffMs: 20 * S, lastUpdateMs: T0 };
    assert.equal(backoffRemainingSince(e, T0 + 5 * S, T0 + 10 * S, KUBELET_BACKOFF), 15 * S);
    assert.equal(backoffRemainingSinceUpdate(e, T0 + 10 * S, KUBELET_BACKOFF), 10 * S);
    assert.equal(backoffRemainingSince(undefined, T0, T0, KUBELET_BACKOFF), 0);
  });

  it('prints durations as Go does', () => {
    assert.deepEqual([10 * S, 80 * S, 300 * S, 500].map(formatGoDuration), ['10s', '1m20s', '5m0s', '500ms']);
  });
});

describe('readiness probe state', () => {
  const probe = compileProbe({ exec: { command: ['true'] }, initialDelaySeconds: 2, periodSeconds: 5, successThreshold: 2, failureThreshold: 2 });

  it('has Kubernetes defaults and none for probes it cannot run', () => {
    assert.deepEqual(compileProbe({ exec: { command: ['true'] } }), {
      command: ['true'], initialDelayMs: 0, timeoutSeconds: 1, periodMs: 10 * S, successThreshold: 1, failureThreshold: 3,
    });
    assert.equal(compileProbe({ httpGet: { port: 80 } }), undefined);
    assert.equal(compileProbe(undefined), undefined);
  });

  it('becomes ready after successThreshold successes and unready after failureThreshold failures', () => {
    assert.ok(probe);
    let s = INITIAL_PROBE_STATE;
    assert.equal(nextProbeDueMs(probe, s, T0), T0 + 2 * S);
    s = recordProbeResult(probe, s, true, T0 + 2 * S);
    assert.equal(s.ready, false);
    assert.equal(nextProbeDueMs(probe, s, T0), T0 + 7 * S);
    s = recordProbeResult(probe, s, true, T0 + 7 * S);
    assert.equal(s.ready, true);
    s = recordProbeResult(probe, s, false, T0 + 12 * S);
    assert.equal(s.ready, true);
    s = recordProbeResult(probe, s, false, T0 + 17 * S);
    assert.equal(s.ready, false);
  });
});
