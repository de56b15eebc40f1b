/**
 * The cgroup parent the harness gives its pod sandboxes (`linux.cgroup_parent`). With the cgroupfs driver runc
 * makes `<hierarchy>/<parent>/<container id>` in every mounted hierarchy (v1 controllers, the named systemd one,
 * and the v2 tree on unified hosts). Everything the runtime starts for our pods lives in there, which gives the
 * harness two things: a way to end every container process without containerd (read `cgroup.procs`), and one
 * directory per hierarchy to remove at the end.
 */
import { readFileSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { readMountInfo } from './mounts.js';
import { killPidsSync, sleepSync } from './processes.js';

/** Directories that `parent` (an absolute cgroup path such as `/kctd-ab12`) maps to, one per hierarchy. */
export function cgroupDirs(parent: string): string[] {
  const dirs: string[] = [];
  for (const m of readMountInfo()) {
    if (m.fsType !== 'cgroup' && m.fsType !== 'cgroup2') continue;
    // A hierarchy mounted at a non-root cgroup (inside a container) maps `parent` relative to that root.
    const rel = posix.relative(m.root, parent);
    if (rel.startsWith('..')) continue;
    dirs.push(join(m.mountPoint, rel));
  }
  return dirs;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Child cgroups first, then `dir` itself. */
function cgroupTreePostOrder(dir: string): string[] {
  if (!isDir(dir)) return [];
  const out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    // Raced with removal.
  }
  for (const e of entries) out.push(...cgroupTreePostOrder(join(dir, e)));
  out.push(dir);
  return out;
}

/** PIDs in the cgroup tree of `parent`, across all hierarchies. */
export function pidsInCgroup(parent: string): number[] {
  const pids = new Set<number>();
  for (const root of cgroupDirs(parent)) {
    for (const dir of cgroupTreePostOrder(root)) {
      try {
        for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) {
          if (line.trim() !== '') pids.add(Number(line));
        }
      } catch {
        // Gone already.
      }
    }
  }
  return [...pids];
}

/**
 * SIGKILLs whatever still runs in the tree (a container whose sandbox the runtime failed to stop) and removes the
 * tree in every hierarchy. Returns the directories that could not be removed.
 */
export function removeCgroupParent(parent: string): string[] {
  const leftovers = pidsInCgroup(parent);
  if (leftovers.length > 0) killPidsSync(leftovers);
  const failed: string[] = [];
  for (const root of cgroupDirs(parent)) {
    for (const dir of cgroupTreePostOrder(root)) {
      // EBUSY for a moment after the last process died, until the kernel has released the cgroup.
      let removed = false;
      for (let i = 0; i < 50 && !removed; i++) {
        try {
          rmdirSync(dir);
          removed = true;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') removed = true;
          else if (code !== 'EBUSY') break;
          else sleepSync(10);
        }
      }
      if (!removed) failed.push(dir);
    }
  }
  return failed;
}
