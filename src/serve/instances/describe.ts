// Asks a handler for its metadata in a throwaway process, so loading a
// handler's code (and any mistake in it) never happens in the runtime's
// process. Also proves at deploy time that the module loads and exports
// handle().
import { fork } from 'node:child_process';
import path from 'node:path';
import { TensorshareError } from '../../errors.js';
import { validateTensors } from '../functions/config.js';
import type { DescribeHandler } from '../functions/deploy.js';
import type { TensorMetadata } from '../../tensor/index.js';
import { CHILD_MODULE, INSTANCE_ENV } from './instance.js';
import type { FromInstance, ToInstance } from './protocol.js';
import { userFor, type InstanceUsers } from './user.js';

export function describeHandlerIn(
  timeoutMs = 30_000,
  env: NodeJS.ProcessEnv = process.env,
  users?: InstanceUsers,
): DescribeHandler {
  return async (source, models, config) => {
    const handlerFile = source.handlerFile!;
    const label = path.join(path.dirname(source.label), path.relative(source.dir, handlerFile));
    const child = fork(CHILD_MODULE, [], {
      serialization: 'advanced',
      execArgv: [],
      env: { ...env, ...INSTANCE_ENV },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      ...userFor(users, config.tenant),
    });
    const answer = await new Promise<FromInstance | Error>((resolve) => {
      const timer = setTimeout(() => resolve(new Error(`did not load within ${timeoutMs} ms`)), timeoutMs);
      child.once('message', (m: FromInstance) => {
        clearTimeout(timer);
        resolve(m);
      });
      // The child never exits by itself after answering, so an exit first means loading the handler killed it.
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(new Error(`loading it ended the process (${signal ?? `code ${code}`})`));
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        resolve(e);
      });
      const msg: ToInstance = {
        type: 'describe',
        function: source.name,
        handlerFile,
        config,
        models: Object.fromEntries(
          Object.entries(models).map(([a, m]) => [
            a,
            { ref: m.ref, inputs: m.manifest.inputs, outputs: m.manifest.outputs },
          ]),
        ),
      };
      child.send(msg);
    });
    child.kill('SIGKILL');
    const fail = (why: string, field = 'handler') =>
      new TensorshareError('ERR_INVALID_ARGUMENT', `${label}: ${why}`, { function: source.name, file: label, field });
    if (answer instanceof Error) throw fail(answer.message);
    if (answer.type === 'fatal') throw fail(`cannot be loaded: ${answer.error.message}`);
    if (answer.type !== 'described') throw fail(`answered ${answer.type} to describe`);
    if (!answer.hasHandle) throw fail('exports no handle(request, ctx) function');
    const md = answer.metadata;
    if (md === undefined || md === null) return undefined;
    const errors: string[] = [];
    let inputs: TensorMetadata[] | undefined;
    let outputs: TensorMetadata[] | undefined;
    if (typeof md !== 'object') errors.push(`metadata must be {inputs, outputs}, got ${JSON.stringify(md)}`);
    else {
      inputs = validateTensors('metadata.inputs', md.inputs, errors);
      outputs = validateTensors('metadata.outputs', md.outputs, errors);
      if (!inputs || !outputs) errors.push('metadata needs both inputs and outputs');
    }
    if (errors.length) throw fail(errors.join('; '), 'metadata');
    return { inputs: inputs!, outputs: outputs! };
  };
}
