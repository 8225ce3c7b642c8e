// The dashboard in headless Chromium against a real `tensorshare serve` with
// the bundled functions and `--dashboard`: the page loads and goes live,
// shows the bundled models and a fine-tuned family with its shared tensors,
// the bundled functions, no GPU here; a request served shows up in the
// functions view (count, latency) and its instance in the memory view, with
// shared pages from smaps. Every wait polls the DOM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempRoots } from '../../testing/tmp.js';
import {
  FAMILY,
  importFamily,
  inferPpocrRec,
  openDashboard,
  screenshotViews,
  serveWithDashboard,
  showView,
  textWhen,
} from '../../testing/dashboard.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ensureChromium } from '../../testing/browser-env.js';

const BUNDLED_MODELS = ['ppocr-det:1', 'ppocr-rec:1', 'silero-vad:1'];

test('the dashboard shows the store, functions, memory and GPUs live in a real browser', async () => {
  // Installed first (once per machine), so serve does not wait on apt.
  await ensureChromium();
  const roots = await tempRoots('ts-dashboard');
  try {
    await importFamily(roots);
    const { serve, dashboardUrl } = await serveWithDashboard(roots);
    try {
      // Off the gateway's port, on loopback.
      assert.match(dashboardUrl, /^http:\/\/127\.0\.0\.1:\d+\/dashboard\/$/);
      assert.notEqual(new URL(dashboardUrl).port, new URL(serve.url).port);
      const { page, close } = await openDashboard(dashboardUrl);
      try {
        assert.equal(await page.textContent('[data-testid="status"]'), 'live');

        // Store: the bundled models and the family, which shares its first two layers.
        await showView(page, 'store');
        const models = await textWhen(
          page,
          'store-models',
          (t) => [...BUNDLED_MODELS, ...FAMILY.map((f) => `${f}:1`)].every((m) => t.includes(m)),
          'the store view to list the bundled models and the family',
        );
        assert.ok(models.includes('host'), 'residency tiers are shown');
        const shared = await page.$$eval('[data-testid="sharing-matrix"] td.shared', (tds) =>
          tds.map((td) => td.getAttribute('title') ?? ''),
        );
        for (const [a, b] of [
          ['family-base:1', 'family-ft1:1'],
          ['family-ft1:1', 'family-ft2:1'],
        ])
          assert.ok(
            shared.some((t) => t.startsWith(`${a} and ${b} share`)),
            `${a} and ${b} share tensors in the matrix: ${shared.join(' | ')}`,
          );
        assert.ok(
          !shared.some((t) => t.startsWith('ppocr-det:1 and ppocr-rec:1')),
          'models with nothing in common share no cell',
        );

        // Functions: the bundled ones, nothing served yet.
        await showView(page, 'functions');
        const fns = await page.textContent('[data-testid="functions"]');
        for (const f of ['ocr', 'ppocr-rec', 'vad']) assert.ok(fns?.includes(f), `function ${f} listed: ${fns}`);
        assert.equal(await page.textContent('[data-testid="requests-ppocr-rec"]'), '0');
        assert.equal(await page.textContent('[data-testid="policy"] .value'), 'fifo');

        // A request served: the page updates by itself (server-sent events).
        const res = await inferPpocrRec(serve.url);
        assert.equal(res.status, 200, await res.text());
        await textWhen(page, 'requests-ppocr-rec', (t) => t === '1', 'the served request to show up on the page');
        const row = await page.$eval('[data-testid="requests-ppocr-rec"]', (el) =>
          [...(el.closest('tr')?.querySelectorAll('td') ?? [])].map((td) => td.textContent ?? ''),
        );
        assert.match(row[7] ?? '', /\d+(\.\d+)? (ms|s)$/, `a p50 latency is shown: ${row.join(' | ')}`);
        assert.match(row[10] ?? '', /^1 \(last \d/, `its cold start is counted: ${row.join(' | ')}`);

        // Memory: its instance, with the store's weights among its shared pages.
        await showView(page, 'memory');
        const mem = await textWhen(
          page,
          'memory-table',
          (t) => t.includes('ppocr-rec'),
          'the ppocr-rec instance in the memory view',
        );
        assert.ok(!mem.includes('–'), `every instance's smaps was read: ${mem}`);

        // GPUs: none on this machine.
        await showView(page, 'gpus');
        assert.match((await page.textContent('[data-testid="no-gpu"]')) ?? '', /no GPU/);

        // What scripts/dashboard-screenshots.js does for docs/dashboard/, into a temp folder.
        const shots = await screenshotViews(page, path.join(roots.dir, 'shots'));
        assert.deepEqual(
          shots.map((f) => path.basename(f)),
          ['store.png', 'functions.png', 'memory.png', 'gpus.png'],
        );
        for (const f of shots) {
          const head = (await fs.readFile(f)).subarray(0, 8);
          assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${f} is a PNG`);
        }
      } finally {
        await close();
      }
    } finally {
      await serve.stop();
    }
  } finally {
    await roots.cleanup();
  }
});
