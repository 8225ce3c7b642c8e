// What was resident on each device, kept across daemon restarts
// (<store>/.daemon/devices-resident.json): the executors end with the daemon,
// so a restarted daemon reads this and loads those models onto their devices
// again, from the host store (TrIMS: models outlive the processes that use
// them). Written with every status change and once more at stop; a missing
// or damaged file means "nothing to restore".
import fs from 'node:fs';
import { residencyRecordFile } from '../device/protocol.js';

export const RECORD_FORMAT = 'tensorshare.devices-resident/v1';

export interface ResidentRecord {
  /** Namespace (tenant), model name and version: enough to resolve it again. */
  ns: string;
  name: string;
  version: string;
  pinned: boolean;
  /** Device bytes as measured last time (the next admission's estimate). */
  measuredBytes?: number;
}

export interface DevicesRecord {
  format: typeof RECORD_FORMAT;
  devices: { index: number; models: ResidentRecord[] }[];
}

export const recordFileOf = residencyRecordFile;

/** Atomic replace (tmp + rename), so a daemon killed mid-write leaves the previous record. */
export function writeRecord(file: string, record: DevicesRecord): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

const isRecord = (m: unknown): m is ResidentRecord => {
  const r = m as ResidentRecord;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.ns === 'string' &&
    typeof r.name === 'string' &&
    typeof r.version === 'string' &&
    typeof r.pinned === 'boolean' &&
    (r.measuredBytes === undefined || (Number.isSafeInteger(r.measuredBytes) && r.measuredBytes > 0))
  );
};

/** The record, or why there is none to use (missing, unreadable, another format). */
export function readRecord(file: string): { record?: DevicesRecord; problem?: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? {} : { problem: `cannot read ${file}: ${code}` };
  }
  try {
    const r = JSON.parse(text) as DevicesRecord;
    if (r?.format !== RECORD_FORMAT || !Array.isArray(r.devices)) return { problem: `${file} is not ${RECORD_FORMAT}` };
    const devices = r.devices
      .filter((d) => Number.isSafeInteger(d?.index) && Array.isArray(d.models))
      .map((d) => ({ index: d.index, models: d.models.filter(isRecord) }));
    return { record: { format: RECORD_FORMAT, devices } };
  } catch {
    return { problem: `${file} is damaged (not JSON)` };
  }
}
