/**
 * containerd's own CLI (`ctr`, shipped with the containerd package) against the testbed's containerd: the reference
 * for cold pulls, and the tool that removes what CRI RemoveImage does not and checks that nothing of an image is
 * left. Every command names the socket (`--address`) and the CRI namespace (`-n k8s.io`), so it sees exactly the
 * images, content and snapshots the CRI plugin sees.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export const CRI_NAMESPACE = 'k8s.io';

export interface CtrResult {
  stdout: string;
  stderr: string;
  ms: number;
}

export class Ctr {
  constructor(
    private readonly socketPath: string,
    /** containerd's `root` directory (content store and snapshots live below it). */
    private readonly root: string,
    private readonly snapshotter = 'overlayfs',
  ) {}

  /** Runs `ctr --address <sock> -n k8s.io <args>`; rejects on a non-zero exit, with its stderr. */
  run(args: readonly string[], timeoutMs = 120_000): Promise<CtrResult> {
    const start = performance.now();
    return new Promise((resolve, reject) => {
      execFile('ctr', ['--address', this.socketPath, '-n', CRI_NAMESPACE, ...args], {
        timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8',
      }, (err, stdout, stderr) => {
        const ms = performance.now() - start;
        if (err) reject(new Error(`ctr ${args.join(' ')}: ${err.message.trim()} ${stderr.trim().slice(-500)}`));
        else resolve({ stdout, stderr, ms });
      });
    });
  }

  /**
   * `ctr images pull` fetches every blob into the content store and then unpacks the layers into `snapshotter`
   * (ctr 1.6 always unpacks: "Fetch and prepare an image for use in containerd"), like CRI PullImage, which unpacks
   * into the CRI plugin's snapshotter (overlayfs in the testbed) while it fetches. `--plain-http`: the testbed's
   * registry is plain HTTP on 127.0.0.1 (the CRI plugin learns that from its certs.d hosts.toml).
   */
  pull(ref: string): Promise<CtrResult> {
    return this.run(['images', 'pull', '--plain-http', '--snapshotter', this.snapshotter, ref]);
  }

  /** `ctr version`: process start, one gRPC round trip, exit. What every ctr command costs before its work. */
  version(): Promise<CtrResult> {
    return this.run(['version'], 10_000);
  }

  async imageNames(): Promise<string[]> {
    return (await this.run(['images', 'ls', '-q'])).stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  }

  /** Removes image records (not their content: the garbage collector does that); `--sync` waits for the collection. */
  async removeImages(names: readonly string[]): Promise<void> {
    if (names.length > 0) await this.run(['images', 'rm', '--sync', ...names]);
  }

  async snapshotKeys(): Promise<string[]> {
    const out = (await this.run(['snapshots', '--snapshotter', this.snapshotter, 'ls'])).stdout.split('\n').slice(1);
    return out.map((l) => l.trim().split(/\s+/)[0] ?? '').filter((k) => k !== '');
  }

  /** Where the content store keeps a blob on disk. */
  blobPath(digest: string): string {
    const [algorithm, hex] = digest.split(':');
    return join(this.root, 'io.containerd.content.v1.content', 'blobs', algorithm!, hex!);
  }

  /**
   * What of an image is still in containerd: image records naming it, its blobs in the content store (on disk, any
   * namespace) and its unpacked snapshot (key = chain id). Empty means the next pull of it is cold.
   */
  async remnants(image: { name: string; imageId: string; digest: string; blobDigests: readonly string[]; chainId: string }): Promise<string[]> {
    const records = (await this.imageNames()).filter((n) => n.includes(image.name) || n === image.imageId);
    const blobs = image.blobDigests.filter((d) => existsSync(this.blobPath(d)));
    const snapshots = (await this.snapshotKeys()).filter((k) => k === image.chainId);
    return [...records.map((r) => `image ${r}`), ...blobs.map((b) => `blob ${b}`), ...snapshots.map((s) => `snapshot ${s}`)];
  }

  /** Polls `remnants` until it is empty; returns how long that took, or throws what is left after `timeoutMs`. */
  async waitGone(image: Parameters<Ctr['remnants']>[0], timeoutMs = 15_000): Promise<number> {
    const start = performance.now();
    for (;;) {
      const left = await this.remnants(image);
      if (left.length === 0) return performance.now() - start;
      if (performance.now() - start > timeoutMs) throw new Error(`image ${image.name} not removed after ${timeoutMs} ms: ${left.join(', ')}`);
      await sleep(50);
    }
  }
}
