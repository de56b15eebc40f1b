/**
 * Feature gates with v0.9.0's names, stages and defaults (spec §0.1), parsed from `--feature-gates=A=true,B=false`
 * the way component-base does: `AllAlpha` / `AllBeta` switch every gate of that stage, explicit entries win over
 * them whatever their order, and an unknown gate or a bad value is a start-up error.
 */
import { KruiseError } from './errors.js';

export type FeatureStage = 'Alpha' | 'Beta' | 'GA';

export interface FeatureSpec {
  readonly default: boolean;
  readonly stage: FeatureStage;
}

export const FEATURE_GATE_SPECS = Object.freeze({
  /** Pod CREATE webhook: SidecarSet injection and KruisePodReadinessGate. */
  PodWebhook: Object.freeze({ default: true, stage: 'Beta' }),
  /** The node agent and the ImagePullJob/NodeImage controllers and webhooks. */
  KruiseDaemon: Object.freeze({ default: true, stage: 'Beta' }),
  /** Pod label `controller-revision-hash` carries only the hash (§6.3). */
  CloneSetShortHash: Object.freeze({ default: false, stage: 'Alpha' }),
  /** Readiness gate `KruisePodReady` injected into every Pod, not only Kruise workloads' Pods. */
  KruisePodReadinessGate: Object.freeze({ default: false, stage: 'Alpha' }),
  /** CloneSet creates ImagePullJobs before in-place updates (§4.1). */
  PreDownloadImageForInPlaceUpdate: Object.freeze({ default: false, stage: 'Alpha' }),
  /** Raising `partition` moves Pods back to currentRevision (§5.3). */
  CloneSetPartitionRollback: Object.freeze({ default: false, stage: 'Alpha' }),
  /** The deletion webhooks enforce `policy.kruise.io/delete-protection` (§1). */
  ResourcesDeletionProtection: Object.freeze({ default: false, stage: 'Alpha' }),
} satisfies Record<string, FeatureSpec>);

export type FeatureGateName = keyof typeof FEATURE_GATE_SPECS;

export const FEATURE_GATE_NAMES: readonly FeatureGateName[] =
  Object.freeze(Object.keys(FEATURE_GATE_SPECS) as FeatureGateName[]);

/** The pseudo-gates that switch every gate of a stage. */
export const ALL_ALPHA = 'AllAlpha';
export const ALL_BETA = 'AllBeta';

/** The alpha gates of v0.9.0 that the sandbox turns on (spec README, "Feature gates"). */
export const SANDBOX_ENABLED_GATES: readonly FeatureGateName[] = Object.freeze([
  'ResourcesDeletionProtection', 'PreDownloadImageForInPlaceUpdate', 'CloneSetPartitionRollback', 'CloneSetShortHash',
]);

export interface FeatureGates {
  enabled(name: FeatureGateName): boolean;
  /** Every gate and its value, in declaration order. */
  readonly values: Readonly<Record<FeatureGateName, boolean>>;
  /** `A=true,B=false` for logs and for passing on. */
  toString(): string;
}

export function isFeatureGateName(name: string): name is FeatureGateName {
  return Object.prototype.hasOwnProperty.call(FEATURE_GATE_SPECS, name);
}

function makeGates(values: Record<FeatureGateName, boolean>): FeatureGates {
  const frozen = Object.freeze({ ...values });
  return Object.freeze({
    values: frozen,
    enabled(name: FeatureGateName): boolean {
      if (!isFeatureGateName(name)) {
        throw new KruiseError(`unrecognized feature gate: ${String(name)}`, { reason: 'Invalid' });
      }
      return frozen[name];
    },
    toString(): string {
      return FEATURE_GATE_NAMES.map((n) => `${n}=${frozen[n]}`).join(',');
    },
  });
}

/** v0.9.0 defaults. */
export function defaultFeatureGates(): FeatureGates {
  const values = {} as Record<FeatureGateName, boolean>;
  for (const name of FEATURE_GATE_NAMES) values[name] = FEATURE_GATE_SPECS[name].default;
  return makeGates(values);
}

/** Go's strconv.ParseBool, which component-base uses for gate values. */
function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

function invalid(message: string): KruiseError {
  return new KruiseError(message, { reason: 'Invalid', fieldPath: 'feature-gates' });
}

/**
 * Parses the `--feature-gates` flag value over `base` (default: v0.9.0 defaults) and runs the start-up dependency
 * check. Throws KruiseError(reason `Invalid`) for an unknown gate, a missing or non-boolean value, or a failed check.
 */
export function parseFeatureGates(flagValue: string, base: FeatureGates = defaultFeatureGates()): FeatureGates {
  const explicit = new Map<FeatureGateName, boolean>();
  const stageSwitches = new Map<FeatureStage, boolean>();
  for (const raw of flagValue.split(',')) {
    if (raw.trim() === '') continue;
    const eq = raw.indexOf('=');
    const key = (eq < 0 ? raw : raw.slice(0, eq)).trim();
    if (eq < 0) throw invalid(`missing bool value for ${key}`);
    const text = raw.slice(eq + 1).trim();
    const value = parseGoBool(text);
    if (value === undefined) {
      throw invalid(`invalid value of ${key}=${text}, err: strconv.ParseBool: parsing ${JSON.stringify(text)}: invalid syntax`);
    }
    if (key === ALL_ALPHA) stageSwitches.set('Alpha', value);
    else if (key === ALL_BETA) stageSwitches.set('Beta', value);
    else if (isFeatureGateName(key)) explicit.set(key, value);
    else throw invalid(`unrecognized feature gate: ${key}`);
  }
  const values = { ...base.values };
  for (const name of FEATURE_GATE_NAMES) {
    const stageValue = stageSwitches.get(FEATURE_GATE_SPECS[name].stage);
    if (stageValue !== undefined) values[name] = stageValue;
  }
  for (const [name, value] of explicit) values[name] = value;
  const gates = makeGates(values);
  checkFeatureGateDependencies(gates);
  return gates;
}

/** The manager's start-up check (upstream `ValidateFeatureGates`), exact message. */
export function checkFeatureGateDependencies(gates: FeatureGates): void {
  if (gates.enabled('KruisePodReadinessGate') && !gates.enabled('PodWebhook')) {
    throw invalid('can not enable feature-gate KruisePodReadinessGate because of PodWebhook disabled');
  }
}

/**
 * v0.9.0 defaults adjusted by the legacy env `CUSTOM_RESOURCE_ENABLE` (pass its value; only cli/ reads env): a
 * non-empty list without `SidecarSet` turns PodWebhook's default off.
 */
export function featureGateDefaultsForCustomResourceEnable(envValue: string | undefined): FeatureGates {
  const defaults = defaultFeatureGates();
  const text = (envValue ?? '').trim();
  if (text === '' || text.split(',').includes('SidecarSet')) return defaults;
  return makeGates({ ...defaults.values, PodWebhook: false });
}

/** The sandbox's gates: the four v0.9 alpha gates on unless `flagValue` says otherwise. */
export function sandboxFeatureGates(flagValue = ''): FeatureGates {
  const defaults = defaultFeatureGates();
  const values = { ...defaults.values };
  for (const name of SANDBOX_ENABLED_GATES) values[name] = true;
  return parseFeatureGates(flagValue, makeGates(values));
}
