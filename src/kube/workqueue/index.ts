export { WorkQueue, type GetResult, type WorkQueueMetrics, type WorkQueueOptions } from './work-queue.js';
export {
  BucketRateLimiter, ItemExponentialFailureRateLimiter, MaxOfRateLimiter, defaultControllerRateLimiter,
  type BucketOptions, type ExponentialBackoffOptions, type RateLimiter,
} from './rate-limiters.js';
export {
  MAX_TIMER_DELAY_MS, clampDelayMs, systemSchedulingClock, type CancelTimer, type Clock, type SchedulingClock,
  type TimerScheduler,
} from './clock.js';
