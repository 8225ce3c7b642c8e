// Addresses to agents: an IP literal is one agent; a name stands for every
// address it resolves to (a headless Service); a name that resolves to none
// stands for no agent rather than failing the others; bad addresses are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentDirectory } from './agent-directory.js';
import { clusterToken } from './token.js';

const token = clusterToken('agent-directory-test-token');

test('literals are one agent each; an unresolvable name is none; clients are reused', async () => {
  const d = agentDirectory(['127.0.0.1:7070', 'http://[::1]:7071', 'no-such-agent.invalid:7070'], {
    token,
    refreshMs: 0,
  });
  const first = await d.agents();
  assert.deepEqual(
    first.map((a) => a.url),
    ['http://127.0.0.1:7070', 'http://[::1]:7071'],
  );
  assert.equal((await d.agents())[0], first[0]);
});

test('an address without a port or with another scheme is refused, naming it', () => {
  assert.throws(() => agentDirectory(['10.0.0.1'], { token }), /'10.0.0.1' has no port/);
  assert.throws(() => agentDirectory(['ftp://x:1'], { token }), /only http/);
});
