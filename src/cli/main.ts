// The `tensorshare` command line (bin/tensorshare.js): the program with only
// the module of the command asked for (program.ts).
import { buildProgram, commandOf } from './program.js';

await (await buildProgram(commandOf(process.argv.slice(2)))).parseAsync(process.argv);
