/**
 * Registers the conformance table (`conformance-cases.ts`) as one node:test suite for one runtime. The rows run in
 * order (`concurrency: false`): they share a sandbox and a container.
 */
import { after, before, describe, it } from 'node:test';
import {
  conformanceCases, expectedFor, newConformanceState, type ConformanceState, type ConformanceTarget, type RuntimeKind,
} from './conformance-cases.js';

export interface ConformanceSetup {
  readonly target: ConformanceTarget;
  /** Tears the runtime down; rejects if anything was left behind. */
  close(): Promise<void>;
}

export interface ConformanceSuiteOptions {
  /** Why the suite cannot run here (names what is missing); the suite is then reported as skipped. */
  skip?: string;
  /** Budget for starting the runtime. @default 60000 */
  setupTimeoutMs?: number;
}

export function defineConformanceSuite(
  kind: RuntimeKind, setup: () => Promise<ConformanceSetup>, options: ConformanceSuiteOptions = {},
): void {
  describe(`CRI conformance: ${kind}`, { concurrency: false, skip: options.skip }, () => {
    let env: ConformanceSetup | undefined;
    let state: ConformanceState | undefined;

    before(async () => {
      env = await setup();
      state = newConformanceState(env.target);
    }, { timeout: options.setupTimeoutMs ?? 60_000 });

    after(async () => {
      await env?.close();
    });

    for (const c of conformanceCases) {
      it(c.name, async () => {
        if (env === undefined || state === undefined) throw new Error('the runtime did not start');
        await c.run(env.target, state, expectedFor(c, env.target.kind));
      });
    }
  });
}
