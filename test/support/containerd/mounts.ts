/**
 * Mounts the harness may leave: containerd mounts each container's overlay rootfs and each sandbox's /dev/shm under
 * its state directory, which lives under the harness's base directory. Read from /proc/self/mountinfo.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface MountInfo {
  mountPoint: string;
  fsType: string;
  /** Mount root within its filesystem (for cgroup mounts: the hierarchy root as seen here). */
  root: string;
  /** Super options, e.g. the cgroup v1 controller list. */
  superOptions: string;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function readMountInfo(): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    // "36 35 98:0 /root /mnt1 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" (proc(5))
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const l = left.split(' ');
    const r = right.split(' ');
    mounts.push({
      root: unescapeMountField(l[3] ?? ''),
      mountPoint: unescapeMountField(l[4] ?? ''),
      fsType: r[0] ?? '',
      superOptions: r[2] ?? '',
    });
  }
  return mounts;
}

/** Mount points at or under `dir`, deepest first (the order to unmount them in). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = readMountInfo()
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * Unmounts everything under `dir`, deepest first; a busy mount is detached lazily (`umount -l`) so the tree can
 * still be removed. Returns what could not be unmounted.
 */
export function unmountAllUnder(dir: string): string[] {
  const failed: string[] = [];
  // A path can be mounted over more than once: repeat until nothing is left or nothing changes.
  for (let round = 0; round < 5; round++) {
    const points = mountsUnder(dir);
    if (points.length === 0) return [];
    failed.length = 0;
    for (const p of points) {
      if (spawnSync('umount', [p], { stdio: 'ignore' }).status === 0) continue;
      if (spawnSync('umount', ['-l', p], { stdio: 'ignore' }).status !== 0) failed.push(p);
    }
  }
  return mountsUnder(dir);
}
