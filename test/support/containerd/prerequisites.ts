/**
 * What a real containerd test needs on this machine. Tests skip with the returned list in their message, so a
 * developer sees exactly what to install; `.ci/run` installs all of it, so CI always runs them.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { bcryptTool } from './htpasswd.js';
import { findOnPath } from './processes.js';

/** Where busybox-static puts the binary on Debian. */
export const BUSYBOX_PATH = '/bin/busybox';

/** Binaries the harness runs, and the Debian package of each. */
const BINARIES: ReadonlyArray<readonly [binary: string, pkg: string]> = [
  ['containerd', 'containerd'],
  ['containerd-shim-runc-v2', 'containerd'],
  ['runc', 'runc'],
  ['docker-registry', 'docker-registry'],
  ['umount', 'mount'],
];

/**
 * True if `path` is an ELF executable without a program interpreter (PT_INTERP), i.e. statically linked: the test
 * images hold busybox and nothing else, so a dynamically linked one (Debian's `busybox` package) cannot run there.
 */
export function isStaticElf(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const header = Buffer.alloc(64);
    if (readSync(fd, header, 0, 64, 0) < 64 || header.readUInt32BE(0) !== 0x7f454c46) return false;
    if (header[4] !== 2 || header[5] !== 1) return false; // ELF64 little-endian only: what our CI runs
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      if (table.readUInt32LE(i * phentsize) === 3 /* PT_INTERP */) return false;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * What is missing to run containerd tests here: empty when they can run. Each entry names the thing and how to get
 * it, e.g. `docker-registry (apt-get install docker-registry)`.
 */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.platform !== 'linux') return [`Linux (this is ${process.platform})`];
  if (process.getuid?.() !== 0) missing.push('root (containerd and runc need it)');
  for (const [binary, pkg] of BINARIES) {
    if (findOnPath(binary) === undefined) missing.push(`${binary} (apt-get install ${pkg})`);
  }
  if (!isStaticElf(BUSYBOX_PATH)) missing.push(`a static ${BUSYBOX_PATH} (apt-get install busybox-static)`);
  return missing;
}

/** What is missing to run a registry with htpasswd auth: a tool that makes bcrypt hashes. */
export function missingAuthPrerequisites(): string[] {
  return bcryptTool() === undefined
    ? ['a bcrypt tool: htpasswd (apt-get install apache2-utils) or perl with a bcrypt-capable crypt(3)']
    : [];
}
