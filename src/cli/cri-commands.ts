/**
 * `kruise-ts cri ...`: look at a node's container runtime through the same CRI client the agent uses. Debian has
 * no crictl, and these answer the questions an operator asks when a pre-pull misbehaves: which runtime did the
 * agent find, which images are there, can this image be pulled with that secret.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { CriClient, RegistryKeyring, discoverCriEndpoint, loadCriProto, parseImageReference, pullAuthAttempts, pullImageWithCredentials, describeCredential, type PullSecretLike } from '../cri/index.js';
import { KubeClient } from '../kube/kube-client.js';
import { resources } from '../kube/resource-ref.js';
import { loadKubeConfig, userAgent } from '../kube/client-config.js';
import { VERSION } from '../api/version.js';

interface CriFlags { criEndpoint?: string; hostRoot: string; timeout: number; output: 'table' | 'json' }

export interface CriIo {
  out(text: string): void;
  fail(message: string): never;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('   ')).join('\n') + '\n';
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return `${v.toFixed(v < 10 ? 1 : 0)}${units[u]}`;
}

async function connect(flags: CriFlags): Promise<{ client: CriClient; endpoint: string; runtime: string }> {
  const proto = loadCriProto();
  const found = await discoverCriEndpoint({ ...(flags.criEndpoint ? { endpoint: flags.criEndpoint } : {}), hostRoot: flags.hostRoot, proto });
  const client = new CriClient({ endpoint: found.endpoint.address, proto, timeoutMs: flags.timeout * 1000, pullImageTimeoutMs: flags.timeout * 1000 });
  return { client, endpoint: found.endpoint.address, runtime: `${found.version.runtimeName} ${found.version.runtimeVersion}` };
}

/** Reads `ns/name` pull secrets through the API, as the agent will (from the kubeconfig or the pod's account). */
async function readSecrets(refs: string[], kubeconfig: string | undefined, io: CriIo): Promise<PullSecretLike[]> {
  if (refs.length === 0) return [];
  const kc = await loadKubeConfig(kubeconfig
    ? { kubeconfigPath: kubeconfig }
    : {
      ...(process.env['KUBECONFIG'] ? { kubeconfigEnv: process.env['KUBECONFIG'] } : {}),
      ...(process.env['HOME'] ? { homeDir: process.env['HOME'] } : {}),
      ...(process.env['KUBERNETES_SERVICE_HOST'] ? { inClusterHost: process.env['KUBERNETES_SERVICE_HOST'] } : {}),
      ...(process.env['KUBERNETES_SERVICE_PORT'] ? { inClusterPort: process.env['KUBERNETES_SERVICE_PORT'] } : {}),
    });
  const kube = new KubeClient({ kubeConfig: kc, qps: 5, burst: 10, userAgent: userAgent(VERSION, 'cli') });
  try {
    const out: PullSecretLike[] = [];
    for (const ref of refs) {
      const m = /^([^/]+)\/([^/]+)$/.exec(ref);
      if (!m) io.fail(`--secret ${ref}: expected NAMESPACE/NAME`);
      out.push(await kube.get(resources.secrets, m[1]!, m[2]!) as unknown as PullSecretLike);
    }
    return out;
  } finally {
    kube.close();
  }
}

