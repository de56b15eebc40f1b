// Public surface of the agent's SidecarSet hot-upgrade swap.
export {
  HotUpgradeController, HOTUPGRADE_CONTROLLER_NAME, compileHotUpgradeControllerOptions, informerNodePodSource,
  nodePodInformer, sameImage, type CompiledHotUpgradeControllerOptions, type HotUpgradeControllerOptions,
  type NodePodSource,
} from './swap-controller.js';
export { PromSwapMetrics, type SwapMetrics, type SwapResult } from './swap-metrics.js';
export {
  applySwapWrite, encodeSwapStatus, isTerminal, parseSwapStatus, planSwap, transition, type ObservedSwapContainer,
  type SwapEvent, type SwapInput, type SwapPhase, type SwapPhaseOrNone, type SwapStatus, type SwapStep, type SwapWrite,
  type TransitionObserver,
} from './swap-state.js';
