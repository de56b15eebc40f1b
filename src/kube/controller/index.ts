export {
  Controller, compileControllerOptions, type CompiledControllerOptions, type ControllerMetrics,
  type ControllerMetricsProvider, type ControllerOptions, type ControllerState, type ReconcileOutcome,
} from './controller.js';
export { TerminalError, type ReconcileContext, type ReconcileResult, type Reconciler } from './reconciler.js';
