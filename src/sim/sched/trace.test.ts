// The sim sched trace format: both file forms, defaults, and errors that
// name the line and the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTensorshareError } from '../../errors.js';
import { jobRecord, parseSchedTrace } from './trace.js';

const job = (o: Record<string, unknown>) =>
  JSON.stringify({ id: 'a', arrivalMs: 0, durationMs: 5, persistentBytes: 10, ephemeralBytes: 5, ...o });

test('JSONL: one job a line, blank lines skipped, sorted by arrival, defaults filled in', () => {
  const text = [
    job({ id: 'late', arrivalMs: 50 }),
    '',
    job({ id: 'early', arrivalMs: 10, durationMs: undefined, iterations: 3, iterationMs: 2, submit: 'loop' }),
  ].join('\n');
  const jobs = parseSchedTrace(text, 't.jsonl');
  assert.deepEqual(
    jobs.map((j) => [j.id, j.iterations, j.iterationMs, j.submit, j.priority, j.utilization]),
    [
      ['early', 3, 2, 'loop', 'besteffort', 1],
      ['late', 1, 5, 'queue', 'besteffort', 1],
    ],
  );
  // A record written back reads back the same.
  assert.deepEqual(parseSchedTrace(jobs.map((j) => JSON.stringify(jobRecord(j))).join('\n'), 'u.jsonl'), jobs);
});

test('JSON: a bare array or {"jobs": [...]}', () => {
  const list = `[${job({ id: 'x' })}, ${job({ id: 'y', priority: 'realtime', tenant: 't1' })}]`;
  assert.equal(parseSchedTrace(list, 't.json').length, 2);
  const doc = parseSchedTrace(`{"jobs": ${list}}`, 't.json');
  assert.deepEqual(
    doc.map((j) => [j.id, j.priority, j.tenant]),
    [
      ['x', 'besteffort', undefined],
      ['y', 'realtime', 't1'],
    ],
  );
});

function rejects(text: string, file: string, pattern: RegExp): void {
  assert.throws(
    () => parseSchedTrace(text, file),
    (e: unknown) => isTensorshareError(e, 'ERR_INVALID_ARGUMENT') && pattern.test(e.message),
  );
}

test('bad records are refused with the file, the line and the problem', () => {
  const ok = job({ id: 'ok' });
  rejects(
    `${ok}\n\n${job({ id: 'b', persistentBytes: -1 })}`,
    't.jsonl',
    /^t\.jsonl:3: job 2: persistentBytes must be a whole number of bytes, got -1$/,
  );
  rejects(`${ok}\n{"id": `, 't.jsonl', /^t\.jsonl:2: not a JSON record/);
  rejects(job({ colour: 'red' }), 't.jsonl', /^t\.jsonl:1: job 1: unknown field 'colour'$/);
  rejects(job({ iterations: 2, iterationMs: 3 }), 't.jsonl', /durationMs or iterations with iterationMs, not both/);
  rejects(job({ durationMs: undefined }), 't.jsonl', /the work is missing/);
  rejects(job({ utilization: 1.5 }), 't.jsonl', /utilization must be in \(0, 1\], got 1.5/);
  rejects(job({ priority: 'urgent' }), 't.jsonl', /priority must be realtime or besteffort/);
  rejects(job({ submit: 'later' }), 't.jsonl', /submit must be queue or loop/);
  rejects(`${ok}\n${ok}`, 't.jsonl', /^t\.jsonl:2: job 2: id 'ok' appears twice$/);
  rejects('[\n1,\n', 't.json', /^t\.json:\d+: not valid JSON/);
  rejects('{"work": []}', 't.json', /an array of jobs or an object with a "jobs" array/);
  rejects('', 't.jsonl', /the trace has no jobs/);
});
