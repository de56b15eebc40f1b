import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';

import { KruiseError } from '../../../src/api/errors.js';
import { HealthServer } from '../../../src/kube/health-server.js';
import { KubeMetrics } from '../../../src/kube/metrics.js';

const logger = pino({ level: 'silent' });

interface Answer { status: number; body: string; headers: Record<string, string | string[] | undefined> }

function get(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HealthServer', () => {
  const registry = new Registry();
  const metrics = new KubeMetrics(registry);
  const server = new HealthServer({ port: 0, host: '127.0.0.1', registry, logger });
  const ac = new AbortController();
  let running: Promise<void>;
  let port = 0;
  let synced: boolean | string = 'pods not synced';
  let leader = true;

  before(async () => {
    server.addReadinessCheck('informers', () => synced);
    server.addReadinessCheck('leader-election', () => leader);
    running = server.start(ac.signal);
    port = (await server.listening()).port;
  });

  after(async () => {
    ac.abort();
    await running;
  });

  it('should answer /healthz with 200 ok', async () => {
    const r = await get(port, '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
  });

  it('should answer /readyz with 503 listing only the failing checks', async () => {
    synced = 'pods not synced';
    leader = true;
    const r = await get(port, '/readyz');
    assert.equal(r.status, 503);
    assert.equal(r.body, '[-]informers failed: pods not synced\nreadyz check failed\n');
  });

  it('should answer /readyz with 200 ok once every check passes', async () => {
    synced = true;
    leader = true;
    const r = await get(port, '/readyz');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
  });

  it('should list every check on /readyz?verbose', async () => {
    synced = true;
    leader = false;
    const r = await get(port, '/readyz?verbose');
    assert.equal(r.status, 503);
    assert.equal(r.body, '[+]informers ok\n[-]leader-election failed\nreadyz check failed\n');
  });

  it('should count a throwing check as failing with its message', async () => {
    server.addReadinessCheck('broken', () => { throw new Error('boom'); });
    synced = true;
    leader = true;
    const r = await get(port, '/readyz');
    assert.equal(r.status, 503);
    assert.match(r.body, /\[-\]broken failed: boom/);
    server.addReadinessCheck('broken', () => true);
  });

  it('should serve the registry on /metrics in its content type', async () => {
    metrics.workqueue('cloneset').added();
    metrics.observeRequest({ verb: 'LIST', resource: 'pods', code: 200, durationMs: 12 });
    metrics.relisted('pods');
    metrics.watchRestarted('pods', 'closed');
    metrics.eventReceived('pods', 'ADDED');
    const r = await get(port, '/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], registry.contentType);
    assert.match(r.body, /workqueue_adds_total\{name="cloneset"\} 1/);
    assert.match(r.body, /rest_client_requests_total\{verb="LIST",resource="pods",code="200"\} 1/);
    assert.match(r.body, /informer_relists_total\{resource="pods"\} 1/);
    assert.match(r.body, /informer_watch_restarts_total\{resource="pods",reason="closed"\} 1/);
    assert.match(r.body, /informer_events_total\{resource="pods",type="ADDED"\} 1/);
  });

  it('should answer unknown paths with 404 and other methods with 405', async () => {
    assert.equal((await get(port, '/nope')).status, 404);
    const r = await get(port, '/healthz', 'POST');
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, HEAD');
    assert.equal((await get(port, '/healthz', 'HEAD')).status, 200);
  });
});

describe('HealthServer lifecycle', () => {
  it('start() should resolve after its signal aborts and the server closed', async () => {
    const server = new HealthServer({ port: 0, host: '127.0.0.1', registry: new Registry(), logger });
    const ac = new AbortController();
    const running = server.start(ac.signal);
    const { port } = await server.listening();
    assert.equal((await get(port, '/healthz')).status, 200);
    ac.abort();
    await running;
    await assert.rejects(get(port, '/healthz'), /ECONNREFUSED/);
  });

  it('start() should reject when the port is taken', async (t) => {
    const first = new HealthServer({ port: 0, host: '127.0.0.1', registry: new Registry(), logger });
    const ac = new AbortController();
    t.after(async () => { ac.abort(); await first.close(); });
    void first.start(ac.signal);
    const { port } = await first.listening();
    const second = new HealthServer({ port, host: '127.0.0.1', registry: new Registry(), logger });
    await assert.rejects(second.start(ac.signal), /EADDRINUSE/);
    await assert.rejects(second.listening(), /EADDRINUSE/);
  });

  it('should reject an invalid port', () => {
    assert.throws(() => new HealthServer({ port: 70_000, registry: new Registry(), logger }), (e: unknown) => KruiseError.is(e) && e.fieldPath === 'port');
  });

  it('close() should resolve even if the server never started', async () => {
    const server = new HealthServer({ port: 0, registry: new Registry(), logger });
    await server.close();
  });
});

describe('HealthServer close races', () => {
  it('close() during start() should stop the server once it is bound', async () => {
    const server = new HealthServer({ port: 0, host: '127.0.0.1', registry: new Registry(), logger });
    const running = server.start(new AbortController().signal);
    const closed = server.close();
    await running;
    await closed;
  });
});
