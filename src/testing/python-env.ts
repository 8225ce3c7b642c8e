// The project-local Python environment of the tests that drive the gateway
// with other people's clients (Triton's tritonclient, KServe's SDK) and fuzz
// it with schemathesis. `test/python/requirements.txt` pins every package
// with its hashes; the virtual environment lives in `.venv-python/` at the
// package root (git-ignored) and is rebuilt only when the requirements file
// (or the interpreter) changes, so a warm run costs nothing.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { TensorshareError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { testEnv } from './env.js';

export const PYTHON_TESTS = path.join(packageRoot, 'test', 'python');
const REQUIREMENTS = path.join(PYTHON_TESTS, 'requirements.txt');
const VENV = path.join(packageRoot, '.venv-python');
const STAMP = path.join(VENV, 'tensorshare-requirements.sha256');

export interface PythonEnv {
  /** The venv's interpreter. */
  python: string;
  /** Milliseconds spent creating the venv and installing (0 when reused). */
  installMs: number;
}

/** The child environment for the venv's Python: no TENSORSHARE_*, no user site, no pip chatter. */
export function pythonChildEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return testEnv({
    PYTHONNOUSERSITE: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    VIRTUAL_ENV: undefined,
    PYTHONPATH: undefined,
    ...extra,
  });
}

/** Makes sure `.venv-python` matches the requirements; installs (once, under a lock) when it does not. */
export async function ensurePythonEnv(basePython = 'python3'): Promise<PythonEnv> {
  const python = path.join(VENV, 'bin', 'python');
  const interpreter = (await run(basePython, ['-c', 'import sys; print(sys.version)'])).trim();
  const want = createHash('sha256')
    .update(await fs.readFile(REQUIREMENTS))
    .update(interpreter)
    .digest('hex');
  if ((await readStamp()) === want) return { python, installMs: 0 };
  await fs.mkdir(path.dirname(VENV), { recursive: true });
  const release = await lockfile.lock(packageRoot, {
    lockfilePath: `${VENV}.lock`,
    realpath: false,
    stale: 30_000,
    update: 5_000,
    retries: { retries: 1_000, minTimeout: 100, maxTimeout: 1_000, factor: 1.5 },
  });
  try {
    if ((await readStamp()) === want) return { python, installMs: 0 };
    const started = Date.now();
    await fs.rm(VENV, { recursive: true, force: true });
    await run(basePython, ['-m', 'venv', VENV]);
    await run(python, [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--no-input',
      '--require-hashes',
      '--no-deps',
      '--only-binary=:all:',
      // Bytecode is written on first import instead: most of kserve's dependencies are never imported.
      '--no-compile',
      '-r',
      REQUIREMENTS,
    ]);
    await fs.writeFile(STAMP, want);
    return { python, installMs: Date.now() - started };
  } finally {
    await release().catch(() => {});
  }
}

async function readStamp(): Promise<string | undefined> {
  return fs.readFile(STAMP, 'utf8').catch(() => undefined);
}

/** Runs a command to completion; rejects with its stderr when it fails. */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: pythonChildEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', (e) =>
      reject(
        new TensorshareError('ERR_PRECONDITION', `cannot run ${cmd}: ${e.message} (the Python tests need Python 3)`),
      ),
    );
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new TensorshareError(
              'ERR_PRECONDITION',
              `${cmd} ${args.join(' ')} exited with ${code}: ${err.slice(-4000)}`,
            ),
          ),
    );
  });
}
