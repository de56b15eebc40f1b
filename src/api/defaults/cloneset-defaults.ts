/** CloneSet defaults of the mutating webhook (upstream `SetDefaultsCloneSet`, spec §3.1). Pure: returns a copy. */
import type { CloneSet } from '../cloneset-types.js';
import { DEFAULT_CLONESET_MAX_UNAVAILABLE } from '../cloneset-types.js';
import { applyPodSpecDefaults } from './pod-defaults.js';

export function defaultCloneSet(input: CloneSet): CloneSet {
  const cs = structuredClone(input);
  const spec = cs.spec;
  if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
  if (spec.revisionHistoryLimit === undefined || spec.revisionHistoryLimit === null) spec.revisionHistoryLimit = 10;
  if (spec.template?.spec) applyPodSpecDefaults(spec.template.spec);
  for (const pvc of spec.volumeClaimTemplates ?? []) {
    // SetDefaults_PersistentVolumeClaim: volumeMode Filesystem.
    if (pvc.spec && !pvc.spec.volumeMode) pvc.spec.volumeMode = 'Filesystem';
  }
  const strategy = (spec.updateStrategy ??= {});
  if (!strategy.type) {
    strategy.type = 'ReCreate';
  } else if (strategy.type === 'InPlaceIfPossible' || strategy.type === 'InPlaceOnly') {
    strategy.inPlaceUpdateStrategy ??= {};
  }
  strategy.partition ??= 0;
  strategy.maxUnavailable ??= DEFAULT_CLONESET_MAX_UNAVAILABLE;
  strategy.maxSurge ??= 0;
  return cs;
}
