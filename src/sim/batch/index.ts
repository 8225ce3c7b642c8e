// Public surface of src/sim/batch.
export * from './trace.js';
export * from './engine.js';
export * from './compare.js';
export * from './autoscaler.js';
export * from './autoscale-compare.js';
export * from './report.js';
