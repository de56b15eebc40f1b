/**
 * Runs the real kubectl against a test API server. Tests that need it call `kubectlOrSkip` so that they skip
 * with a message naming the missing binary instead of failing where kubectl is not installed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const KUBECTL = process.env['KUBECTL'] ?? '/usr/bin/kubectl';

export function kubectlAvailable(): boolean {
  return existsSync(KUBECTL);
}

/** A reason to skip, or undefined when kubectl is there. */
export function kubectlSkipReason(): string | undefined {
  return kubectlAvailable() ? undefined : `kubectl not found at ${KUBECTL}: skipping kubectl tests`;
}

export interface KubectlResult { code: number; stdout: string; stderr: string }

export class Kubectl {
  constructor(private readonly kubeconfigPath: string, private readonly cacheDir: string) {}

  static forHarness(h: { kubeconfigPath: string; dir: string }): Kubectl {
    return new Kubectl(h.kubeconfigPath, join(h.dir, 'kubectl-cache'));
  }

  private args(args: string[]): string[] {
    return ['--kubeconfig', this.kubeconfigPath, '--cache-dir', this.cacheDir, ...args];
  }

  run(args: string[], input?: string): Promise<KubectlResult> {
    return new Promise((resolve) => {
      const child = execFile(KUBECTL, this.args(args), { timeout: 30_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  /** Runs and fails the test with kubectl's stderr when it exits non-zero. */
  async ok(args: string[], input?: string): Promise<string> {
    const r = await this.run(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  async json<T = Record<string, unknown>>(args: string[]): Promise<T> {
    return JSON.parse(await this.ok([...args, '-o', 'json'])) as T;
  }

  /** Starts a long-running kubectl (get --watch, wait); the caller kills it. */
  spawn(args: string[]): ChildProcess {
    return spawn(KUBECTL, this.args(args), { stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

export function skipWithoutKubectl(t: TestContext): boolean {
  const reason = kubectlSkipReason();
  if (reason) { t.skip(reason); return true; }
  return false;
}
