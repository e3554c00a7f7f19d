export { Scheduler } from './scheduler.js';
export {
  CycleError,
  InvalidOptionsError,
  InvalidTaskError,
  RunError,
  SchedulerError,
  SchedulerStateError,
  TaskCancelledError,
  TaskTimeoutError,
  UnknownDependencyError,
} from './errors.js';
export type { SchedulerErrorCode } from './errors.js';
export type {
  BackoffFunction,
  BackoffOptions,
  ErrorHandling,
  Progress,
  RunReport,
  SchedulerEvent,
  SchedulerEventMap,
  SchedulerOptions,
  TaskContext,
  TaskDefinition,
  TaskDefinitions,
  TaskFunction,
  TaskOutcome,
  TaskStatus,
} from './types.js';
