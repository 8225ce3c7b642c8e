// The dashboard's listener over real sockets: the built page and its assets,
// nothing outside them, the snapshot as JSON, and the event stream (a hello
// with the history, then ticks); a missing build is a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { tempRoots } from '../../testing/tmp.js';
import type { Collector } from './collect.js';
import type { DashboardEvent, DashboardSnapshot, HistoryPoint } from './model.js';
import { startDashboard } from './server.js';

function countingCollector(): Collector {
  const history: HistoryPoint[] = [];
  let n = 0;
  return {
    history: () => [...history],
    async tick() {
      n++;
      const point = {
        at: n,
        functions: {},
        storeUsedBytes: n,
        storeBudgetBytes: null,
        evictions: null,
        savedBySharingBytes: 0,
        coldStarts: [],
      };
      history.push(point);
      return { point, snapshot: { at: n } as DashboardSnapshot };
    },
  };
}

test('the page, its assets, the snapshot and the live event stream', async () => {
  const roots = await tempRoots('ts-dashboard-server');
  try {
    const assets = path.join(roots.dir, 'public');
    await fs.mkdir(path.join(assets, 'assets'), { recursive: true });
    await fs.writeFile(path.join(assets, 'index.html'), '<!doctype html><title>t</title>');
    await fs.writeFile(path.join(assets, 'assets', 'index-abc.js'), 'console.log(1)');
    await fs.writeFile(path.join(roots.dir, 'secret.txt'), 'no');
    const d = await startDashboard({ collector: countingCollector(), port: 0, intervalMs: 50, assetsDir: assets });
    try {
      assert.match(d.url, /^http:\/\/127\.0\.0\.1:\d+\/dashboard\/$/);
      const page = await fetch(d.url);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(await page.text(), '<!doctype html><title>t</title>');
      const js = await fetch(new URL('assets/index-abc.js', d.url));
      assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
      assert.match(js.headers.get('cache-control') ?? '', /immutable/);
      for (const p of ['assets/nope.js', '..%2Fsecret.txt', '../secret.txt'])
        assert.equal((await fetch(new URL(p, d.url))).status, 404, p);
      assert.equal((await fetch(new URL('/', d.url), { redirect: 'manual' })).headers.get('location'), '/dashboard/');

      const snap = (await (await fetch(new URL('api/snapshot', d.url))).json()) as DashboardSnapshot;
      assert.ok(snap.at >= 1);

      // The stream: a hello carrying the history so far, then ticks with growing points.
      const res = await fetch(new URL('api/events', d.url));
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      const reader = res.body!.getReader();
      const events: DashboardEvent[] = [];
      let text = '';
      while (events.filter((e) => e.type === 'tick').length < 2) {
        const { value, done } = await reader.read();
        assert.ok(!done, 'the stream stays open');
        text += Buffer.from(value).toString();
        let end = text.indexOf('\n\n');
        while (end >= 0) {
          const data = /^data: (.*)$/m.exec(text.slice(0, end));
          if (data) events.push(JSON.parse(data[1]!) as DashboardEvent);
          text = text.slice(end + 2);
          end = text.indexOf('\n\n');
        }
      }
      const [hello, ...ticks] = events;
      assert.equal(hello?.type, 'hello');
      assert.ok(hello?.type === 'hello' && hello.history.length >= 1);
      const ats = ticks.map((e) => (e.type === 'tick' ? e.point.at : -1));
      assert.ok(
        ats.every((a, i) => i === 0 || a > ats[i - 1]!),
        `ticks in order: ${ats}`,
      );
      await reader.cancel();
    } finally {
      await d.close();
    }
  } finally {
    await roots.cleanup();
  }
});

test('a dashboard whose page is not built says how to build it', async () => {
  await assert.rejects(
    startDashboard({ collector: countingCollector(), port: 0, assetsDir: '/nonexistent/public' }),
    (e: any) => e.code === 'ERR_PRECONDITION' && /npm run build/.test(e.message),
  );
});
