// The command table: every name maps to the module that registers it (so a
// run loads that module alone), and a run finds its command past the global
// options.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { buildProgram, COMMAND_MODULES, commandOf } from './program.js';

test('each module registers exactly the names the table gives it; the whole program has each once', async () => {
  for (const m of COMMAND_MODULES) {
    const p = new Command('t');
    (await m.load())(p);
    assert.deepEqual(
      p.commands.map((c) => c.name()),
      m.names,
    );
  }
  const all = (await buildProgram()).commands.map((c) => c.name());
  assert.deepEqual(
    all,
    COMMAND_MODULES.flatMap((m) => m.names),
  );
  assert.deepEqual(
    (await buildProgram('gc')).commands.map((c) => c.name()),
    ['rm', 'gc', 'du', 'verify'],
  );
});

test('the command is the first word past the global options; help and unknown words load everything', () => {
  assert.equal(commandOf(['--repository', 'serve', '--store', '/s', 'serve', '--functions', 'f']), 'serve');
  assert.equal(commandOf(['--store=/s', 'gc']), 'gc');
  assert.equal(commandOf(['bench-hostile']), 'bench-hostile');
  assert.equal(commandOf(['--version']), undefined);
  assert.equal(commandOf(['help', 'serve']), undefined);
  assert.equal(commandOf(['sevre']), undefined);
  assert.equal(commandOf([]), undefined);
});
