/**
 * Runs a set of controllers the way a Kubernetes controller manager does: shared informers start at once (so a
 * standby has warm caches), a health server answers /healthz, /readyz and /metrics, and the controllers run only
 * while this process holds the leader Lease. Losing leadership aborts them at once.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { KruiseError } from '../api/errors.js';
import type { Registry } from 'prom-client';
import type { Controller } from './controller/index.js';
import { EventRecorder } from './events/index.js';
import { HealthServer } from './health-server.js';
import { InformerFactory, type InformerFactoryOptions } from './informer/index.js';
import type { KubeClient } from './kube-client.js';
import { LeaderElector, type LeaderElectorOptions } from './leader-election.js';
import type { KubeMetrics } from './metrics.js';

export interface ManagerContext {
  client: KubeClient;
  informers: InformerFactory;
  recorder: EventRecorder;
  metrics: KubeMetrics;
  logger: Logger;
}

export interface ManagerOptions {
  client: KubeClient;
  metrics: KubeMetrics;
  registry: Registry;
  logger: Logger;
  /** Source component of our Events (`kruise-ts-coordinator`). */
  component: string;
  /** Port of /healthz, /readyz and /metrics; 0 = any; undefined = no health server. */
  healthPort?: number;
  /** @default '0.0.0.0' */
  healthHost?: string;
  /** Without leader election every replica reconciles (only for a single replica). @default true */
  leaderElection?: boolean;
  lease?: { namespace: string; name: string; identity: string } & Partial<Pick<LeaderElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>>;
  informerTuning?: InformerFactoryOptions['tuning'];
  /** Builds the controllers once; they are started each time leadership is won. */
  controllers: (ctx: ManagerContext) => Controller[];
}

export type ManagerState = 'new' | 'standby' | 'leading' | 'stopped';

export class Manager {
  readonly informers: InformerFactory;
  readonly recorder: EventRecorder;
  private readonly health: HealthServer | undefined;
  private readonly controllers: Controller[];
  private elector: LeaderElector | undefined;
  private stateValue: ManagerState = 'new';
  private leadTerms = 0;

  constructor(private readonly o: ManagerOptions) {
    this.informers = new InformerFactory({
      client: o.client, logger: o.logger, metrics: o.metrics, ...(o.informerTuning ? { tuning: o.informerTuning } : {}),
    });
    this.recorder = new EventRecorder({ client: o.client, component: o.component, logger: o.logger });
    this.controllers = o.controllers({ client: o.client, informers: this.informers, recorder: this.recorder, metrics: o.metrics, logger: o.logger });
    if (o.healthPort !== undefined) {
      this.health = new HealthServer({ port: o.healthPort, host: o.healthHost ?? '0.0.0.0', registry: o.registry, logger: o.logger });
      this.health.addReadinessCheck('informers-synced', () => {
        const pending = this.informers.unsynced();
        return pending.length === 0 ? true : `not synced: ${pending.join(', ')}`;
      });
    }
  }

  get state(): ManagerState { return this.stateValue; }

  /** How many times this process has become leader (tests and metrics). */
  get terms(): number { return this.leadTerms; }

  healthServer(): HealthServer | undefined { return this.health; }

  /**
   * Runs until `signal` aborts; resolves after controllers, informers and the health server have stopped. When
   * leadership is lost it stops everything and rejects with reason `LeaderElectionLost`: like Kubernetes'
   * controller managers, the process then exits and is restarted as a fresh standby.
   */
  async start(signal: AbortSignal): Promise<void> {
    const log = this.o.logger.child({ component: 'manager' });
    const inner = new AbortController();
    const running = AbortSignal.any([signal, inner.signal]);
    // Every informer, controller worker and the health server listen on it: many listeners are by design, not a leak.
    setMaxListeners(0, running);
    const tasks: Promise<unknown>[] = [this.informers.start(running)];
    if (this.health) {
      tasks.push(this.health.start(running));
      this.health.listening().then((a) => log.info({ port: a.port }, 'health server listening'), () => undefined);
    }
    this.stateValue = 'standby';
    const runControllers = async (leading: AbortSignal): Promise<void> => {
      await this.informers.waitForSync(leading).catch(() => undefined);
      if (leading.aborted) return;
      this.stateValue = 'leading';
      this.leadTerms++;
      log.info({ controllers: this.controllers.map((c) => c.name) }, 'leading: starting controllers');
      await Promise.all(this.controllers.map((c) => c.start(leading)));
    };
    let lost = false;
    try {
      if (this.o.leaderElection === false) {
        await runControllers(running);
      } else {
        const lease = this.o.lease;
        if (!lease) throw new KruiseError('leader election needs lease options (namespace, name, identity)', { reason: 'Invalid' });
        this.elector = new LeaderElector({
          client: this.o.client, logger: this.o.logger, ...lease,
          onStartedLeading: (leading) => runControllers(leading),
          onStoppedLeading: () => { if (!signal.aborted) lost = true; },
          onNewLeader: (id) => log.info({ leader: id }, 'new leader'),
        });
        this.health?.addReadinessCheck('leader-election', this.elector.readinessCheck(2000));
        await this.elector.run(running);
      }
    } finally {
      inner.abort();
      await Promise.allSettled(tasks);
      await this.recorder.close();
      this.stateValue = 'stopped';
    }
    if (lost) {
      log.error('leadership lost: controllers stopped');
      throw new KruiseError('leadership lost', { reason: 'LeaderElectionLost' });
    }
  }
}
