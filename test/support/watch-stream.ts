/**
 * A raw watch over HTTPS for integration tests: parses the newline-delimited JSON events as they arrive, so a test
 * can wait for them (with waitFor) and see the exact wire order.
 */
import https from 'node:https';
import type { Harness } from './api-server-harness.js';

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: { kind?: string; code?: number; reason?: string; metadata?: { name?: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string>; labels?: Record<string, string> }; [k: string]: unknown };
}

export interface WatchStream {
  status: number;
  events: WatchEvent[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  isEnded(): boolean;
  close(): void;
}

export function openWatch(h: Harness, path: string): Promise<WatchStream> {
  return new Promise((resolve, reject) => {
    const events: WatchEvent[] = [];
    let ended = false;
    let endResolve: () => void = () => undefined;
    const endedP = new Promise<void>((r) => { endResolve = r; });
    const req = https.request(`${h.url}${path}`, { method: 'GET', ca: h.caCertPem, headers: { Authorization: `Bearer ${h.token}` } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line !== '') events.push(JSON.parse(line) as WatchEvent);
        }
      });
      const finish = (): void => { ended = true; endResolve(); };
      res.on('end', finish);
      res.on('close', finish);
      resolve({ status: res.statusCode ?? 0, events, ended: endedP, isEnded: () => ended, close: () => { req.destroy(); finish(); } });
    });
    req.on('error', (e) => { if (!ended) reject(e); });
    req.end();
  });
}
