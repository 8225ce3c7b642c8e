// The daemon's state file as written after lease changes: the text kept per
// unit is exactly what serializing the whole snapshot gives, after any field
// of a unit changed and after units come and go; and a change written "soon"
// is written by itself, or with the next change that is written at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withTempDir } from '../testing/tmp.js';
import type { Admission } from './admission.js';
import type { LeaseRec, Leases } from './leases.js';
import { snapshot, snapshotWriter } from './recovery.js';
import { addResident, newResidency, newUnit, removeResident } from './residency.js';
import { loadState, stateWriter, type PersistedPin } from './state-file.js';

test('the state text kept per unit equals the whole snapshot serialized, through changes', () => {
  const r = newResidency();
  const admission = { residency: r } as unknown as Admission;
  const leaseMap = new Map<string, LeaseRec>();
  const leases = { leases: leaseMap } as unknown as Leases;
  const pins = new Map<string, PersistedPin>();
  const units = ['a', 'b', 'c'].map((k, i) => {
    const u = newUnit(
      {
        key: `default/${k}:1#fast-open`,
        ns: 'default',
        mode: 'fast-open',
        name: k,
        version: '1',
        digest: k,
        manifestFile: `/s/models/${k}/1.json`,
        graphPath: `/s/graphs/${k}.onnx`,
        files: [{ path: `/s/tensors/${k}`, sha256: k, bytes: 10 + i, kind: 'tensor' as const }],
      },
      i,
    );
    r.units.set(u.key, u);
    addResident(r, u, i);
    return u;
  });
  const text = snapshotWriter(admission, leases, pins);
  const same = (now: number) => assert.equal(text(now), JSON.stringify(snapshot(admission, leases, pins, now)));
  same(1);
  for (const [i, change] of [
    (u: (typeof units)[0]) => u.opens++,
    (u: (typeof units)[0]) => u.hits++,
    (u: (typeof units)[0]) => (u.lastUse = 99),
    (u: (typeof units)[0]) => (u.lastRelease = 98.5),
    (u: (typeof units)[0]) => (u.priority = 1e-9),
    (u: (typeof units)[0]) => (u.costMs = 3.25),
    (u: (typeof units)[0]) => (u.loadedAt = 7),
  ].entries()) {
    change(units[i % 3]!);
    same(2 + i);
  }
  removeResident(r, units[1]!);
  same(20);
  addResident(r, units[1]!, 21);
  leaseMap.set('l1', {
    id: 'l1',
    attachmentId: 'att',
    unitKey: units[0]!.key,
    tenant: 'default',
    model: 'a:1',
    mode: 'fast-open',
    graphSha256: 'a',
    pid: 1,
    clientId: 'c',
    clientName: 'n',
    openedAt: 5,
  });
  pins.set('p', { ns: 'default', name: 'a', version: '1', mode: 'fast-open' });
  r.inflation = 0.5;
  same(22);
});

test('saveSoon writes within its delay, and a save before then carries its change', () =>
  withTempDir(os.tmpdir(), async (dir) => {
    const file = path.join(dir, 'state.json');
    let n = 0;
    const state = () => ({
      format: 'tensorshare.daemon-state/v1' as const,
      savedAt: ++n,
      inflation: 0,
      units: [],
      pins: [],
      leases: [],
    });
    const w = stateWriter(file, state, 50);
    w.saveSoon();
    for (let i = 0; (await loadState(file)) === undefined; i++) {
      assert.ok(i < 200, 'saveSoon never wrote');
      await new Promise((r) => setTimeout(r, 10));
    }
    const written = n;
    w.saveSoon();
    await w.save(); // writes now; the pending soon-write is the same change
    assert.equal(n, written + 1);
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(n, written + 1, 'the soon-write was dropped: save() carried it');
    assert.equal((await loadState(file))?.savedAt, written + 1);
    await fs.rm(file);
  }));
