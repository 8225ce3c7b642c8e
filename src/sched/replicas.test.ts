import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ReplicaConfig, checkReplicaConfig, initialReplicaState, replicaStep } from './replicas.js';

const c: ReplicaConfig = { addQueueDepth: 4, addAfterMs: 1000, removeAfterMs: 5000, maxReplicas: 3 };

/** Feeds samples at the given times (a fake clock) and collects the actions. */
function drive(samples: [number, number, number, number][]): (string | null)[] {
  let s = initialReplicaState();
  return samples.map(([now, queued, replicas, unusedReplicas]) => {
    const r = replicaStep(s, { queued, replicas, unusedReplicas }, now, c);
    s = r.state;
    return r.action;
  });
}

describe('replica decisions', () => {
  test('pressure must last addAfterMs; a break resets it; the next replica waits a whole period', () => {
    assert.deepEqual(
      drive([
        [0, 4, 1, 0],
        [999, 9, 1, 0],
        [1000, 4, 1, 0], // 1000 ms of pressure: add
        [1500, 8, 2, 0], // per replica 4: pressure again, re-armed at 1000
        [1900, 7, 2, 0], // 3.5 per replica: below, reset
        [2000, 8, 2, 0],
        [2999, 8, 2, 0],
        [3000, 8, 2, 0], // add the third
        [5000, 30, 3, 0], // maxReplicas
      ]),
      [null, null, 'add', null, null, null, null, 'add', null],
    );
  });
  test('a replica goes after removeAfterMs with nothing queued, only if one is unused and more than one exists', () => {
    assert.deepEqual(
      drive([
        [0, 0, 2, 0],
        [6000, 0, 2, 0], // calm long enough, but every replica has clients
        [6001, 0, 2, 1], // one unused: remove
        [7000, 0, 1, 1], // the last one stays
        [20_000, 0, 1, 1],
      ]),
      [null, null, 'remove', null, null],
    );
    assert.deepEqual(
      drive([
        [0, 0, 2, 1],
        [4000, 1, 2, 1], // work arrives: calm restarts
        [5000, 0, 2, 1],
        [9999, 0, 2, 1],
        [10_000, 0, 2, 1],
      ]),
      [null, null, null, null, 'remove'],
    );
  });
  test('addQueueDepth 0 turns replicas off; bad settings are named', () => {
    assert.equal(
      replicaStep(initialReplicaState(), { queued: 100, replicas: 1, unusedReplicas: 0 }, 1e9, {
        ...c,
        addQueueDepth: 0,
      }).action,
      null,
    );
    assert.throws(() => checkReplicaConfig({ ...c, addQueueDepth: 1.5 }), /addQueueDepth must be an integer/);
    assert.throws(() => checkReplicaConfig({ ...c, maxReplicas: 0 }), /maxReplicas must be an integer >= 1/);
    assert.throws(() => checkReplicaConfig({ ...c, removeAfterMs: -1 }), /removeAfterMs must be a number/);
  });
});
