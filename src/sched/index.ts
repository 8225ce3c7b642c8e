// Public surface of src/sched for the serving layer.
export { type Clock, type FakeClock, type TimerHandle, realClock, createFakeClock } from './clock.js';
export {
  type NamedTensors,
  type ValueShape,
  concatTensors,
  splitTensor,
  concatInputs,
  splitOutputs,
  shapeKey,
  isBatchable,
  isDynamicDim,
} from './tensor.js';
export { type BatchingConfig, type BatchDecision, type Pending, decideBatch } from './batcher.js';
export { type AimdConfig, type AimdState, aimdInit, aimdUpdate } from './aimd.js';
export { type ProfileConfig, type LatencyProfile, createProfile, observe, predict } from './profile.js';
export { type CoreBudget, type CoreReservation, createCoreBudget } from './cores.js';
export {
  type Policy,
  type PriorityClass,
  type FunctionConfig,
  type DispatcherConfig,
  type RequestInit,
  type Request,
  type Batch,
  type Decision,
  type Dispatcher,
  type DispatcherSnapshot,
  type FunctionStats,
  POLICIES,
  PRIORITY_CLASSES,
  createDispatcher,
  timeoutError,
} from './dispatcher.js';
export {
  type Execute,
  type Scheduler,
  type SchedulerOptions,
  type SubmitOptions,
  cancelledError,
  createScheduler,
} from './scheduler.js';
export {
  type FallbackConfig,
  type FallbackState,
  type GpuLoad,
  FALLBACK_DEFAULTS,
  checkFallbackConfig,
  deviceFor,
  fallbackStep,
  initialFallback,
} from './fallback.js';
