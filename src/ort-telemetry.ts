// ONNX Runtime 1.30 on Linux starts a telemetry system at a process's first
// session: it writes $TMPDIR/mat-debug-<pid>.log and a database under
// ~/.cache/Microsoft/DeveloperTools/.onnxruntime/, and its log says it uploads
// when it finds a CA bundle. A platform that starts thousands of instance
// processes would leave a file per process in /tmp. Every tensorshare process
// entry (the CLI, instance, executor and runtime-check children) turns it off
// before any session exists, unless the user set the variable themselves.
export const ORT_TELEMETRY_VAR = 'ORT_DISABLE_TELEMETRY';

/** Sets ORT_DISABLE_TELEMETRY=1 in `env` unless it is set; ONNX Runtime reads it when its environment is created. */
export function quietOrtTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  env[ORT_TELEMETRY_VAR] ??= '1';
}
