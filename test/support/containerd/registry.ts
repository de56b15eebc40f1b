/**
 * A local image registry (distribution v2, Debian's `docker-registry`) on 127.0.0.1, with its own minimal config:
 * Debian's default one turns on htpasswd auth with a path that is a directory (notes/containerd-for-tests.md).
 * Optionally with htpasswd basic auth, for pull-with-credentials tests.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { BuiltImage } from './busybox-image.js';
import { registerExitCleanup } from './exit-cleanup.js';
import { freePort } from './free-port.js';
import { htpasswdLine } from './htpasswd.js';
import { killPidsSync, spawnLogged, terminateChild, type HarnessProcess } from './processes.js';
import { pushImage, type RegistryEndpoint } from './registry-push.js';

export interface RegistryAuth {
  user: string;
  pass: string;
}

export interface StartRegistryOptions {
  /** Parent directory; the registry works in a fresh directory inside it, removed by `stop()`. @default os.tmpdir() */
  dir?: string;
  /** Turn on htpasswd basic auth with this one user. */
  auth?: RegistryAuth;
  /** How long to wait for `GET /v2/` to answer. @default 15000 */
  startTimeoutMs?: number;
}

export interface RegistryHandle extends RegistryEndpoint {
  /** `127.0.0.1:PORT`: the registry part of image references. */
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** The registry's working directory (config, storage, htpasswd, log). */
  readonly dir: string;
  readonly auth: RegistryAuth | undefined;
  /** Pushes the image's blobs and manifest; returns the manifest digest. */
  push(image: BuiltImage): Promise<string>;
  /** Stops the registry by PID and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

function renderConfig(dir: string, port: number, htpasswdPath: string | undefined): string {
  // JSON strings are valid YAML double-quoted scalars: paths need no further escaping.
  const q = JSON.stringify;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(join(dir, 'storage'))}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${q(`127.0.0.1:${port}`)}`,
  ];
  if (htpasswdPath !== undefined) {
    lines.push('auth:', '  htpasswd:', '    realm: kctd-test', `    path: ${q(htpasswdPath)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Polls `GET /v2/` until it answers as our registry would (200, or 401 with auth), or the process ends. */
async function waitUntilServing(
  proc: HarnessProcess, url: string, withAuth: boolean, timeoutMs: number,
): Promise<'up' | 'exited'> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.hasExited()) return 'exited';
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      const apiVersion = res.headers.get('docker-distribution-api-version');
      if (apiVersion === 'registry/2.0' && res.status === (withAuth ? 401 : 200)) return 'up';
    } catch {
      // Not listening yet.
    }
    if (Date.now() >= deadline) throw new Error(`registry at ${url} did not answer within ${timeoutMs} ms`);
    await delay(20);
  }
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RegistryHandle> {
  const dir = await mkdtemp(join(options.dir ?? tmpdir(), 'registry-'));
  const auth = options.auth;
  let htpasswdPath: string | undefined;
  try {
    if (auth !== undefined) {
      htpasswdPath = join(dir, 'htpasswd');
      await writeFile(htpasswdPath, `${htpasswdLine(auth.user, auth.pass)}\n`, { mode: 0o600 });
    }
    // Another process may take the port between our probe and the registry's bind: try a few.
    for (let attempt = 1; attempt <= 5; attempt++) {
      const port = await freePort();
      const configPath = join(dir, 'config.yml');
      await writeFile(configPath, renderConfig(dir, port, htpasswdPath));
      const proc = spawnLogged('docker-registry', ['serve', configPath], join(dir, 'registry.log'));
      const unregister = registerExitCleanup(`registry ${port}`, () => {
        killPidsSync([proc.pid]);
        rmSync(dir, { recursive: true, force: true });
      });
      const url = `http://127.0.0.1:${port}`;
      let state: 'up' | 'exited';
      try {
        state = await waitUntilServing(proc, url, auth !== undefined, options.startTimeoutMs ?? 15_000);
      } catch (err) {
        await terminateChild(proc, 2_000);
        unregister();
        throw err;
      }
      if (state === 'exited') {
        unregister();
        const log = await readFile(join(dir, 'registry.log'), 'utf8').catch(() => '');
        if (attempt < 5 && /address already in use/.test(log)) continue;
        throw new Error(`docker-registry exited at start: ${log.slice(-1000)}`);
      }
      let stopped: Promise<void> | undefined;
      const endpoint: RegistryEndpoint = { url, auth };
      return {
        url, host: `127.0.0.1:${port}`, port, pid: proc.pid, dir, auth,
        push: (image) => pushImage(endpoint, image),
        stop: () => {
          stopped ??= (async () => {
            await terminateChild(proc, 5_000);
            await rm(dir, { recursive: true, force: true });
            unregister();
          })();
          return stopped;
        },
      };
    }
    throw new Error('unreachable');
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
