/**
 * containerd's config for the harness: everything under one short base directory, the CRI plugin pointed at the
 * local registry, and the settings these machines need (notes/containerd-for-tests.md, "containerd with its CRI
 * plugin, started by hand"). Config format version 2, the one containerd 1.6 reads.
 */
import { join } from 'node:path';

export interface ContainerdLayout {
  baseDir: string;
  root: string;
  state: string;
  socketPath: string;
  ttrpcSocketPath: string;
  runcRoot: string;
  certsDir: string;
  cniBinDir: string;
  cniConfDir: string;
  configPath: string;
  logPath: string;
  /** What the harness records about itself, for a person cleaning up after a SIGKILLed test run. */
  infoPath: string;
}

/** Unix socket paths must fit `sun_path` (108 bytes with its NUL), or bind fails with EINVAL. */
export const MAX_SOCKET_PATH = 107;

export function containerdLayout(baseDir: string): ContainerdLayout {
  const layout = {
    baseDir,
    root: join(baseDir, 'root'),
    state: join(baseDir, 'state'),
    socketPath: join(baseDir, 'c.sock'),
    ttrpcSocketPath: join(baseDir, 'c.sock.ttrpc'),
    runcRoot: join(baseDir, 'runc'),
    certsDir: join(baseDir, 'certs.d'),
    cniBinDir: join(baseDir, 'cni', 'bin'),
    cniConfDir: join(baseDir, 'cni', 'conf'),
    configPath: join(baseDir, 'config.toml'),
    logPath: join(baseDir, 'containerd.log'),
    infoPath: join(baseDir, 'harness.json'),
  };
  if (Buffer.byteLength(layout.ttrpcSocketPath) > MAX_SOCKET_PATH) {
    throw new Error(`base directory ${baseDir} is too long for a unix socket path (max ${MAX_SOCKET_PATH} bytes)`);
  }
  return layout;
}

/** A TOML basic string (JSON's escaping is a subset TOML accepts for these characters). */
const str = (s: string): string => JSON.stringify(s);

/**
 * Plugins we switch off: `opt` would create /opt/containerd, and the other snapshotters only fail to load (noise in
 * the log). The v1 runtime (`io.containerd.runtime.v1.linux`) must stay: the tasks service, and so the CRI plugin,
 * refuses to load without it.
 */
const DISABLED_PLUGINS = [
  'io.containerd.internal.v1.opt',
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
];

export interface ContainerdConfigOptions {
  layout: ContainerdLayout;
  /** The pause image: must be in a local registry, there is no internet. */
  sandboxImage: string;
  /** @default 'overlayfs' */
  snapshotter?: 'overlayfs' | 'native';
}

export function renderContainerdConfig(o: ContainerdConfigOptions): string {
  const l = o.layout;
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `${[
    'version = 2',
    `root = ${str(l.root)}`,
    `state = ${str(l.state)}`,
    `disabled_plugins = [${DISABLED_PLUGINS.map(str).join(', ')}]`,
    '',
    '[grpc]',
    `  address = ${str(l.socketPath)}`,
    '[ttrpc]',
    `  address = ${str(l.ttrpcSocketPath)}`,
    '',
    `[${cri}]`,
    `  sandbox_image = ${str(o.sandboxImage)}`,
    // REQUIRED here: root lacks CAP_SYS_RESOURCE, and RunPodSandbox fails with "can't get final child's PID
    // from pipe: EOF" without it.
    '  restrict_oom_score_adj = true',
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  disable_tcp_service = true',
    `[${cri}.containerd]`,
    `  snapshotter = ${str(o.snapshotter ?? 'overlayfs')}`,
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    '  SystemdCgroup = false',
    `  Root = ${str(l.runcRoot)}`,
    // Empty: host-network pods need no CNI; CRI Status reports NetworkReady=false, which is harmless for them.
    `[${cri}.cni]`,
    `  bin_dir = ${str(l.cniBinDir)}`,
    `  conf_dir = ${str(l.cniConfDir)}`,
    `[${cri}.registry]`,
    `  config_path = ${str(l.certsDir)}`,
  ].join('\n')}\n`;
}

/** `certs.d/<host>/hosts.toml` for a plain-HTTP registry at `host` (`127.0.0.1:PORT`). */
export function renderHostsToml(host: string): string {
  const url = `http://${host}`;
  return `${[
    `server = ${str(url)}`,
    '',
    `[host.${str(url)}]`,
    '  capabilities = ["pull", "resolve"]',
  ].join('\n')}\n`;
}
