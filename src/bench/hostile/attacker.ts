// One attack in a process of its own: `node attacker.js <id> <http-url> <grpc-address>`.
// Prints one JSON line: the Answer, or { error } when the attack itself failed.
import { ATTACKS } from './attacks.js';

const [id, http, grpc] = process.argv.slice(2);
const attack = ATTACKS.find((a) => a.id === id);
if (!attack || !http || !grpc) {
  process.stderr.write(`usage: attacker.js <${ATTACKS.map((a) => a.id).join('|')}> <http-url> <grpc-address>\n`);
  process.exit(2);
}
try {
  process.stdout.write(`${JSON.stringify(await attack.send({ http, grpc }))}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
}
