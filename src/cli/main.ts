// The `tensorshare` command line (bin/tensorshare.js): the program with only
// the module of the command asked for (program.ts).
import { quietOrtTelemetry } from '../ort-telemetry.js';
import { buildProgram, commandOf } from './program.js';

quietOrtTelemetry();

await (await buildProgram(commandOf(process.argv.slice(2)))).parseAsync(process.argv);
