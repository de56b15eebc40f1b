/**
 * The whole real-runtime setup for one test file: a plain registry, optionally a second one with htpasswd auth,
 * the test images pushed into them, and a containerd that pulls from both over plain HTTP. `stop()` takes it down
 * in the notes' order (containerd and its shims first, registries after) and rejects on any leak.
 */
import { buildBusyboxImage, buildBusyboxLayer, type BuiltImage } from './busybox-image.js';
import { startContainerd, type ContainerdHandle, type ContainerdStopReport } from './containerd.js';
import { existsSync } from 'node:fs';
import { cgroupDirs, pidsInCgroup } from './cgroups.js';
import { mountsUnder } from './mounts.js';
import { findShimPids, pidAlive } from './processes.js';
import { startRegistry, type RegistryAuth, type RegistryHandle } from './registry.js';

/** One test image. Images must differ in `cmd` (so in image id); the testbed refuses twins. */
export interface TestbedImage {
  name: string;
  tag: string;
  cmd?: readonly string[];
  /** Push to the registry with auth instead of the open one. */
  private?: boolean;
}

export interface StartTestbedOptions {
  /** Start a second registry with htpasswd auth for this user. */
  auth?: RegistryAuth;
  images?: readonly TestbedImage[];
  /** @default 'overlayfs' */
  snapshotter?: 'overlayfs' | 'native';
}

export interface ContainerdTestbed {
  readonly registry: RegistryHandle;
  readonly authRegistry: RegistryHandle | undefined;
  readonly containerd: ContainerdHandle;
  /** The pause image containerd uses for sandboxes. */
  readonly sandboxImage: string;
  /** Pushed images by `name:tag`. */
  readonly images: ReadonlyMap<string, BuiltImage>;
  /** `host/name:tag`, `host/name@digest` or `host/name:tag@digest` of a pushed image. */
  ref(nameTag: string, form?: 'tag' | 'digest' | 'tag+digest'): string;
  stop(): Promise<ContainerdStopReport>;
  /**
   * What is still there of ours: live processes (registries, containerd, shims, containers in our cgroup), mounts
   * under the base dir, cgroup directories, working directories. Empty after a successful `stop()`.
   */
  leftovers(): string[];
  /** The same facts as plain data, for checking from another process. */
  readonly description: TestbedDescription;
}

/** What identifies a testbed's resources, as plain data. */
export interface TestbedDescription {
  /** Registries' and containerd's PIDs. */
  readonly pids: readonly number[];
  readonly socketPath: string;
  readonly cgroupParent: string;
  readonly baseDir: string;
  /** Working directories: containerd's base dir and the registries' dirs. */
  readonly dirs: readonly string[];
}

/** What of a (stopped) testbed is still there; see `ContainerdTestbed.leftovers`. */
export function testbedLeftovers(d: TestbedDescription): string[] {
  return [
    ...d.pids.filter(pidAlive).map((pid) => `process ${pid}`),
    ...findShimPids(d.socketPath).map((pid) => `shim ${pid}`),
    ...pidsInCgroup(d.cgroupParent).map((pid) => `container process ${pid}`),
    ...mountsUnder(d.baseDir).map((m) => `mount ${m}`),
    ...cgroupDirs(d.cgroupParent).filter(existsSync).map((dir) => `cgroup ${dir}`),
    ...d.dirs.filter(existsSync).map((dir) => `directory ${dir}`),
  ];
}

/** The pause image: busybox that sleeps forever (there is no registry.k8s.io here). */
const PAUSE_IMAGE: TestbedImage = { name: 'kctd/pause', tag: '1', cmd: ['sleep', 'infinity'] };

export async function startContainerdTestbed(options: StartTestbedOptions = {}): Promise<ContainerdTestbed> {
  let registry: RegistryHandle | undefined;
  let authRegistry: RegistryHandle | undefined;
  let containerd: ContainerdHandle | undefined;
  // containerd (and its shims) before the registries, as the notes' cleanup order says; every step runs even if
  // an earlier one failed.
  const stopAll = async (): Promise<ContainerdStopReport | undefined> => {
    const errors: unknown[] = [];
    let report: ContainerdStopReport | undefined;
    try {
      report = await containerd?.stop();
    } catch (err) {
      errors.push(err);
    }
    for (const r of [authRegistry, registry]) {
      try {
        await r?.stop();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'testbed cleanup failed');
    return report;
  };
  try {
    registry = await startRegistry();
    if (options.auth !== undefined) authRegistry = await startRegistry({ auth: options.auth });
    const layer = await buildBusyboxLayer();
    const images = new Map<string, BuiltImage>();
    const hosts = new Map<string, string>();
    for (const spec of [PAUSE_IMAGE, ...(options.images ?? [])]) {
      const target = spec.private === true ? authRegistry : registry;
      if (target === undefined) throw new Error(`image ${spec.name}:${spec.tag} is private but no auth was given`);
      const image = await buildBusyboxImage({ name: spec.name, tag: spec.tag, cmd: spec.cmd, layer });
      const twin = [...images.entries()].find(([, other]) => other.imageId === image.imageId);
      if (twin !== undefined) {
        // containerd's RemoveImage removes every reference of an image id: twins would vanish together.
        throw new Error(`test images ${spec.name}:${spec.tag} and ${twin[0]} have the same image id: give them different cmds`);
      }
      await target.push(image);
      images.set(`${spec.name}:${spec.tag}`, image);
      hosts.set(`${spec.name}:${spec.tag}`, target.host);
    }
    const ref = (nameTag: string, form: 'tag' | 'digest' | 'tag+digest' = 'tag'): string => {
      const image = images.get(nameTag);
      const host = hosts.get(nameTag);
      if (image === undefined || host === undefined) throw new Error(`no test image ${nameTag}`);
      const repo = `${host}/${image.name}`;
      if (form === 'digest') return `${repo}@${image.digest}`;
      if (form === 'tag+digest') return `${repo}:${image.tag}@${image.digest}`;
      return `${repo}:${image.tag}`;
    };
    const sandboxImage = ref(`${PAUSE_IMAGE.name}:${PAUSE_IMAGE.tag}`);
    containerd = await startContainerd({
      registryHosts: [registry.host, ...(authRegistry === undefined ? [] : [authRegistry.host])],
      sandboxImage,
      snapshotter: options.snapshotter,
    });
    let stopped: Promise<ContainerdStopReport> | undefined;
    const ctd = containerd;
    const registries = [registry, ...(authRegistry === undefined ? [] : [authRegistry])];
    const description: TestbedDescription = {
      pids: [...registries.map((r) => r.pid), ctd.pid],
      socketPath: ctd.socketPath,
      cgroupParent: ctd.cgroupParent,
      baseDir: ctd.baseDir,
      dirs: [ctd.baseDir, ...registries.map((r) => r.dir)],
    };
    const leftovers = (): string[] => testbedLeftovers(description);
    return {
      registry, authRegistry, containerd, sandboxImage, images, ref, leftovers, description,
      stop: () => {
        stopped ??= stopAll().then((r) => {
          if (r === undefined) throw new Error('containerd was not running');
          return r;
        });
        return stopped;
      },
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}
