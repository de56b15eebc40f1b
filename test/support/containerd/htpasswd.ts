/**
 * htpasswd lines for the registry's `auth.htpasswd`. distribution accepts bcrypt hashes only, and Node's crypto
 * has no bcrypt. Two tools make them:
 *
 * - `htpasswd -nbB` from apache2-utils, when installed;
 * - otherwise perl's `crypt()`, which calls libc crypt(3): Debian's libcrypt (libxcrypt) implements bcrypt
 *   (`$2b$`), and perl-base is an Essential package, so this works on every Debian machine with no extra install.
 *
 * We chose this over writing bcrypt ourselves (a Blowfish key schedule is a lot of test code to trust) and over
 * skipping auth tests where apache2-utils is absent (they would rarely run). The password reaches the tool through
 * an environment variable, not argv, except for htpasswd, which only takes it in argv or on a terminal.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { findOnPath } from './processes.js';

export type BcryptTool = 'htpasswd' | 'perl';

/** bcrypt's own base64 alphabet. */
const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function perlBcrypt(password: string, cost: number): string | undefined {
  const bytes = randomBytes(22);
  let salt = '';
  for (let i = 0; i < 21; i++) salt += BCRYPT_ALPHABET[(bytes[i] ?? 0) % 64];
  // 22 characters carry 132 bits of which bcrypt uses 128: the last one must have its low 4 bits clear.
  salt += '.Oeu'[(bytes[21] ?? 0) % 4];
  const setting = `$2b$${String(cost).padStart(2, '0')}$${salt}`;
  const r = spawnSync('perl', ['-e', 'print crypt($ENV{KCTD_PASSWORD}, $ENV{KCTD_SETTING})'], {
    env: { ...process.env, KCTD_PASSWORD: password, KCTD_SETTING: setting },
    encoding: 'utf8',
  });
  const hash = r.status === 0 ? r.stdout.trim() : '';
  // A crypt(3) without bcrypt returns "*0" or a DES hash instead.
  return hash.startsWith('$2b$') && hash.length === 60 ? hash : undefined;
}

/** The tool that will be used, or undefined when neither works here. */
export function bcryptTool(): BcryptTool | undefined {
  if (findOnPath('htpasswd') !== undefined) return 'htpasswd';
  if (findOnPath('perl') !== undefined && perlBcrypt('probe', 4) !== undefined) return 'perl';
  return undefined;
}

/**
 * One `user:bcrypt-hash` line. Cost 5 (the minimum htpasswd takes is 4): the registry checks the hash on every
 * request, and a test's security needs are nil.
 */
export function htpasswdLine(user: string, password: string, cost = 5): string {
  if (user.includes(':')) throw new Error('an htpasswd user name cannot contain ":"');
  const tool = bcryptTool();
  if (tool === 'htpasswd') {
    const r = spawnSync('htpasswd', ['-nbB', '-C', String(cost), user, password], { encoding: 'utf8' });
    const line = r.stdout.trim();
    if (r.status !== 0 || !line.startsWith(`${user}:$2`)) {
      throw new Error(`htpasswd failed (status ${r.status}): ${r.stderr.trim()}`);
    }
    return line;
  }
  if (tool === 'perl') {
    const hash = perlBcrypt(password, cost);
    if (hash !== undefined) return `${user}:${hash}`;
  }
  throw new Error('no bcrypt tool: install apache2-utils (htpasswd)');
}
