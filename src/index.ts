// Library entry point.
export { openSession, type OpenSessionOptions, type SharedSession } from './client/open-session.js';
export { preloadDeviceClient } from './client/device-preload.js';
export { importModel, type ImportOptions, type ImportResult } from './store/import.js';
export { resolveModel, listModels, parseRef } from './store/repository.js';
export { materialize, isResident } from './store/materialize.js';
export { buildFastRun } from './store/fast-run.js';
export { gc, du, verify, removeModel } from './store/maintenance.js';
export { layout } from './store/layout.js';
export { resolvePaths } from './config.js';
export { TensorshareError, isTensorshareError, type ErrorCode } from './errors.js';
export type { Manifest, VariantManifest, OpenMode } from './store/manifest.js';
