/**
 * A private containerd (with its CRI plugin and runc) for one test file: its own config, state and socket under a
 * short base directory (`/tmp/kctd-XXXXXX`), pods in their own cgroup parent (`/kctd-XXXXXX`), and a `stop()` that
 * leaves no process, mount, cgroup or file behind. The cleanup order is the one in notes/containerd-for-tests.md:
 *
 *   1. stop and remove every pod sandbox through CRI (the runtime's own way of ending containers and unmounting);
 *   2. stop containerd by its PID;
 *   3. end the shims whose `-address` is our socket (they outlive containerd), by PID;
 *   4. (the caller stops the registry here: `startContainerdTestbed` does)
 *   5. SIGKILL whatever still runs in our cgroup parent, unmount whatever is still mounted under the base dir;
 *   6. remove the cgroup parent, the shim sockets containerd keeps in /run/containerd/s, and the base dir.
 *
 * Pods only land in our cgroup parent if their sandbox config says so: use `cgroupParent` in
 * `linux.cgroup_parent` of every RunPodSandbox request.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CriClient, CriError } from '../../../src/cri/index.js';
import { pidsInCgroup, removeCgroupParent } from './cgroups.js';
import {
  containerdLayout, renderContainerdConfig, renderHostsToml, type ContainerdLayout,
} from './containerd-config.js';
import { registerExitCleanup } from './exit-cleanup.js';
import { mountsUnder, unmountAllUnder } from './mounts.js';
import {
  findShimPids, killPidsSync, pidAlive, spawnLogged, terminateChild, terminatePid, waitForPidGone,
  type HarnessProcess,
} from './processes.js';

/** Where containerd 1.6 always puts shim sockets, whatever its config says. */
const SHIM_SOCKET_DIR = '/run/containerd/s';

export interface StartContainerdOptions {
  /** Parent of the base directory; keep it short (socket paths). @default '/tmp' */
  dir?: string;
  /** Registries (`127.0.0.1:PORT`) to reach over plain HTTP through `certs.d/<host>/hosts.toml`. */
  registryHosts: readonly string[];
  /** The pause image, in one of those registries. */
  sandboxImage: string;
  /** @default 'overlayfs' */
  snapshotter?: 'overlayfs' | 'native';
  /** How long to wait for CRI Version to answer. @default 20000 */
  startTimeoutMs?: number;
}

/** What `stop()` found it had to force, for the test to report; `leaks` must be empty. */
export interface ContainerdStopReport {
  /** Sandboxes still present at stop (a test that did not clean up after itself). */
  sandboxesRemoved: number;
  /** Errors of the CRI cleanup step (then the forceful steps did the work). */
  criErrors: string[];
  shimsKilled: number;
  containerProcessesKilled: number;
  /** Anything still there after every step: processes, mounts, cgroups. */
  leaks: string[];
}

export interface ContainerdHandle {
  readonly baseDir: string;
  readonly socketPath: string;
  /** `unix:///tmp/kctd-XXXXXX/c.sock`, for CriClient. */
  readonly endpoint: string;
  /** Absolute cgroup path for `linux.cgroup_parent` of our pod sandboxes. */
  readonly cgroupParent: string;
  readonly pid: number;
  readonly logPath: string;
  readonly layout: ContainerdLayout;
  /** Stops everything and removes the base dir; rejects if something could not be cleaned up. Idempotent. */
  stop(): Promise<ContainerdStopReport>;
}

