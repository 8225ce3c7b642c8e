// Public surface of src/plan.
export * from './profile.js';
export * from './instance.js';
export * from './fleet.js';
export * from './realtime.js';
export * from './plan-file.js';
export * from './plan.js';
