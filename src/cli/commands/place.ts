// `tensorshare place --model <file> --nodes <file>`: ranks nodes for a model
// by the bytes of its tensors they hold (src/placement, the scorer the
// simulator and the kube-scheduler extender use). JSON forms: src/placement/inventory.ts.
import type { Command } from 'commander';
import fs from 'node:fs';
import { formatBytes } from '../../bytes.js';
import { TensorshareError } from '../../errors.js';
import { modelFromJson, nodesFromJson } from '../../placement/inventory.js';
import { rankNodes, scoreNode } from '../../placement/scorer.js';
import { action, emit, table } from '../output.js';

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `cannot read ${what} ${file}: ${(e as Error).message}`, {
      file,
    });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `${what} ${file} is not JSON: ${(e as Error).message}`, {
      file,
    });
  }
}

export function registerPlace(program: Command): void {
  program
    .command('place')
    .description(
      "rank nodes for a model by bytes of its tensors resident, then in the repository, under each node's free budget",
    )
    .requiredOption('--model <file>', 'a store manifest, or { "model", "tensors": [{ "hash", "bytes" }] }')
    .requiredOption(
      '--nodes <file>',
      'node inventories: [{ "node", "freeBytes", "resident": [hash], "repository": [hash] }]',
    )
    .option('--json', 'print JSON')
    .action(
      action(async (o: { model: string; nodes: string; json?: boolean }) => {
        const model = modelFromJson(readJson(o.model, 'model'), o.model);
        const nodes = nodesFromJson(readJson(o.nodes, 'node inventories'), o.nodes);
        const ranked = rankNodes(model, nodes);
        const fitting = new Set(ranked.map((s) => s.node));
        const rejected = nodes.filter((n) => !fitting.has(n.node)).map((n) => scoreNode(model, n));
        const bytes = model.tensors.reduce((a, t) => a + t.bytes, 0);
        emit(o, { model: model.model, bytes, ranked, rejected }, (v) =>
          [
            `${v.model}: ${formatBytes(v.bytes)} in ${model.tensors.length} tensors`,
            table([
              ['rank', 'node', 'resident', 'in repository', 'missing', 'to add'],
              ...v.ranked.map((s, i) => [
                i + 1,
                s.node,
                formatBytes(s.residentBytes),
                formatBytes(s.repositoryBytes),
                formatBytes(s.missingBytes),
                formatBytes(s.needBytes),
              ]),
              ...v.rejected.map((s) => [
                '-',
                `${s.node} (does not fit)`,
                formatBytes(s.residentBytes),
                formatBytes(s.repositoryBytes),
                formatBytes(s.missingBytes),
                formatBytes(s.needBytes),
              ]),
            ]),
          ].join('\n'),
        );
      }),
    );
}
