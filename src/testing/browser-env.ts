// The browser of the dashboard's tests: Debian's Chromium, driven by
// playwright-core (which downloads no browser of its own). When
// /usr/bin/chromium is missing it is installed once, with apt-get, at the
// pinned version, under a lock so parallel test files wait for one install.
// Debian ships Chromium through its security archive, which keeps only the
// newest build: once a pinned build is superseded it cannot be installed at
// all (156.0.8078.114 went between 2026-12-04 and 12-06), so then the
// archive's current build of the same major version is installed, and the
// install says which.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { TensorshareError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { testEnv } from './env.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Debian 12's Chromium that the tests were written against (apt's candidate when pinned). */
export const CHROMIUM_PACKAGE = 'chromium=156.0.8078.129-1~deb12u1';
/** What is installed when the security archive no longer has that build: its current build of the same major version. */
export const CHROMIUM_SAME_MAJOR = `${CHROMIUM_PACKAGE.slice(0, CHROMIUM_PACKAGE.indexOf('.'))}.*`;
const LOCK = path.join(packageRoot, '.chromium-install.lock');

/**
 * The flags this machine's closed network needs: without the background
 * networking ones Chromium opens connections that are refused, and as root
 * it runs only without its sandbox.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface BrowserEnv {
  executablePath: string;
  /** Milliseconds spent installing it (0 when it was there). */
  installMs: number;
}

/** Makes sure Chromium is installed; installs the pinned package (once, under a lock) when it is not. */
export async function ensureChromium(): Promise<BrowserEnv> {
  if (await exists(CHROMIUM)) return { executablePath: CHROMIUM, installMs: 0 };
  const release = await lockfile.lock(packageRoot, {
    lockfilePath: LOCK,
    realpath: false,
    stale: 30_000,
    update: 5_000,
    retries: { retries: 1_000, minTimeout: 100, maxTimeout: 1_000, factor: 1.5 },
  });
  try {
    if (await exists(CHROMIUM)) return { executablePath: CHROMIUM, installMs: 0 };
    if (!(await exists('/usr/bin/apt-get')))
      throw new TensorshareError(
        'ERR_PRECONDITION',
        `the dashboard tests need Chromium at ${CHROMIUM}, and this machine has no apt-get to install it: install Chromium ${CHROMIUM_PACKAGE} by hand`,
      );
    if (process.geteuid?.() !== 0)
      throw new TensorshareError(
        'ERR_PRECONDITION',
        `the dashboard tests need Chromium at ${CHROMIUM}: run 'apt-get install ${CHROMIUM_PACKAGE}' as root (this is uid ${process.geteuid?.()})`,
      );
    const started = Date.now();
    const install = (pkg: string) => apt(['install', '-y', '--no-install-recommends', pkg]);
    // A fresh machine's package lists may not know the pinned version yet; and the archive may have replaced it.
    await install(CHROMIUM_PACKAGE).catch(async () => {
      await apt(['update']);
      await install(CHROMIUM_PACKAGE).catch(async (e: Error) => {
        if (!/was not found/.test(e.message)) throw e;
        process.stderr.write(
          `browser-env: ${CHROMIUM_PACKAGE} is no longer in Debian's archive; installing ${CHROMIUM_SAME_MAJOR}\n`,
        );
        await install(CHROMIUM_SAME_MAJOR);
      });
    });
    return { executablePath: CHROMIUM, installMs: Date.now() - started };
  } finally {
    await release().catch(() => {});
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

function apt(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('apt-get', args, {
      env: testEnv({ DEBIAN_FRONTEND: 'noninteractive' }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', (e) => reject(new TensorshareError('ERR_PRECONDITION', `cannot run apt-get: ${e.message}`)));
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new TensorshareError(
              'ERR_PRECONDITION',
              `apt-get ${args.join(' ')} exited with ${code}: ${err.slice(-4000)}`,
            ),
          ),
    );
  });
}
