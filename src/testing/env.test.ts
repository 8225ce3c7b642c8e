// The environment rule of src/testing/README.md, checked two ways: testEnv()
// itself, and every test source, parsed: each child process it starts and
// each daemon client, runtime and server it creates in-process names its
// environment (`env`), and no test reads or spreads the caller's TENSORSHARE_*.
// (scripts/run-tests.js adds the behavioural check: canary paths stay empty.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { packageRoot } from '../paths.js';
import { testEnv, unsetTensorshareVars } from './env.js';

test('testEnv drops every TENSORSHARE_* variable and applies extras', () => {
  process.env.TENSORSHARE_ENV_TEST = '/somewhere/else';
  try {
    const env = testEnv({ EXTRA: '1', PATH: undefined, TENSORSHARE_SOCKET: '/explicit.sock' });
    assert.equal(env.TENSORSHARE_ENV_TEST, undefined);
    assert.equal(env.TENSORSHARE_SOCKET, '/explicit.sock', 'an explicit extra is kept');
    assert.equal(env.EXTRA, '1');
    assert.equal('PATH' in env, false);
    assert.equal(env.HOME, process.env.HOME);
    assert.deepEqual(
      Object.keys(testEnv()).filter((k) => k.startsWith('TENSORSHARE_')),
      [],
    );
    assert.equal('TENSORSHARE_ENV_TEST' in unsetTensorshareVars(), true);
    assert.equal(unsetTensorshareVars().TENSORSHARE_ENV_TEST, undefined);
  } finally {
    delete process.env.TENSORSHARE_ENV_TEST;
  }
});

// Calls whose object-literal argument must name `env`: child processes, and
// in-process code that otherwise falls back to process.env.
const CHILD_PROCESS = new Set(['spawn', 'spawnSync', 'fork', 'execFile', 'execFileSync', 'exec', 'execSync']);
const IN_PROCESS = new Set(['DaemonClient', 'sharedClient', 'open', 'createRuntime', 'startServer']);

function testSources(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) testSources(p, out);
    else if (
      e.name.endsWith('.ts') &&
      !e.name.endsWith('.d.ts') &&
      (e.name.endsWith('.test.ts') || p.includes(`${path.sep}testing${path.sep}`))
    )
      out.push(p);
  }
  return out;
}

/** The called name: `spawn(...)`, `new DaemonClient(...)`, `promisify(execFile)(...)`. */
function calleeName(node: ts.CallExpression | ts.NewExpression): string | undefined {
  const e = node.expression;
  if (ts.isIdentifier(e)) return e.text;
  if (
    ts.isCallExpression(e) &&
    ts.isIdentifier(e.expression) &&
    e.expression.text === 'promisify' &&
    e.arguments[0] &&
    ts.isIdentifier(e.arguments[0])
  )
    return e.arguments[0].text;
  return undefined;
}

const namesEnv = (args: readonly ts.Expression[] | undefined) =>
  (args ?? []).some(
    (a) =>
      ts.isObjectLiteralExpression(a) &&
      a.properties.some((p) => p.name !== undefined && ts.isIdentifier(p.name) && p.name.text === 'env'),
  );

function environmentLeaks(file: string, text: string): string[] {
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const problems: string[] = [];
  const helper = /^env(\.test)?\.ts$/.test(path.basename(file)); // the helper and this check handle the variables themselves
  const ownName = (n: ts.Node): string | undefined => {
    if (ts.isPropertyAccessExpression(n) && n.expression.getText(src) === 'process.env') return n.name.text;
    if (
      ts.isElementAccessExpression(n) &&
      n.expression.getText(src) === 'process.env' &&
      ts.isStringLiteralLike(n.argumentExpression)
    )
      return n.argumentExpression.text;
    return undefined;
  };
  const at = (n: ts.Node) =>
    `${path.relative(packageRoot, file)}:${src.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const name = calleeName(node);
      if (name && (CHILD_PROCESS.has(name) || IN_PROCESS.has(name)) && !namesEnv(node.arguments))
        problems.push(`${at(node)}: ${name}(...) without an explicit env`);
    }
    const own = ownName(node);
    if (own?.startsWith('TENSORSHARE_') && !helper) problems.push(`${at(node)}: uses process.env.${own}`);
    if (ts.isSpreadAssignment(node) && node.expression.getText(src) === 'process.env' && !helper)
      problems.push(`${at(node)}: spreads process.env (use testEnv())`);
    ts.forEachChild(node, visit);
  };
  visit(src);
  return problems;
}

test('the check finds a leak where there is one', () => {
  const leaky = [
    "spawn(process.execPath, ['bin/tensorshare.js'], { stdio: 'inherit' });",
    'const c = new DaemonClient({ socket });',
    "const { stdout } = await promisify(execFile)(process.execPath, ['-e', '1']);",
    'const env = { ...process.env, X: 1 };',
    'if (process.env.TENSORSHARE_BIG_TESTS) {}',
    "const s = process.env['TENSORSHARE_STORE'];",
  ].join('\n');
  assert.equal(environmentLeaks(path.join(packageRoot, 'src/x.test.ts'), leaky).length, 6);
  assert.deepEqual(
    environmentLeaks(
      path.join(packageRoot, 'src/x.test.ts'),
      'spawn(cmd, [], { env: testEnv() }); new DaemonClient({ env: {}, socket });',
    ),
    [],
  );
});

test('no test source leaks the caller environment into what it runs', () => {
  const files = testSources(path.join(packageRoot, 'src'));
  assert.ok(files.length > 40, `found ${files.length} test sources`);
  const problems = files.flatMap((f) => environmentLeaks(f, fs.readFileSync(f, 'utf8')));
  assert.deepEqual(
    problems,
    [],
    'pass env: testEnv() to children (env: {} to in-process clients); see src/testing/README.md',
  );
});
