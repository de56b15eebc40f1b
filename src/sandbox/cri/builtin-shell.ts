/**
 * The few commands a built-in container can run, enough for postStart hooks, probes and short-lived test containers:
 * `true`, `false`, `:`, `exit N`, `sleep N` (busybox forms: `1.5`, `2m`, `infinity`; several add up), `echo [-n]`,
 * `cat`, `touch`, `rm [-f]`, `mkdir`, `test`/`[`, and `sh -c SCRIPT` (also `bash`, `ash`, `/bin/sh`...). Scripts
 * support `;`, newlines, `&&`, `||`, quotes, backslashes, `#` comments and the redirections `>`, `>>`, `2>`, `2>>`,
 * `2>&1`, `>&2` (to a file of the container, or `/dev/null`). No pipes, no background jobs, no variables.
 *
 * Files are a per-container map of path to content, created on the first write, so `echo ok > /tmp/ready` in a
 * postStart hook and `cat /tmp/ready` in a probe see each other; nothing from the image exists (`cat` of any other
 * file fails like busybox: exit 1, stdout empty, `cat: can't open 'F': No such file or directory` on stderr).
 *
 * Time is virtual (`ShellEnv.now`): each sleep moves it to exactly its due time even when the clock's timer fires
 * late (a fake clock advanced in one big step), so exit times stay exact. Output wording follows busybox 1.35, the
 * shell of the test images in notes/containerd-for-tests.md (`sh: x: not found`, exit 127).
 */
import { sleepUntil, waitForAbort, type RuntimeClock } from './runtime-clock.js';

/** A container's files: path → content. */
export type ContainerFiles = Map<string, string>;

export interface ShellEnv {
  readonly clock: RuntimeClock;
  /** Kills the command (container stopped, caller gone): the pending sleep rejects with `SleepAborted`. */
  readonly signal: AbortSignal;
  /** Epoch ms after which the command is killed for a timeout (`ShellTimeout`); `Infinity` for none. */
  readonly deadline: number;
  /** Virtual time, epoch ms: where the command is in its own timeline. */
  now: number;
  stdout: string;
  stderr: string;
  /** The container's files; created on first write. */
  files: () => ContainerFiles;
  /** The container's files if any were ever written. */
  peekFiles: () => ContainerFiles | undefined;
}

/** The command ran past `ShellEnv.deadline`. */
export class ShellTimeout extends Error {
  constructor() {
    super('shell command timed out');
    this.name = 'ShellTimeout';
  }
}

class ShellExit {
  constructor(readonly code: number) {}
}

const SEARCH_PATH = new Set(['/bin', '/usr/bin', '/sbin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']);
const SHELLS = new Set(['sh', 'bash', 'ash', 'dash']);
const BUILTINS = new Set(['true', 'false', ':', 'exit', 'sleep', 'echo', 'cat', 'touch', 'rm', 'mkdir', 'test', '[', ...SHELLS]);

/** The builtin a program path names (`/bin/sleep` → `sleep`), or `undefined` for anything else. */
export function builtinName(program: string | undefined): string | undefined {
  if (program === undefined || program === '') return undefined;
  let name = program;
  const slash = program.lastIndexOf('/');
  if (slash >= 0) {
    if (!SEARCH_PATH.has(program.slice(0, slash))) return undefined;
    name = program.slice(slash + 1);
  }
  return BUILTINS.has(name) ? name : undefined;
}

/** `sh FILE` (no `-c`) naming a file the container does not have: a program of the image we do not model. */
export function isOpaqueShellScript(argv: readonly string[], files: ContainerFiles | undefined): boolean {
  const name = builtinName(argv[0]);
  return name !== undefined && SHELLS.has(name) && argv.length > 1 && argv[1] !== '-c'
    && !(argv[1] ?? '').startsWith('-') && files?.has(argv[1] ?? '') !== true;
}

/** Runs a builtin command line and returns its exit status (0-255). The caller checks `builtinName(argv[0])` first. */
export async function runCommand(argv: readonly string[], env: ShellEnv): Promise<number> {
  try {
    return await runSimple(argv, env);
  } catch (err) {
    if (err instanceof ShellExit) return err.code;
    throw err;
  }
}

// ---- Commands ----

