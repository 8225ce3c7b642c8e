// The environment of every child process a test starts: the caller's, less
// every TENSORSHARE_* variable, so a user's exported store, repository,
// socket or config (as the README's tables invite) never reaches a test
// daemon, server or CLI run. Tests pass what they need explicitly.
// scripts/run-tests.js exports canaries of these variables and fails the run
// when anything touches them (see src/testing/README.md).

const isOurs = (k: string) => k.startsWith('TENSORSHARE_');

/** A copy of process.env without TENSORSHARE_* variables, plus `extra` (undefined removes a key). */
export function testEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!isOurs(k)) env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Overrides that unset every TENSORSHARE_* variable, for APIs that merge over process.env (child_process skips undefined values). */
export function unsetTensorshareVars(): Record<string, undefined> {
  return Object.fromEntries(
    Object.keys(process.env)
      .filter(isOurs)
      .map((k) => [k, undefined]),
  );
}
