export { EventRecorder, type EventRecorderOptions, type EventRecorderStats, type EventClient, type InvolvedObject } from './event-recorder.js';
export { EventCorrelator, COMBINED_PREFIX, type CoreEvent, type EventCorrelatorOptions, type CorrelateResult } from './event-correlator.js';
export { EventReason, type EventType } from './reasons.js';
