#!/usr/bin/env node
// Screenshots of every dashboard view into docs/dashboard/ (or the folder
// given): a real `tensorshare serve` with the bundled functions, a fine-tuned
// family in its repository, a few requests to each function, then headless
// Chromium on each view. Needs `npm run build` first (the test helpers in
// dist/src/testing). Usage: node scripts/dashboard-screenshots.js [DIR]
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'docs', 'dashboard'));
const t = (p) => import(path.join(root, 'dist', 'src', 'testing', p));
const { tempRoots } = await t('tmp.js');
const { importFamily, inferPpocrRec, openDashboard, screenshotViews, serveWithDashboard, textWhen } =
  await t('dashboard.js');

const bytesInput = async (file, name) => ({
  inputs: [
    { name, shape: [1], datatype: 'BYTES', data: [(await fs.readFile(path.join(root, file))).toString('base64')] },
  ],
});
const post = async (url, fn, body) => {
  const res = await fetch(`${url}/v2/models/${fn}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`${fn} answered ${res.status}: ${await res.text()}`);
};

const roots = await tempRoots('ts-dashboard-shots');
try {
  await importFamily(roots);
  // Room for an instance of each of the three functions at once, whatever this machine's cores.
  const { serve, dashboardUrl } = await serveWithDashboard(roots, ['--cores', '3']);
  try {
    const { page, close } = await openDashboard(dashboardUrl);
    try {
      const ocr = await bytesInput('assets/ocr-page.png', 'image');
      const vad = await bytesInput('assets/speech.wav', 'audio');
      for (let i = 0; i < 4; i++) {
        const rec = inferPpocrRec(serve.url).then(async (r) => {
          if (r.status !== 200) throw new Error(`ppocr-rec answered ${r.status}: ${await r.text()}`);
        });
        await Promise.all([post(serve.url, 'ocr', ocr), post(serve.url, 'vad', vad), rec]);
      }
      await page.evaluate(() => {
        location.hash = 'functions';
      });
      await textWhen(page, 'requests-ppocr-rec', (x) => x === '4', 'the requests to show up');
      const files = await screenshotViews(page, out);
      console.log(files.map((f) => path.relative(root, f)).join('\n'));
    } finally {
      await close();
    }
  } finally {
    await serve.stop();
  }
} finally {
  await roots.cleanup();
}
