// Salus Algorithm 1 case by case, and the safety condition after every step
// of a long random sequence of assignments and releases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addPersistent,
  assignLane,
  createLaneBook,
  findLane,
  freeBytes,
  isSafe,
  laneBytes,
  laneOf,
  largestPossibleLane,
  persistentBytes,
  releaseLane,
  removePersistent,
} from './lanes.js';

test('a new lane when the free memory holds E', () => {
  const b = createLaneBook(100);
  addPersistent(b, 'm', 30);
  assert.deepEqual(findLane(b, 70), { kind: 'new', size: 70 });
  const lane = assignLane(b, 'm', 70)!;
  assert.equal(lane.size, 70);
  assert.equal(freeBytes(b), 0);
  assert.ok(isSafe(b));
});

test('else the best-matching existing lane: the smallest with L >= E', () => {
  const b = createLaneBook(100);
  addPersistent(b, 'p', 10);
  assignLane(b, 'a', 50);
  assignLane(b, 'b', 30);
  assignLane(b, 'c', 10); // free is now 0
  const choice = findLane(b, 25);
  assert.equal(choice?.kind, 'existing');
  assert.equal(choice.kind === 'existing' && choice.lane, laneOf(b, 'b'), 'the 30-byte lane, not the 50-byte one');
  const lane = assignLane(b, 'd', 25)!;
  assert.deepEqual([...lane.jobs.keys()], ['b', 'd']);
  assert.equal(lane.size, 30, 'a job no larger than the lane leaves it as it is');
  assert.equal(b.lanes.length, 3);
});

test('else the smallest lane that can grow to E within C', () => {
  const b = createLaneBook(100);
  assignLane(b, 'a', 40);
  assignLane(b, 'b', 20);
  assignLane(b, 'c', 30); // free 10
  // E = 45: no new lane (10 free), no lane >= 45; growing b (20 -> 45) needs 25 > 10; c (30 -> 45) needs 15 > 10;
  // a (40 -> 45) needs 5: the only growable one.
  const grow = findLane(b, 45);
  assert.deepEqual(grow?.kind === 'grow' && [grow.lane.jobs.keys().next().value, grow.size], ['a', 45]);
  // E = 35 with 10 free: a (40) holds it as it is; that beats growing.
  assert.equal(findLane(b, 35)?.kind, 'existing');
  // With two growable lanes the smallest grows.
  const b2 = createLaneBook(100);
  assignLane(b2, 'x', 30);
  assignLane(b2, 'y', 35);
  assignLane(b2, 'z', 20); // free 15
  const g = findLane(b2, 46);
  assert.equal(
    g?.kind === 'grow' && g.lane,
    laneOf(b2, 'y'),
    'to 46 only y (35, +11) grows within the 15 free; x needs +16',
  );
  const b3 = createLaneBook(100);
  assignLane(b3, 'x', 30);
  assignLane(b3, 'y', 32);
  assignLane(b3, 'z', 20); // free 18
  const g3 = findLane(b3, 40);
  assert.equal(g3?.kind === 'grow' && g3.lane, laneOf(b3, 'x'), 'both can grow; the smaller (x, 30) does');
  const lane = assignLane(b3, 'w', 40)!;
  assert.equal(lane.size, 40);
  assert.equal(freeBytes(b3), 8);
  assert.ok(isSafe(b3));
});

test('else not found: the job waits', () => {
  const b = createLaneBook(100);
  addPersistent(b, 'p', 20);
  assignLane(b, 'a', 40);
  assignLane(b, 'b', 40); // free 0
  assert.equal(findLane(b, 41), undefined);
  assert.equal(assignLane(b, 'c', 41), undefined);
  assert.equal(laneOf(b, 'c'), undefined);
  assert.equal(laneBytes(b), 80, 'nothing changed');
  assert.equal(largestPossibleLane(b), 80);
});

test('release: a lane shrinks to the largest E left in it and goes when empty', () => {
  const b = createLaneBook(100);
  assignLane(b, 'big', 60);
  assignLane(b, 'other', 40); // free 0
  assignLane(b, 'small', 20); // best fit: the 40 lane
  assert.deepEqual([...laneOf(b, 'small')!.jobs.keys()], ['other', 'small']);
  assignLane(b, 'mid', 50); // the 60 lane
  releaseLane(b, 'big');
  assert.equal(laneOf(b, 'mid')!.size, 50, 'shrunk from 60 to 50');
  assert.equal(freeBytes(b), 10);
  releaseLane(b, 'mid');
  assert.equal(b.lanes.length, 1, 'the empty lane is gone');
  assert.equal(freeBytes(b), 60);
  releaseLane(b, 'nobody');
  assert.equal(freeBytes(b), 60, 'releasing a job in no lane changes nothing');
});

test('a job already in a lane keeps it', () => {
  const b = createLaneBook(100);
  const l = assignLane(b, 'a', 10)!;
  assert.equal(assignLane(b, 'a', 90), l);
  assert.equal(b.lanes.length, 1);
});

test('persistent region: refused with RESOURCE_EXHAUSTED when it does not fit beside the lanes; removed on unload', () => {
  const b = createLaneBook(100);
  addPersistent(b, 'a', 50);
  assignLane(b, 'a', 30);
  assert.throws(
    () => addPersistent(b, 'b', 21),
    (e: Error & { code?: string }) =>
      e.code === 'ERR_RESOURCE_EXHAUSTED' && /b needs 21 persistent bytes but only 20 of 100/.test(e.message),
  );
  addPersistent(b, 'b', 20);
  assert.equal(persistentBytes(b), 70);
  assert.ok(isSafe(b));
  removePersistent(b, 'a');
  assert.equal(persistentBytes(b), 20);
  assert.throws(() => addPersistent(b, 'c', -1), /whole number of bytes/);
  assert.throws(() => createLaneBook(1.5), /whole number of bytes/);
  assert.throws(() => findLane(b, Number.NaN), /ephemeral bytes must be a whole number/);
});

test('the safety condition holds after every step of 5000 random assignments and releases', () => {
  let state = 12345;
  const rand = (n: number) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state >>> 8) % n;
  };
  const b = createLaneBook(1000);
  addPersistent(b, 'p1', 150);
  addPersistent(b, 'p2', 50);
  const inLane = new Map<string, number>();
  let assigned = 0;
  let refused = 0;
  for (let i = 0; i < 5000; i++) {
    if (inLane.size > 0 && rand(2) === 0) {
      const jobs = [...inLane.keys()];
      const j = jobs[rand(jobs.length)]!;
      releaseLane(b, j);
      inLane.delete(j);
    } else {
      const job = `j${i}`;
      const e = 1 + rand(800);
      const lane = assignLane(b, job, e);
      if (lane) {
        assigned++;
        inLane.set(job, e);
        assert.ok(lane.size >= e, 'the lane holds the job');
      } else refused++;
    }
    assert.ok(isSafe(b), `step ${i}: sum P + sum L = ${persistentBytes(b) + laneBytes(b)} > C`);
    for (const l of b.lanes)
      assert.equal(l.size, Math.max(...l.jobs.values()), `step ${i}: lane ${l.id} is its largest E`);
  }
  assert.ok(
    assigned > 1000 && refused > 100,
    `both outcomes were exercised (${assigned} assigned, ${refused} refused)`,
  );
});
