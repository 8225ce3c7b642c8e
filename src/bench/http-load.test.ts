// The load generator's HTTP side, without a server: infer bodies built from
// metadata, and the CLI's rate list. (The scheduling benchmark's chart and
// section tests moved to charts.test.ts and report.test.ts.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inferBody } from './http-load.js';
import { parseRates } from '../cli/commands/load.js';

describe('HTTP load', () => {
  test('infer bodies from metadata: dynamic dimensions from the caller, binary outputs, parameters', () => {
    const meta = {
      name: 'bert',
      inputs: [
        { name: 'input_ids', datatype: 'INT64', shape: [-1, -1] },
        { name: 'x', datatype: 'FP32', shape: [-1, 2] },
      ],
      outputs: [
        { name: 'pooler_output', datatype: 'FP32', shape: [-1, 768] },
        { name: 'last_hidden_state', datatype: 'FP32', shape: [-1, -1, 768] },
      ],
    };
    const body = JSON.parse(
      inferBody(meta, {
        shapes: { input_ids: [1, 4] },
        outputs: ['pooler_output'],
        binaryOutputs: true,
        parameters: { priority: 'besteffort' },
      }),
    );
    assert.deepEqual(body.inputs[0], { name: 'input_ids', datatype: 'INT64', shape: [1, 4], data: [1, 1, 1, 1] });
    assert.deepEqual(body.inputs[1].shape, [1, 2]);
    assert.deepEqual(body.outputs, [{ name: 'pooler_output', parameters: { binary_data: true } }]);
    assert.deepEqual(body.parameters, { priority: 'besteffort' });
    assert.throws(
      () => inferBody(meta, { shapes: { x: [1, 3] } }),
      /shape \[1,3\] given for input 'x' does not fit its metadata \[-1,2\]/,
    );
    assert.throws(() => inferBody(meta, { outputs: ['nope'] }), /model 'bert' has no output 'nope'/);
    assert.deepEqual(parseRates('10, 20,0'), [10, 20, 0]);
    assert.throws(() => parseRates('10,x'), /--rates takes requests per second/);
  });
});
