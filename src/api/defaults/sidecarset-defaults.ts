/**
 * SidecarSet defaults of the mutating webhook (upstream `SetDefaultsSidecarSet`, spec §7.1): update strategy
 * (RollingUpdate, maxUnavailable 1, partition 0), per-container podInjectPolicy / upgradeType / shareVolumePolicy
 * (containers only, not initContainers, as upstream), Kubernetes container and volume defaults. The hash
 * annotations the webhook also stamps are computed by the SidecarSet code, not here. Pure: returns a copy.
 */
import type { SidecarContainer, SidecarSet } from '../sidecarset-types.js';
import { applyContainerDefaults, applyVolumeDefaults } from './pod-defaults.js';

function defaultSidecarContainer(c: SidecarContainer): void {
  if (!c.podInjectPolicy) c.podInjectPolicy = 'BeforeAppContainer';
  const upgrade = (c.upgradeStrategy ??= {});
  if (!upgrade.upgradeType) upgrade.upgradeType = 'ColdUpgrade';
  const share = (c.shareVolumePolicy ??= {});
  if (!share.type) share.type = 'disabled';
  applyContainerDefaults(c);
}

export function defaultSidecarSet(input: SidecarSet): SidecarSet {
  const set = structuredClone(input);
  const spec = set.spec;
  const strategy = (spec.updateStrategy ??= {});
  if (!strategy.type) strategy.type = 'RollingUpdate';
  strategy.maxUnavailable ??= 1;
  strategy.partition ??= 0;
  for (const c of spec.initContainers ?? []) applyContainerDefaults(c);
  for (const c of spec.containers ?? []) defaultSidecarContainer(c);
  applyVolumeDefaults(spec.volumes);
  return set;
}
