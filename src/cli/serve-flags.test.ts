// `serve`'s gateway bounds reach the gateway: a real `tensorshare serve`
// started with small limits refuses a body over --max-body-mb (413) and cuts
// off an upload that has not arrived within --request-timeout-ms (408); a
// bound that is not a positive integer stops the command with a message that
// names the flag.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { testEnv } from '../testing/env.js';
import { spawnServe, type ServeChild } from '../testing/serve.js';
import { tempRoots, type TempRoots } from '../testing/tmp.js';

const BIN = path.resolve('bin/tensorshare.js');

describe('serve: gateway bounds from the command line', () => {
  let roots: TempRoots;
  let serve: ServeChild;
  let url: string;
  const SERVE_FLAGS = ['--daemon', 'off', '--no-bundled', '--grpc-port', 'off', '--poll', '0'];

  before(async () => {
    roots = await tempRoots('serve-flags');
    const functions = path.join(roots.dir, 'functions');
    await fs.mkdir(functions);
    serve = await spawnServe(roots, functions, [...SERVE_FLAGS, '--max-body-mb', '1', '--request-timeout-ms', '1500']);
    url = serve.url;
  });
  after(async () => {
    await serve?.stop();
    await roots.cleanup();
  });

  test('a body over --max-body-mb is refused with 413 naming the limit', async () => {
    const res = await fetch(`${url}/v2/models/any/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(2 * 1024 * 1024, 0x20),
    });
    const body = (await res.json()) as { error: string };
    assert.equal(res.status, 413);
    assert.match(body.error, /1048576/);
  });

  test('an upload not received within --request-timeout-ms gets 408', async () => {
    const { port, hostname } = new URL(url);
    const answer = await new Promise<string>((resolve, reject) => {
      const s = net.connect(Number(port), hostname, () => {
        // Promises 100 bytes, sends one: the server must not wait for the rest beyond its timeout.
        s.write(
          'POST /v2/models/any/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
        );
      });
      let got = '';
      s.on('data', (d) => {
        got += d;
      });
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /"error"/);
  });

  test('a bound that is not a positive integer names its flag', () => {
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        '--repository',
        roots.repository,
        '--store',
        roots.store,
        'serve',
        '--functions',
        path.join(roots.dir, 'functions'),
        ...SERVE_FLAGS,
        '--max-body-mb',
        '0',
      ],
      { encoding: 'utf8', env: testEnv() },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--max-body-mb must be an integer >= 1, got '0'/);
  });
});
