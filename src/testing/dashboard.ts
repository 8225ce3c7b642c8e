// The dashboard in a real browser, for its test and for the screenshots in
// docs/dashboard/ (scripts/dashboard-screenshots.js): a real `tensorshare
// serve` with the bundled functions and `--dashboard`, a fine-tuned family
// in its repository (so the sharing matrix has something to show), headless
// Chromium on the page, and each view opened and captured.
import fs from 'node:fs/promises';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { packageRoot } from '../paths.js';
import { importModel } from '../store/import.js';
import { CHROMIUM_ARGS, ensureChromium } from './browser-env.js';
import { writeMatMulChain } from './models.js';
import { spawnServe, type ServeChild } from './serve.js';
import type { TempRoots } from './tmp.js';
import { until } from './until.js';

export const DASHBOARD_VIEWS = ['store', 'functions', 'memory', 'gpus'] as const;
export type DashboardViewName = (typeof DASHBOARD_VIEWS)[number];

/** A base model and two fine-tunes of it: the same first two layers, their own last one. */
export const FAMILY = ['family-base', 'family-ft1', 'family-ft2'] as const;

export async function importFamily(roots: Pick<TempRoots, 'dir' | 'repository'>): Promise<void> {
  const dir = path.join(roots.dir, 'family');
  await fs.mkdir(dir, { recursive: true });
  for (const [i, name] of FAMILY.entries()) {
    const file = await writeMatMulChain(path.join(dir, `${name}.onnx`), [
      { rows: 256, cols: 256, seed: 1 },
      { rows: 256, cols: 256, seed: 2 },
      { rows: 256, cols: 64, seed: 100 + i },
    ]);
    await importModel(roots.repository, file, { name });
  }
}

export interface ServeWithDashboard {
  serve: ServeChild;
  /** http://127.0.0.1:PORT/dashboard/ */
  dashboardUrl: string;
}

/** serve with the bundled functions and models, HTTP only, the dashboard on any free port of loopback. */
export async function serveWithDashboard(
  roots: Pick<TempRoots, 'repository' | 'store'>,
  flags: readonly string[] = [],
): Promise<ServeWithDashboard> {
  const serve = await spawnServe(roots, path.join(packageRoot, 'functions'), [
    '--grpc-port',
    'off',
    '--dashboard',
    '0',
    '--poll',
    '0',
    ...flags,
  ]);
  const m = /tensorshare dashboard on (http:\/\/\S+)/.exec(serve.stdout());
  if (!m) {
    await serve.stop();
    throw new Error(`serve printed no dashboard address: ${serve.stdout()}`);
  }
  return { serve, dashboardUrl: m[1]! };
}

export interface DashboardBrowser {
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/** Headless Chromium (installed on first use) on `url`, once the page has its first snapshot. */
export async function openDashboard(url: string): Promise<DashboardBrowser> {
  const { executablePath } = await ensureChromium();
  // Playwright gives the browser a new empty profile of its own, and removes it on close.
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  const close = () => browser.close();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    return { browser, page, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Opens `view` and waits until it is rendered from a snapshot newer than the one shown before. */
export async function showView(page: Page, view: DashboardViewName): Promise<void> {
  const before = await page.getAttribute('[data-testid="updated"]', 'data-at');
  await page.evaluate((v) => {
    location.hash = v;
  }, view);
  await page.waitForSelector(`[data-testid="view-${view}"]`, { state: 'visible' });
  await page.waitForFunction(
    (b) => document.querySelector('[data-testid="updated"]')?.getAttribute('data-at') !== b,
    before,
    { timeout: 10_000 },
  );
}

/** A full-page PNG of every view into `dir`; returns the files. */
export async function screenshotViews(page: Page, dir: string): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const v of DASHBOARD_VIEWS) {
    await showView(page, v);
    const file = path.join(dir, `${v}.png`);
    await page.screenshot({ path: file, fullPage: true });
    files.push(file);
  }
  return files;
}

/** One request to the bundled raw-tensor function (PaddleOCR recognition on a blank line). */
export async function inferPpocrRec(url: string): Promise<Response> {
  return fetch(`${url}/v2/models/ppocr-rec/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3, 48, 320], data: new Array(3 * 48 * 320).fill(0) }],
    }),
  });
}

/** Text of the element `testid` once `ok` accepts it (an explicit poll of the DOM). */
export async function textWhen(
  page: Page,
  testid: string,
  ok: (text: string) => boolean,
  what: string,
): Promise<string> {
  return until(
    async () => {
      const t = await page.textContent(`[data-testid="${testid}"]`).catch(() => null);
      return t !== null && ok(t) ? t : undefined;
    },
    30_000,
    what,
  );
}