async function runSimple(argv: readonly string[], env: ShellEnv): Promise<number> {
  const program = argv[0] ?? '';
  const name = builtinName(program);
  const args = argv.slice(1);
  switch (name) {
    case 'true':
    case ':':
      return 0;
    case 'false':
      return 1;
    case 'exit':
      return exitBuiltin(args, env);
    case 'sleep':
      return sleepCommand(args, env);
    case 'echo':
      return echo(args, env);
    case 'cat':
      return cat(args, env);
    case 'touch':
      for (const path of args.filter((a) => !a.startsWith('-'))) if (!env.files().has(path)) env.files().set(path, '');
      return 0;
    case 'rm':
      return rm(args, env);
    case 'mkdir':
      return 0;
    case 'test':
      return testCommand(args, env, 'test');
    case '[':
      if (args[args.length - 1] !== ']') {
        env.stderr += '[: missing ]\n';
        return 2;
      }
      return testCommand(args.slice(0, -1), env, '[');
    case 'sh':
    case 'bash':
    case 'ash':
    case 'dash':
      return shell(args, env);
    default:
      env.stderr += `sh: ${program}: not found\n`;
      return 127;
  }
}

function exitBuiltin(args: readonly string[], env: ShellEnv): never {
  const arg = args[0];
  if (arg === undefined) throw new ShellExit(0);
  if (!/^-?\d+$/.test(arg)) {
    env.stderr += `sh: exit: Illegal number: ${arg}\n`;
    throw new ShellExit(2);
  }
  throw new ShellExit(((Number(arg) % 256) + 256) % 256);
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** busybox `sleep` with FLOAT_DURATION: decimal numbers with an optional s/m/h/d suffix, or `inf`/`infinity`. */
export function parseSleepMs(arg: string): number | undefined {
  if (arg === 'inf' || arg === 'infinity') return Infinity;
  const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(arg);
  if (m === null) return undefined;
  return Number(m[1]) * (DURATION_UNITS_MS[m[2] ?? ''] ?? 1000);
}

async function sleepCommand(args: readonly string[], env: ShellEnv): Promise<number> {
  if (args.length === 0) {
    env.stderr += 'BusyBox v1.35.0 multi-call binary.\n\nUsage: sleep [N]...\n';
    return 1;
  }
  let totalMs = 0;
  for (const arg of args) {
    const ms = parseSleepMs(arg);
    if (ms === undefined) {
      env.stderr += `sleep: invalid number '${arg}'\n`;
      return 1;
    }
    totalMs += ms;
  }
  await sleepFor(env, totalMs);
  return 0;
}

/** Sleeps in virtual time; throws `ShellTimeout` at the deadline and `SleepAborted` when killed. */
export async function sleepFor(env: ShellEnv, ms: number): Promise<void> {
  const due = env.now + ms;
  if (due > env.deadline) {
    await sleepUntil(env.clock, env.deadline, env.signal);
    env.now = env.deadline;
    throw new ShellTimeout();
  }
  if (due === Infinity) await waitForAbort(env.signal);
  await sleepUntil(env.clock, due, env.signal);
  env.now = due;
}

function echo(args: readonly string[], env: ShellEnv): number {
  let newline = true;
  let rest = args;
  while (rest[0] === '-n' || rest[0] === '-e' || rest[0] === '-E') {
    if (rest[0] === '-n') newline = false;
    rest = rest.slice(1);
  }
  env.stdout += rest.join(' ') + (newline ? '\n' : '');
  return 0;
}

function cat(args: readonly string[], env: ShellEnv): number {
  let status = 0;
  for (const path of args) {
    if (path === '/dev/null') continue;
    const content = env.peekFiles()?.get(path);
    if (content === undefined) {
      env.stderr += `cat: can't open '${path}': No such file or directory\n`;
      status = 1;
    } else env.stdout += content;
  }
  return status;
}

function rm(args: readonly string[], env: ShellEnv): number {
  const force = args.some((a) => /^-[a-zA-Z]*f/.test(a));
  let status = 0;
  for (const path of args.filter((a) => !a.startsWith('-'))) {
    if (env.peekFiles()?.delete(path) !== true && !force) {
      env.stderr += `rm: can't remove '${path}': No such file or directory\n`;
      status = 1;
    }
  }
  return status;
}

function testCommand(args: readonly string[], env: ShellEnv, name: string): number {
  const result = evaluateTest(args, env);
  if (result === undefined) {
    env.stderr += `sh: ${name}: syntax error\n`;
    return 2;
  }
  return result ? 0 : 1;
}

function evaluateTest(args: readonly string[], env: ShellEnv): boolean | undefined {
  if (args[0] === '!') {
    const inner = evaluateTest(args.slice(1), env);
    return inner === undefined ? undefined : !inner;
  }
  const files = env.peekFiles();
  const [a, b, c] = args;
  switch (args.length) {
    case 0:
      return false;
    case 1:
      return (a ?? '') !== '';
    case 2:
      switch (a) {
        case '-e':
        case '-f': return files?.has(b ?? '') === true;
        case '-s': return (files?.get(b ?? '') ?? '') !== '';
        case '-n': return (b ?? '') !== '';
        case '-z': return (b ?? '') === '';
        default: return undefined;
      }
    case 3: {
      const x = Number(a);
      const y = Number(c);
      switch (b) {
        case '=':
        case '==': return a === c;
        case '!=': return a !== c;
        case '-eq': return x === y;
        case '-ne': return x !== y;
        case '-lt': return x < y;
        case '-le': return x <= y;
        case '-gt': return x > y;
        case '-ge': return x >= y;
        default: return undefined;
      }
    }
    default:
      return undefined;
  }
}

async function shell(args: readonly string[], env: ShellEnv): Promise<number> {
  if (args[0] === '-c') {
    return runScript(args[1] ?? '', env);
  }
  const file = args.find((a) => !a.startsWith('-'));
  // No script and no terminal: the shell reads an empty stdin and exits.
  if (file === undefined) return 0;
  const content = env.peekFiles()?.get(file);
  if (content === undefined) {
    env.stderr += `sh: can't open '${file}': No such file or directory\n`;
    return 2;
  }
  return runScript(content, env);
}

// ---- Scripts ----

type Connector = ';' | '&&' | '||';

interface Redirect {
  fd: 1 | 2;
  append: boolean;
  target: string;
}

interface SimpleCommand {
  connector: Connector;
  argv: string[];
  redirects: Redirect[];
  /** `2>&1`. */
  stderrToStdout: boolean;
  /** `>&2`, `1>&2`. */
  stdoutToStderr: boolean;
}

class ScriptSyntaxError extends Error {}

/** Runs a script in a subshell: `exit` ends the script, not the caller. */
export async function runScript(script: string, env: ShellEnv): Promise<number> {
  let commands: SimpleCommand[];
  try {
    commands = parseScript(script);
  } catch (err) {
    if (!(err instanceof ScriptSyntaxError)) throw err;
    env.stderr += `sh: ${err.message}\n`;
    return 2;
  }
  let status = 0;
  try {
    for (const command of commands) {
      if (command.connector === '&&' && status !== 0) continue;
      if (command.connector === '||' && status === 0) continue;
      status = await runWithRedirects(command, env);
    }
  } catch (err) {
    if (err instanceof ShellExit) return err.code;
    throw err;
  }
  return status;
}

async function runWithRedirects(command: SimpleCommand, env: ShellEnv): Promise<number> {
  if (command.argv.length === 0) return 0;
  const outStart = env.stdout.length;
  const errStart = env.stderr.length;
  const route = () => {
    let out = env.stdout.slice(outStart);
    let err = env.stderr.slice(errStart);
    env.stdout = env.stdout.slice(0, outStart);
    env.stderr = env.stderr.slice(0, errStart);
    if (command.stderrToStdout) {
      out += err;
      err = '';
    }
    if (command.stdoutToStderr) {
      err += out;
      out = '';
    }
    for (const r of command.redirects) {
      const text = r.fd === 1 ? out : err;
      if (r.fd === 1) out = '';
      else err = '';
      if (r.target === '/dev/null') continue;
      const files = env.files();
      files.set(r.target, (r.append ? files.get(r.target) ?? '' : '') + text);
    }
    env.stdout += out;
    env.stderr += err;
  };
  // Truncating redirections take effect before the command runs, as in sh.
  for (const r of command.redirects) if (!r.append && r.target !== '/dev/null') env.files().set(r.target, '');
  try {
    return await runSimple(command.argv, env);
  } finally {
    route();
  }
}

type Token = { kind: 'word'; value: string } | { kind: 'op'; value: string };

function tokenize(script: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let word: string | undefined;
  const flush = () => {
    if (word !== undefined) tokens.push({ kind: 'word', value: word });
    word = undefined;
  };
  while (i < script.length) {
    const ch = script[i] as string;
    if (ch === ' ' || ch === '\t') { flush(); i++; continue; }
    if (ch === '\n' || ch === ';') { flush(); tokens.push({ kind: 'op', value: ';' }); i++; continue; }
    if (ch === '#' && word === undefined) {
      while (i < script.length && script[i] !== '\n') i++;
      continue;
    }
    const two = script.slice(i, i + 2);
    if (two === '&&' || two === '||') { flush(); tokens.push({ kind: 'op', value: two }); i += 2; continue; }
    if (ch === '|' || ch === '&' || ch === '<') {
      throw new ScriptSyntaxError(`'${ch}' is not supported by the kruise-ts built-in shell`);
    }
    if (ch === '>') {
      // A lone `1` or `2` just before `>` is the descriptor.
      let fd: 1 | 2 = 1;
      if (word === '1' || word === '2') { fd = word === '2' ? 2 : 1; word = undefined; }
      flush();
      const dup = /^>&([12])/.exec(script.slice(i, i + 3));
      if (dup !== null) { tokens.push({ kind: 'op', value: `${fd}>&${dup[1]}` }); i += 3; continue; }
      const append = script[i + 1] === '>';
      tokens.push({ kind: 'op', value: `${fd}${append ? '>>' : '>'}` });
      i += append ? 2 : 1;
      continue;
    }
    if (ch === "'") {
      const end = script.indexOf("'", i + 1);
      if (end < 0) throw new ScriptSyntaxError('syntax error: unterminated quoted string');
      word = (word ?? '') + script.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= script.length) throw new ScriptSyntaxError('syntax error: unterminated quoted string');
        const c = script[j] as string;
        if (c === '"') break;
        if (c === '\\' && j + 1 < script.length && '"\\$`\n'.includes(script[j + 1] as string)) {
          value += script[j + 1];
          j += 2;
          continue;
        }
        value += c;
        j++;
      }
      word = (word ?? '') + value;
      i = j + 1;
      continue;
    }
    if (ch === '\\' && i + 1 < script.length) {
      if (script[i + 1] !== '\n') word = (word ?? '') + script[i + 1];
      i += 2;
      continue;
    }
    word = (word ?? '') + ch;
    i++;
  }
  flush();
  return tokens;
}

