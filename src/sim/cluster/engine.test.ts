// The simulator decides as the live components do: on a short trace with
// memory pressure, every placement equals the placement scorer's ranking
// over the nodes as the daemon sees them, every eviction equals the daemon's
// planEviction with the same policy, and every reclaimer expiry equals the
// daemon's candidates filtered by the policy's expired().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../paths.js';
import { POLICY_NAMES, policy as policyOf, type PolicyName } from '../../daemon/policy/index.js';
import {
  addResident,
  candidates,
  freedBy,
  missingBytes,
  newResidency,
  newUnit,
  planEviction,
  toCandidate,
  usedBytes,
  type Residency,
} from '../../daemon/residency.js';
import { rankNodes, type NodeHoldings } from '../../placement/scorer.js';
import { buildCatalog } from './catalog.js';
import { costsFor, costsFromResults } from './costs.js';
import { simulateCluster, type ClusterOptions, type NodeSnapshot, type PlacementName } from './engine.js';
import { createTrace } from './trace.js';

const results = JSON.parse(fs.readFileSync(path.join(packageRoot, 'docs', 'bench', 'results.json'), 'utf8'));
const startCosts = costsFromResults(results);
const catalog = buildCatalog({ functions: 24, familyFraction: 0.5, familySize: 4, diffLayers: 2, seed: 'eq' });
const costs = catalog.models.map((m) => costsFor(startCosts, m.bytes));

/** The daemon's picture of a simulated node: one fast-open unit per resident model, one file per segment. */
function residencyOf(s: NodeSnapshot): Residency {
  const r = newResidency();
  r.inflation = s.inflation;
  for (const x of s.units) {
    const u = newUnit(
      {
        key: x.key,
        ns: 'default',
        mode: 'fast-open',
        name: x.key,
        version: '1',
        digest: x.key,
        manifestFile: '',
        graphPath: '',
        files: x.segments.map((g) => ({ path: g.hash, sha256: g.hash, bytes: g.bytes, kind: 'tensor' as const })),
      },
      x.loadedAt,
    );
    r.units.set(x.key, u);
    addResident(r, u, x.loadedAt);
    Object.assign(u, {
      leases: x.leases,
      opens: x.opens,
      lastUse: x.lastUse,
      lastRelease: x.lastRelease,
      costMs: x.costMs,
      priority: x.priority,
    });
  }
  return r;
}

const traceOpts = { functions: 24, invocations: 1500, durationMs: 1_800_000, seed: 'eq' };

const optionsFor = (placement: PlacementName, pol: PolicyName): ClusterOptions => ({
  nodes: 3,
  nodeMemoryBytes: 0.8 * 2 ** 30,
  placement,
  policy: pol,
  ttlMs: 60_000,
  reclaimIntervalMs: 5_000,
  instanceIdleMs: 20_000,
  sloStartFactor: 1.5,
  repositoryBytesPerMs: startCosts.repositoryBytesPerMs,
  remoteBytesPerMs: 1.25e6,
  seed: 'eq',
});

