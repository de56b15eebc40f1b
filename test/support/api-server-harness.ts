/**
 * Starts an embedded API server on a free port for one test file, with a kubeconfig for client-node and kubectl.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../../src/api/meta.js';
import { ApiServer, type ApiServerOptions } from '../../src/sandbox/apiserver/api-server.js';
import { createSandboxPki } from '../../src/sandbox/apiserver/pki.js';
import { renderKubeconfig, writeKubeconfig } from '../../src/sandbox/kubeconfig.js';
import { DEFAULT_CRD_DIR, readManifests } from '../../src/sandbox/sandbox.js';

export interface Harness {
  server: ApiServer;
  url: string;
  token: string;
  caCertPem: string;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  dir: string;
  /** fetch against the server with the token and CA. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; json: unknown; text: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions extends Partial<Omit<ApiServerOptions, 'tls' | 'tokens'>> {
  /** Apply deploy/crds at start. @default true */
  crds?: boolean;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'kruise-ts-test-'));
  const pki = await createSandboxPki({ hostnames: ['localhost'], ipAddresses: ['127.0.0.1'], now: new Date() });
  const token = randomBytes(16).toString('hex');
  const server = await ApiServer.start({
    port: 0,
    ...opts,
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
    tokens: new Map([[token, { username: 'test-admin', groups: ['system:masters'] }]]),
  });
  if (opts.crds !== false) {
    for (const crd of await readManifests(DEFAULT_CRD_DIR)) await server.applyObject(crd as KubeObject);
    await server.idle();
  }
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeKubeconfig(kubeconfigPath, { server: server.url, caCertPem: pki.caCertPem, token });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(renderKubeconfig({ server: server.url, caCertPem: pki.caCertPem, token }));
  const request: Harness['request'] = async (method, path, body, headers = {}) => {
    const https = await import('node:https');
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = https.request(`${server.url}${path}`, {
        method, ca: pki.caCertPem,
        // Content-Length always: Node sends a DELETE body unframed otherwise, and the server sees garbage.
        headers: { Authorization: `Bearer ${token}`, ...(payload !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) } : {}), ...headers },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try { json = JSON.parse(text); } catch { json = undefined; }
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve({ status: res.statusCode ?? 0, headers: h, json, text });
        });
      });
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  };
  return {
    server, url: server.url, token, caCertPem: pki.caCertPem, kubeconfigPath, kubeConfig, dir, request,
    close: async () => { await server.close(); await rm(dir, { recursive: true, force: true }); },
  };
}

/** Polls `check` until it returns a truthy value or the deadline passes (no fixed sleeps in tests). */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) { last = e; }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
