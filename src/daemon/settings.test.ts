import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../paths.js';
import { CLIENT_ENV } from '../client/settings.js';
import { resolveDaemonConfig, settingsMarkdown, SETTINGS, tokenDigest } from './settings.js';
import { parseBudget, parseBytes, parseDuration, resolveBudget } from './units.js';

test('sizes, budgets and durations parse; nonsense is rejected with the setting named', () => {
  assert.equal(parseBytes('512MiB'), 512 * 2 ** 20);
  assert.equal(parseBytes('2GB'), 2e9);
  assert.equal(parseBytes(1024), 1024);
  assert.deepEqual(parseBudget('0.8'), { fraction: 0.8 });
  assert.deepEqual(parseBudget('80%'), { fraction: 0.8 });
  assert.deepEqual(parseBudget(0.5), { fraction: 0.5 });
  assert.deepEqual(parseBudget('1GiB'), { bytes: 2 ** 30 });
  assert.equal(resolveBudget({ fraction: 0.5 }, 1000), 500);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.throws(() => parseBytes('lots'), { code: 'ERR_INVALID_ARGUMENT', message: /size/ });
  assert.throws(() => parseDuration('soon'), { code: 'ERR_INVALID_ARGUMENT' });
});

test('precedence: flag > environment > config file > default', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-cfg-'));
  try {
    const file = path.join(dir, 'daemon.json');
    await fs.writeFile(file, JSON.stringify({ policy: 'fifo', budget: '1GiB', ttl: '10s', store: 'store-rel' }));
    const base = resolveDaemonConfig({ env: {} });
    assert.equal(base.policy, 'lru');
    assert.deepEqual(base.budget, { fraction: 0.8 });
    assert.equal(base.socketMode, 0o660);
    const c = resolveDaemonConfig({
      flags: { config: file, policy: 'lfu' },
      env: { TENSORSHARE_TTL: '2s', TENSORSHARE_POLICY: 'cost' },
    });
    assert.equal(c.policy, 'lfu'); // flag beats env and file
    assert.equal(c.ttlMs, 2000); // env beats file
    assert.deepEqual(c.budget, { bytes: 2 ** 30 }); // file beats default
    assert.equal(c.store, path.join(dir, 'store-rel')); // relative to the config file
    assert.equal(c.socket, path.join(dir, 'store-rel', 'daemon.sock'));
    assert.equal(
      resolveDaemonConfig({ flags: { prebuildFastRun: false }, env: { TENSORSHARE_PREBUILD_FAST_RUN: 'true' } })
        .prebuildFastRun,
      false,
    );
    assert.equal(resolveDaemonConfig({ env: { TENSORSHARE_PREBUILD_FAST_RUN: 'true' } }).prebuildFastRun, true);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('bad settings fail loudly: unknown keys, policies, world-writable sockets, weak or shared tokens', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ts-cfg-'));
  try {
    const write = async (o: unknown) => {
      const f = path.join(dir, `c${Math.random()}.json`);
      await fs.writeFile(f, JSON.stringify(o));
      return f;
    };
    assert.throws(() => resolveDaemonConfig({ flags: { config: path.join(dir, 'missing.json') }, env: {} }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    assert.throws(() => resolveDaemonConfig({ flags: { config: 'x' }, env: {} }), /cannot read/);
    await assert.rejects(
      async () => resolveDaemonConfig({ flags: { config: await write({ polcy: 'lru' }) }, env: {} }),
      /polcy: unknown setting/,
    );
    assert.throws(() => resolveDaemonConfig({ flags: { policy: 'random' }, env: {} }), /unknown policy 'random'/);
    assert.throws(() => resolveDaemonConfig({ flags: { socketMode: '0666' }, env: {} }), /world-writable/);
    assert.throws(() => resolveDaemonConfig({ env: { TENSORSHARE_BUDGET: 'huge' } }), /TENSORSHARE_BUDGET/);
    await assert.rejects(
      async () =>
        resolveDaemonConfig({ flags: { config: await write({ tenants: { a: { token: 'short' } } }) }, env: {} }),
      /shorter than 16/,
    );
    await assert.rejects(
      async () =>
        resolveDaemonConfig({
          flags: { config: await write({ tenants: { public: { token: 'x'.repeat(20) } } }) },
          env: {},
        }),
      /reserved/,
    );
    await assert.rejects(
      async () =>
        resolveDaemonConfig({
          flags: { config: await write({ tenants: { a: { token: 'x'.repeat(20) }, b: { token: 'x'.repeat(20) } } }) },
          env: {},
        }),
      /shared with another tenant/,
    );
    const tf = path.join(dir, 'bob.token');
    await fs.writeFile(tf, 'bob-secret-token-0123\n');
    const c = resolveDaemonConfig({
      flags: {
        config: await write({
          tenants: { alice: { token: 'alice-secret-token-01', publish: true }, bob: { tokenFile: 'bob.token' } },
        }),
      },
      env: {},
    });
    assert.deepEqual(
      c.tenants.map((t) => [t.name, t.publish]),
      [
        ['alice', true],
        ['bob', false],
      ],
    );
    assert.deepEqual(c.tenants[1]!.tokenSha256, tokenDigest('bob-secret-token-0123'));
    assert.equal(c.pathImport, false); // off by default with tenants
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('the READMEs document every setting exactly as the code defines them', async () => {
  const daemon = await fs.readFile(path.join(packageRoot, 'src/daemon/README.md'), 'utf8');
  assert.ok(
    daemon.includes(settingsMarkdown()),
    'src/daemon/README.md settings table is stale: paste settingsMarkdown()',
  );
  for (const s of SETTINGS) assert.ok(daemon.includes(s.env));
  const client = await fs.readFile(path.join(packageRoot, 'src/client/README.md'), 'utf8');
  for (const [k, meaning, dflt] of CLIENT_ENV)
    assert.ok(client.includes(`| \`${k}\` | ${meaning} | ${dflt} |`), `src/client/README.md lacks ${k}`);
});

test('each documented default is the value a setting takes when nothing sets it (one source for both)', () => {
  const base = resolveDaemonConfig({ env: {} });
  for (const s of SETTINGS) {
    if (s.value === undefined) continue;
    const explicit = resolveDaemonConfig({ env: { [s.env]: s.value } });
    assert.deepEqual(explicit, base, `${s.key}: its documented default ${s.default} is not what it defaults to`);
    assert.equal(s.default, `\`${s.value}\``);
  }
  assert.ok(SETTINGS.filter((s) => s.value !== undefined).length >= 10, 'most settings document a literal default');
});

test('cpuExecutor: off by default, a size or a fraction of the host memory; nonsense names the setting', () => {
  assert.equal(resolveDaemonConfig({ env: {} }).cpuExecutor, undefined);
  assert.equal(resolveDaemonConfig({ env: { TENSORSHARE_CPU_EXECUTOR: 'off' } }).cpuExecutor, undefined);
  assert.deepEqual(resolveDaemonConfig({ env: { TENSORSHARE_CPU_EXECUTOR: '2GiB' } }).cpuExecutor, { bytes: 2 ** 31 });
  assert.deepEqual(resolveDaemonConfig({ env: {}, flags: { cpuExecutor: '25%' } }).cpuExecutor, { fraction: 0.25 });
  assert.throws(
    () => resolveDaemonConfig({ env: { TENSORSHARE_CPU_EXECUTOR: 'lots' } }),
    /TENSORSHARE_CPU_EXECUTOR|cpuExecutor|cpu-executor/,
  );
});