function run(placement: PlacementName, pol: PolicyName) {
  const p = policyOf(pol);
  const opts = optionsFor(placement, pol);
  let expected:
    | { ranked: ReturnType<typeof rankNodes>; byNode: Map<string, { r: Residency; budget: number }> }
    | undefined;
  let placements = 0;
  let evictions = 0;
  let reclaimChecks = 0;
  let expectedExpiry: Map<string, Set<string>> | undefined;
  const seenExpiry = new Map<string, Set<string>>();
  const flushReclaim = () => {
    if (!expectedExpiry) return;
    assert.deepEqual(seenExpiry, expectedExpiry, `${placement}/${pol}: reclaimer expiries`);
    seenExpiry.clear();
    expectedExpiry = undefined;
  };
  const modelOf = (fn: number) => catalog.models[fn]!;
  const c = simulateCluster(catalog, costs, createTrace(traceOpts), opts, {
    observer: {
      beforePlacement(t, fn, nodes) {
        flushReclaim();
        const m = modelOf(fn);
        const protect = new Set(m.tensors.tensors.map((x) => x.hash));
        const byNode = new Map<string, { r: Residency; budget: number }>();
        const holdings: NodeHoldings[] = nodes().map((s) => {
          const r = residencyOf(s);
          byNode.set(s.node, { r, budget: s.storeBudget });
          // What planEviction could free: the units the policy orders (none for never).
          const ctx = { now: t, ttlMs: opts.ttlMs, inflation: r.inflation };
          const all = new Set(p.order(candidates(r).map(toCandidate), ctx).map((x) => x.key));
          const reclaimable = freedBy(r, all, protect);
          const repo = new Set(s.repository);
          return {
            node: s.node,
            freeBytes: s.storeBudget - usedBytes(r) + reclaimable,
            hasResident: (h) => r.files.has(h),
            hasInRepository: (h) => repo.has(h),
          };
        });
        expected = { ranked: rankNodes(m.tensors, holdings), byNode };
      },
      placed(d) {
        assert.ok(expected);
        assert.deepEqual(d.ranked, expected.ranked, `${placement}/${pol} t=${d.t}: the scorer's ranking`);
        if (d.node === undefined) {
          assert.equal(expected.ranked.length, 0);
          return;
        }
        const chosen = d.ranked.find((s) => s.node === d.node);
        assert.ok(chosen, 'the chosen node is one the scorer lets through');
        if (placement === 'similarity') {
          assert.equal(chosen.residentBytes, d.ranked[0]!.residentBytes);
          assert.equal(chosen.repositoryBytes, d.ranked[0]!.repositoryBytes);
        }
        const { r, budget } = expected.byNode.get(d.node)!;
        const m = modelOf(d.fn);
        const unit = r.units.get(m.name);
        const need = unit
          ? 0
          : missingBytes(r, {
              files: m.tensors.tensors.map((x) => ({ path: x.hash, sha256: x.hash, bytes: x.bytes, kind: 'tensor' })),
            } as never);
        const plan = planEviction(
          r,
          p,
          { now: d.t, ttlMs: opts.ttlMs, inflation: r.inflation },
          need,
          budget,
          new Set(m.tensors.tensors.map((x) => x.hash)),
        );
        assert.ok(plan.ok, 'the daemon can make room where the scorer says the model fits');
        assert.deepEqual(
          d.victims,
          plan.victims.map((u) => u.key),
          `${placement}/${pol} t=${d.t}: the daemon's victims`,
        );
        placements++;
        evictions += d.victims.length;
      },
      beforeReclaim(t, nodes) {
        flushReclaim();
        expectedExpiry = new Map();
        for (const s of nodes()) {
          const r = residencyOf(s);
          const ctx = { now: t, ttlMs: opts.ttlMs, inflation: r.inflation };
          const keys = candidates(r)
            .filter((u) => p.expired(toCandidate(u), ctx))
            .map((u) => u.key);
          if (keys.length) expectedExpiry.set(s.node, new Set(keys));
          reclaimChecks++;
        }
      },
      expired(d) {
        if (d.at !== 'reclaim') return;
        const s = seenExpiry.get(d.node) ?? new Set<string>();
        seenExpiry.set(d.node, s);
        s.add(d.key);
      },
    },
  });
  flushReclaim();
  return { c, placements, evictions, reclaimChecks };
}

test('sim cluster: placements equal the scorer and evictions the daemon policy, for every policy', () => {
  const evictionsBy: Record<string, number> = {};
  for (const pol of POLICY_NAMES) {
    const { c, placements, evictions, reclaimChecks } = run('similarity', pol);
    assert.ok(placements > 30, `${pol}: ${placements} placements checked`);
    assert.equal(placements, c.instancesStarted);
    assert.ok(reclaimChecks > 300);
    evictionsBy[pol] = evictions;
    if (pol === 'eager') assert.ok(c.expirations > 0, 'eager drops models at their last release');
    if (pol === 'lru' || pol === 'never') assert.equal(c.expirations, 0);
    if (pol === 'never') assert.equal(evictions, 0);
  }
  assert.ok(evictionsBy.lru! > 0, 'the trace puts the stores under pressure');
});

test('sim cluster: random and least-loaded placements also pass the scorer and the daemon', () => {
  for (const placement of ['random', 'least-loaded'] as const) {
    const { placements } = run(placement, 'cost');
    assert.ok(placements > 30);
  }
});

test('sim cluster: the same seed gives the same counters, another seed others', () => {
  const once = (seed: string) =>
    simulateCluster(catalog, costs, createTrace({ ...traceOpts, seed }), { ...optionsFor('random', 'ttl'), seed });
  assert.deepEqual(once('a'), once('a'));
  assert.notDeepEqual(once('a'), once('b'));
});
