/**
 * Test support: a real HTTPS admission webhook on 127.0.0.1, port 0, serving a certificate from the sandbox PKI.
 * Each path is one behaviour; every review received is recorded.
 */
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSandboxPki, type SandboxPki } from '../../../src/sandbox/apiserver/pki.js';

export interface ReceivedCall {
  path: string;
  query: URLSearchParams;
  review: { apiVersion: string; kind: string; request: Record<string, unknown> & { uid: string } };
}

/** What a path answers: a `response` object (uid filled in unless given), a raw reply, or never. */
export type Behaviour =
  | { response: Record<string, unknown>; envelope?: Record<string, unknown> }
  | { raw: { status: number; body: string } }
  | 'hang';

export interface WebhookServer {
  pki: SandboxPki;
  port: number;
  url(path: string): string;
  caBundle: string;
  calls: ReceivedCall[];
  on(path: string, behaviour: Behaviour | ((call: ReceivedCall) => Behaviour)): void;
  close(): Promise<void>;
}

export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export function jsonPatch(ops: unknown[]): { patchType: 'JSONPatch'; patch: string } {
  return { patchType: 'JSONPatch', patch: b64(JSON.stringify(ops)) };
}

export async function startWebhookServer(): Promise<WebhookServer> {
  const pki = await createSandboxPki({ hostnames: ['localhost'], ipAddresses: [], now: new Date() });
  const routes = new Map<string, Behaviour | ((call: ReceivedCall) => Behaviour)>();
  const calls: ReceivedCall[] = [];
  const server = https.createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      const call: ReceivedCall = { path: url.pathname, query: url.searchParams, review: JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedCall['review'] };
      calls.push(call);
      const route = routes.get(url.pathname);
      const behaviour = typeof route === 'function' ? route(call) : route;
      if (behaviour === undefined) {
        res.writeHead(404).end('no such webhook');
        return;
      }
      if (behaviour === 'hang') return;
      if ('raw' in behaviour) {
        res.writeHead(behaviour.raw.status, { 'content-type': 'application/json' }).end(behaviour.raw.body);
        return;
      }
      const body = {
        apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
        ...behaviour.envelope,
        response: { uid: call.review.request.uid, ...behaviour.response },
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    pki,
    port,
    url: (path) => `https://127.0.0.1:${port}${path}`,
    caBundle: b64(pki.caCertPem),
    calls,
    on: (path, behaviour) => { routes.set(path, behaviour); },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A port nothing listens on: bound, then released. */
export async function unusedPort(): Promise<number> {
  const s = https.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  s.close();
  await once(s, 'close');
  return port;
}
