// The worker thread of json-formatter.ts: writes the JSON text of the elements
// it is sent, after a comma, and hands the bytes back without a copy.
import { parentPort } from 'node:worker_threads';
import { jsonItemsBytes } from '../protocol/json-text.js';
import type { FormatReply, FormatTask } from './json-formatter.js';

parentPort!.on('message', (task: FormatTask) => {
  let reply: FormatReply;
  try {
    const t = { name: '', datatype: task.datatype, shape: [task.data.length], data: task.data };
    reply = { id: task.id, bytes: jsonItemsBytes(t, 0, task.data.length, ',') };
  } catch (e) {
    reply = { id: task.id, error: e instanceof Error ? e.message : String(e) };
  }
  parentPort!.postMessage(reply, 'bytes' in reply ? [reply.bytes.buffer as ArrayBuffer] : []);
});