/** `unix://` socket paths of shims, from the `address` files containerd writes into each task bundle. */
function shimSocketPaths(layout: ContainerdLayout): string[] {
  const tasks = join(layout.state, 'io.containerd.runtime.v2.task');
  const out: string[] = [];
  let namespaces: string[] = [];
  try {
    namespaces = readdirSync(tasks);
  } catch {
    return out;
  }
  for (const ns of namespaces) {
    let ids: string[] = [];
    try {
      ids = readdirSync(join(tasks, ns));
    } catch {
      continue;
    }
    for (const id of ids) {
      try {
        const address = readFileSync(join(tasks, ns, id, 'address'), 'utf8').trim();
        const path = address.replace(/^unix:\/\//, '');
        if (path.startsWith(`${SHIM_SOCKET_DIR}/`)) out.push(path);
      } catch {
        // No address file (the shim never started).
      }
    }
  }
  return out;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** Removes `/run/containerd/s` and `/run/containerd` if we created them and they are empty now. */
function removeCreatedRunDirs(created: readonly string[]): void {
  for (const dir of created) {
    try {
      rmdirSync(dir);
    } catch {
      // Not empty: another containerd uses it.
    }
  }
}

/** Synchronous, forceful version of stop() for the exit path: no CRI, everything by PID. */
function forceCleanupSync(
  layout: ContainerdLayout, cgroupParent: string, containerdPid: number, createdRunDirs: readonly string[],
): void {
  const sockets = shimSocketPaths(layout);
  killPidsSync(pidsInCgroup(cgroupParent));
  killPidsSync([containerdPid]);
  killPidsSync(findShimPids(layout.socketPath));
  unmountAllUnder(layout.baseDir);
  removeCgroupParent(cgroupParent);
  for (const s of sockets) unlinkQuietly(s);
  removeCreatedRunDirs(createdRunDirs);
  if (mountsUnder(layout.baseDir).length === 0) rmSync(layout.baseDir, { recursive: true, force: true });
}

async function waitForCri(
  proc: HarnessProcess, endpoint: string, timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const client = new CriClient({ endpoint, timeoutMs: 1_000, retry: { maxAttempts: 1 } });
  try {
    for (;;) {
      if (proc.hasExited()) throw new Error('containerd exited during start');
      try {
        const v = await client.version({}, { timeoutMs: 1_000 });
        if (v.runtimeApiVersion === 'v1') return;
      } catch (err) {
        // UNIMPLEMENTED: containerd is up but its CRI plugin failed to load (the log says why); waiting won't help.
        if (CriError.is(err) && err.reason === 'Unimplemented') throw new Error('the CRI plugin did not load');
        // Otherwise the socket is not there yet.
      }
      if (Date.now() >= deadline) throw new Error(`containerd did not answer CRI Version within ${timeoutMs} ms`);
      await delay(20);
    }
  } finally {
    client.destroy().catch(() => undefined);
  }
}

export async function startContainerd(options: StartContainerdOptions): Promise<ContainerdHandle> {
  const baseDir = await mkdtemp(join(options.dir ?? '/tmp', 'kctd-'));
  const layout = containerdLayout(baseDir);
  const cgroupParent = `/${basename(baseDir)}`;
  const createdRunDirs = ['/run/containerd/s', '/run/containerd'].filter((d) => !existsSync(d));

  for (const d of [layout.root, layout.state, layout.runcRoot, layout.cniBinDir, layout.cniConfDir]) {
    mkdirSync(d, { recursive: true });
  }
  for (const host of options.registryHosts) {
    mkdirSync(join(layout.certsDir, host), { recursive: true });
    await writeFile(join(layout.certsDir, host, 'hosts.toml'), renderHostsToml(host));
  }
  await writeFile(layout.configPath, renderContainerdConfig({
    layout, sandboxImage: options.sandboxImage, snapshotter: options.snapshotter,
  }));

  const proc = spawnLogged('containerd', ['--config', layout.configPath, '--log-level', 'warn'], layout.logPath);
  const unregister = registerExitCleanup(`containerd ${baseDir}`, () => {
    forceCleanupSync(layout, cgroupParent, proc.pid, createdRunDirs);
  });
  await writeFile(layout.infoPath, `${JSON.stringify({
    ownerPid: process.pid, containerdPid: proc.pid, socketPath: layout.socketPath, cgroupParent,
  }, null, 2)}\n`);

  const endpoint = `unix://${layout.socketPath}`;
  let stopped: Promise<ContainerdStopReport> | undefined;
  const stop = (): Promise<ContainerdStopReport> => {
    stopped ??= stopContainerd(layout, cgroupParent, proc, endpoint, createdRunDirs).finally(unregister);
    return stopped;
  };
  try {
    await waitForCri(proc, endpoint, options.startTimeoutMs ?? 20_000);
  } catch (err) {
    const log = await readFile(layout.logPath, 'utf8').catch(() => '');
    await stop().catch(() => undefined);
    throw new Error(`${(err as Error).message}; containerd log tail:\n${log.slice(-2000)}`);
  }
  return {
    baseDir, socketPath: layout.socketPath, endpoint, cgroupParent, pid: proc.pid, logPath: layout.logPath, layout,
    stop,
  };
}

async function removeSandboxesThroughCri(endpoint: string, report: ContainerdStopReport): Promise<void> {
  const client = new CriClient({ endpoint, timeoutMs: 30_000, retry: { maxAttempts: 1 } });
  try {
    const { items } = await client.listPodSandbox({});
    for (const s of items) {
      if (s === null) continue;
      try {
        await client.stopPodSandbox({ podSandboxId: s.id });
        await client.removePodSandbox({ podSandboxId: s.id });
        report.sandboxesRemoved++;
      } catch (err) {
        report.criErrors.push(`sandbox ${s.id}: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    report.criErrors.push(`ListPodSandbox: ${(err as Error).message}`);
  } finally {
    await client.destroy();
  }
}

async function stopContainerd(
  layout: ContainerdLayout, cgroupParent: string, proc: HarnessProcess, endpoint: string,
  createdRunDirs: readonly string[],
): Promise<ContainerdStopReport> {
  const report: ContainerdStopReport = {
    sandboxesRemoved: 0, criErrors: [], shimsKilled: 0, containerProcessesKilled: 0, leaks: [],
  };
  // Read before anything is deleted: the bundles holding them go with their tasks.
  const shimSockets = new Set(shimSocketPaths(layout));

  // 1. Pod sandboxes through CRI.
  if (!proc.hasExited()) await removeSandboxesThroughCri(endpoint, report);
  for (const s of shimSocketPaths(layout)) shimSockets.add(s);

  // 2. containerd by PID.
  await terminateChild(proc, 10_000);

  // 3. Shims serving our socket. After a clean sandbox removal they are already on their way out: give them a
  //    moment before forcing them.
  for (const pid of findShimPids(layout.socketPath)) {
    if (await waitForPidGone(pid, 2_000)) continue;
    await terminatePid(pid, 2_000);
    report.shimsKilled++;
  }

  // 5. Whatever the runtime failed to end, then mounts.
  const stray = pidsInCgroup(cgroupParent);
  report.containerProcessesKilled = stray.length;
  killPidsSync(stray);
  const busyMounts = unmountAllUnder(layout.baseDir);

  // 6. cgroups, shim sockets, files.
  const busyCgroups = removeCgroupParent(cgroupParent);
  for (const s of shimSockets) unlinkQuietly(s);
  removeCreatedRunDirs(createdRunDirs);

  const live = [proc.pid, ...findShimPids(layout.socketPath), ...pidsInCgroup(cgroupParent)].filter(pidAlive);
  report.leaks.push(...live.map((pid) => `process ${pid}`));
  report.leaks.push(...busyMounts.map((m) => `mount ${m}`));
  report.leaks.push(...busyCgroups.map((c) => `cgroup ${c}`));
  // Never remove a tree with something still mounted in it: rm would reach into the mounted filesystem.
  if (busyMounts.length === 0) await rm(layout.baseDir, { recursive: true, force: true });
  if (report.leaks.length > 0) {
    throw new Error(`containerd harness left behind: ${report.leaks.join(', ')} (base dir ${layout.baseDir})`);
  }
  return report;
}