export function addCriCommands(program: Command, io: CriIo): void {
  const cri = program.command('cri').description('inspect the node\'s container runtime through CRI (debugging; there is no crictl in Debian)');
  const common = (c: Command): Command => c
    .option('--cri-endpoint <endpoint>', 'unix:///path/to/socket (default: probe containerd, k3s, CRI-O and cri-dockerd sockets)')
    .option('--host-root <dir>', 'where the host\'s run directories are mounted (the DaemonSet mounts them)', '/')
    .addOption(new Option('--timeout <seconds>', 'deadline of each CRI call').default(120).argParser((v) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error('--timeout must be a positive number of seconds');
      return n;
    }))
    .addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'));

  const run = (fn: (flags: CriFlags, c: CriClient, info: { endpoint: string; runtime: string }) => Promise<void>) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args[args.length - 1] as Command;
      const flags = cmd.opts<CriFlags>();
      let conn;
      try {
        conn = await connect(flags);
      } catch (e) {
        io.fail((e as Error).message);
      }
      try {
        await fn(flags, conn.client, conn);
      } catch (e) {
        io.fail((e as Error).message);
      } finally {
        conn.client.destroy();
      }
    };

  common(cri.command('info').description('which runtime answers, its version and status, and the image filesystem'))
    .action(run(async (flags, c, info) => {
      const [version, status, fs] = await Promise.all([c.version({}), c.status({}), c.imageFsInfo({})]);
      if (flags.output === 'json') { io.out(`${JSON.stringify({ endpoint: info.endpoint, version, status: status.status, imageFilesystems: fs.imageFilesystems }, null, 2)}\n`); return; }
      const conditions = (status.status?.conditions ?? []).flatMap((x) => (x ? [x] : [])).map((x) => `${x.type}=${x.status ? 'true' : 'false'}${x.reason ? ` (${x.reason})` : ''}`).join(', ');
      io.out(table([
        ['FIELD', 'VALUE'],
        ['endpoint', info.endpoint],
        ['runtime', `${version.runtimeName} ${version.runtimeVersion}`],
        ['CRI API', version.runtimeApiVersion],
        ['conditions', conditions],
        ...fs.imageFilesystems.flatMap((f) => (f ? [['image filesystem', `${f.fsId?.mountpoint ?? '?'} used ${humanBytes(Number(f.usedBytes?.value ?? 0))}`]] : [])),
      ]));
    }));

  common(cri.command('images').description('list images (like crictl images)'))
    .action(run(async (flags, c) => {
      const res = await c.listImages({});
      if (flags.output === 'json') { io.out(`${JSON.stringify(res.images, null, 2)}\n`); return; }
      const rows = [['IMAGE', 'TAG', 'IMAGE ID', 'SIZE']];
      for (const img of res.images) {
        if (!img) continue;
        const tags = img.repoTags.length > 0 ? img.repoTags : img.repoDigests.map((d) => `${d.split('@')[0]}:<none>`);
        for (const t of tags.length > 0 ? tags : ['<none>:<none>']) {
          const i = t.lastIndexOf(':');
          rows.push([t.slice(0, i), t.slice(i + 1), img.id.replace(/^sha256:/, '').slice(0, 13), humanBytes(Number(img.size))]);
        }
      }
      io.out(table(rows));
    }));

  common(cri.command('inspect').argument('<image>', 'image reference').description('show one image (nothing if absent)'))
    .action(run(async (_flags, c) => {
      const cmd = cri.commands.find((x) => x.name() === 'inspect')!;
      const image = parseImageReference(cmd.args[0]!).toString();
      const res = await c.imageStatus({ image: { image }, verbose: false });
      if (!res.image) io.fail(`image ${image} is not present on this node`);
      io.out(`${JSON.stringify(res.image, null, 2)}\n`);
    }));

  common(cri.command('pull').argument('<image>', 'image reference')
    .option('--secret <namespace/name...>', 'pull secrets to try, read through the API (kubernetes.io/dockerconfigjson or dockercfg)', [])
    .option('--kubeconfig <path>', 'kubeconfig used to read --secret (default: KUBECONFIG or ~/.kube/config)')
    .description('pull an image the way the agent does: each matching credential, then anonymous'))
    .action(run(async (flags, c) => {
      const cmd = cri.commands.find((x) => x.name() === 'pull')!;
      const opts = cmd.opts<{ secret: string[]; kubeconfig?: string }>();
      const ref = parseImageReference(cmd.args[0]!);
      const secrets = await readSecrets(opts.secret, opts.kubeconfig, io);
      const { keyring, problems } = RegistryKeyring.fromSecrets(secrets);
      for (const p of problems) process.stderr.write(`warning: ${p}\n`);
      const started = performance.now();
      const result = await pullImageWithCredentials(c, ref, pullAuthAttempts(keyring, ref));
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      if (flags.output === 'json') {
        io.out(`${JSON.stringify({ image: ref.toString(), imageRef: result.imageRef, credential: result.credential ? describeCredential(result.credential) : null, attempts: result.attempts, seconds: Number(seconds) })}\n`);
        return;
      }
      io.out(`Image is up to date for ${ref.toString()}: ${result.imageRef} (${seconds}s, ${result.credential ? `credential ${describeCredential(result.credential)}` : 'anonymous'})\n`);
    }));

  common(cri.command('ps').option('-a, --all', 'include exited containers').description('list containers (like crictl ps)'))
    .action(run(async (flags, c) => {
      const cmd = cri.commands.find((x) => x.name() === 'ps')!;
      const all = cmd.opts<{ all?: boolean }>().all === true;
      const res = await c.listContainers(all ? {} : { filter: { state: { state: 'CONTAINER_RUNNING' } } });
      if (flags.output === 'json') { io.out(`${JSON.stringify(res.containers, null, 2)}\n`); return; }
      const rows = [['CONTAINER', 'IMAGE', 'STATE', 'NAME', 'ATTEMPT', 'POD ID']];
      for (const x of res.containers) {
        if (!x) continue;
        rows.push([x.id.slice(0, 13), x.image?.image ?? '', x.state.replace(/^CONTAINER_/, ''), x.metadata?.name ?? '', String(x.metadata?.attempt ?? 0), x.podSandboxId.slice(0, 13)]);
      }
      io.out(table(rows));
    }));
}