function parseScript(script: string): SimpleCommand[] {
  const commands: SimpleCommand[] = [];
  let current: SimpleCommand = { connector: ';', argv: [], redirects: [], stderrToStdout: false, stdoutToStderr: false };
  let pendingRedirect: Omit<Redirect, 'target'> | undefined;
  const tokens = tokenize(script);
  const finish = (next: Connector) => {
    if (pendingRedirect !== undefined) throw new ScriptSyntaxError('syntax error: unexpected redirection');
    if (current.argv.length === 0 && next !== ';') throw new ScriptSyntaxError(`syntax error: unexpected "${next}"`);
    if (current.argv.length > 0) commands.push(current);
    current = { connector: next, argv: [], redirects: [], stderrToStdout: false, stdoutToStderr: false };
  };
  for (const token of tokens) {
    if (token.kind === 'word') {
      if (pendingRedirect !== undefined) {
        current.redirects.push({ ...pendingRedirect, target: token.value });
        pendingRedirect = undefined;
      } else current.argv.push(token.value);
      continue;
    }
    switch (token.value) {
      case ';':
      case '&&':
      case '||':
        finish(token.value);
        break;
      case '2>&1':
        current.stderrToStdout = true;
        break;
      case '1>&2':
        current.stdoutToStderr = true;
        break;
      case '1>&1':
      case '2>&2':
        break;
      default:
        pendingRedirect = { fd: token.value.startsWith('2') ? 2 : 1, append: token.value.endsWith('>>') };
    }
  }
  if (pendingRedirect !== undefined) throw new ScriptSyntaxError('syntax error: unexpected newline');
  if (current.argv.length > 0) commands.push(current);
  else if (current.connector !== ';') throw new ScriptSyntaxError('syntax error: unexpected end of file');
  return commands;
}
