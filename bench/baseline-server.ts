/**
 * The benchmark's baseline: the least a Kubernetes-shaped HTTPS server can do for the same requests. It checks the
 * bearer token, parses and re-serialises each written object once (adding uid, resourceVersion and
 * creationTimestamp), keeps the JSON in a Map with a spec.nodeName index, serves lists by joining stored JSON and
 * fans a status patch out to watchers as one newline-delimited event. No validation, admission, defaulting,
 * garbage collection, history or sorting. The ratio kruise-ts / baseline is therefore the cost of our API
 * machinery on this machine, with TLS, HTTP parsing and the client's own work cancelled out.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

interface Stored { obj: Record<string, unknown> & { metadata: Record<string, unknown>; spec?: { nodeName?: string } }; json: string }

interface Watcher { res: ServerResponse; nodeName: string | undefined }

export interface BaselineServer {
  url: string;
  close(): Promise<void>;
}

export async function startBaselineServer(options: { tls: { certPem: string; keyPem: string }; token: string }): Promise<BaselineServer> {
  const collections = new Map<string, Map<string, Stored>>();
  const byNode = new Map<string, Set<string>>();
  const watchers = new Set<Watcher>();
  let rv = 0;
  const expectedAuth = `Bearer ${options.token}`;

  const collection = (key: string): Map<string, Stored> => {
    let c = collections.get(key);
    if (!c) { c = new Map(); collections.set(key, c); }
    return c;
  };

  const send = (res: ServerResponse, code: number, body: string): void => {
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };

  const readJson = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.headers.authorization !== expectedAuth) { send(res, 401, '{"kind":"Status","code":401}'); return; }
    const url = new URL(req.url ?? '/', 'https://baseline.invalid');
    // /api/v1/[namespaces/<ns>/]<plural>[/<name>[/status]] or /apis/<group>/<version>/...
    const parts = url.pathname.split('/').filter((p) => p !== '');
    const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
    let ns = '';
    if (rest[0] === 'namespaces' && rest.length >= 3) { ns = rest[1]!; rest.splice(0, 2); }
    const plural = rest[0] ?? '';
    const name = rest[1];
    const key = `${parts[0] === 'api' ? '' : parts[1]}/${plural}`;

    if (req.method === 'POST' && name === undefined) {
      const obj = await readJson(req) as Stored['obj'];
      const meta = obj.metadata;
      if (ns) meta.namespace = ns;
      meta.uid = randomUUID();
      meta.resourceVersion = String(++rv);
      meta.creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const id = `${ns}/${String(meta.name)}`;
      const json = JSON.stringify(obj);
      collection(key).set(id, { obj, json });
      const node = obj.spec?.nodeName;
      if (typeof node === 'string') {
        let s = byNode.get(node);
        if (!s) { s = new Set(); byNode.set(node, s); }
        s.add(id);
      }
      send(res, 201, json);
      return;
    }
    if (req.method === 'PATCH' && name !== undefined) {
      const patch = await readJson(req);
      const id = `${ns}/${name}`;
      const cur = collection(key).get(id);
      if (!cur) { send(res, 404, '{"kind":"Status","code":404}'); return; }
      const obj = { ...cur.obj, status: patch.status, metadata: { ...cur.obj.metadata, resourceVersion: String(++rv) } };
      const json = JSON.stringify(obj);
      collection(key).set(id, { obj, json });
      const line = `{"type":"MODIFIED","object":${json}}\n`;
      const node = obj.spec?.nodeName;
      for (const w of watchers) if (w.nodeName === undefined || w.nodeName === node) w.res.write(line);
      send(res, 200, json);
      return;
    }
    if (req.method === 'GET' && name === undefined) {
      const selector = url.searchParams.get('fieldSelector') ?? '';
      const nodeName = selector.startsWith('spec.nodeName=') ? selector.slice('spec.nodeName='.length) : undefined;
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
        res.flushHeaders();
        const w: Watcher = { res, nodeName };
        watchers.add(w);
        res.on('close', () => watchers.delete(w));
        return;
      }
      const c = collection(key);
      const items: string[] = [];
      const limit = Number(url.searchParams.get('limit') ?? '0');
      if (nodeName !== undefined) {
        for (const id of byNode.get(nodeName) ?? []) items.push(c.get(id)!.json);
      } else {
        for (const s of c.values()) {
          if (limit > 0 && items.length >= limit) break;
          items.push(s.json);
        }
      }
      send(res, 200, `{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"${rv}"},"items":[${items.join(',')}]}`);
      return;
    }
    send(res, 405, '{"kind":"Status","code":405}');
  };

  const server: Server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (req, res) => {
    handle(req, res).catch((e: unknown) => { if (!res.headersSent) send(res, 500, JSON.stringify({ message: String(e) })); });
  });
  // Same socket settings as the API server, so the comparison is about request handling only.
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      for (const w of watchers) w.res.end();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
