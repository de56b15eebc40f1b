/**
 * The agent's CRI connection: a late runtime is retried, reported on /readyz, and waited for by callers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CriConnector } from '../../../src/agent/cri-connector.js';
import { buildAgent } from '../../../src/agent/agent-controllers.js';
import type { CriApi } from '../../../src/cri/cri-api.js';
import { CriDiscoveryError, type DiscoveredCriEndpoint } from '../../../src/cri/endpoint-discovery.js';
import { parseCriEndpoint } from '../../../src/cri/cri-endpoint.js';
import { pino } from 'pino';

async function waitFor(cond: () => boolean, what: string, deadlineMs = 2000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function found(): DiscoveredCriEndpoint {
  return {
    endpoint: parseCriEndpoint('unix:///run/test.sock'), runtime: 'explicit', probes: [],
    version: { version: '0.1.0', runtimeName: 'fake', runtimeVersion: '1', runtimeApiVersion: 'v1' },
  };
}

describe('CriConnector', () => {
  it('should report the discovery error as not ready, retry, and hand the client to waiting callers', async () => {
    let calls = 0;
    let destroyed = false;
    const fake = { destroy: async () => { destroyed = true; } } as unknown as CriApi;
    const connector = new CriConnector({
      initialBackoffMs: 2, maxBackoffMs: 4,
      discover: async () => {
        calls++;
        if (calls < 3) throw new CriDiscoveryError([{ path: '/run/containerd/containerd.sock', runtime: 'containerd', problem: 'no such file' }], 'hint');
        return found();
      },
      connect: () => fake,
    });
    const stop = new AbortController();
    const waiting = connector.get(stop.signal);
    const running = connector.start(stop.signal);
    await waitFor(() => calls >= 1, 'the first discovery');
    await waitFor(() => typeof connector.readinessCheck() === 'string' && String(connector.readinessCheck()).includes('no such file'), 'the error on /readyz');
    assert.equal(await waiting, fake);
    assert.equal(calls, 3);
    assert.equal(connector.readinessCheck(), true);
    stop.abort();
    await running;
    assert.ok(destroyed, 'the client is closed when the agent stops');
  });

  it('should let a waiting caller give up', async () => {
    const connector = new CriConnector({ discover: () => new Promise(() => undefined) });
    const giveUp = new AbortController();
    const waiting = connector.get(giveUp.signal);
    giveUp.abort(new Error('stopped'));
    await assert.rejects(waiting, /stopped/);
  });
});

describe('buildAgent', () => {
  it('should refuse a malformed --cri-endpoint at start-up but not a missing runtime', () => {
    const logger = pino({ level: 'silent' });
    assert.throws(() => buildAgent({ nodeName: 'n', logger, criEndpoint: 'tcp://1.2.3.4:1' }));
    const parts = buildAgent({ nodeName: 'n', logger, criEndpoint: 'unix:///nonexistent/cri.sock' });
    assert.match(String(parts.criReadiness()), /not run yet/);
  });
});
