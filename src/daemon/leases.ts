// Leases and the clients holding them. A client process attaches once (one
// Attach stream); its leases are tied to that attachment. When the stream
// ends, a dead process's leases are released at once, a live one keeps them
// until it re-registers (Hello with its lease claims) or exits. Each lease is
// one reference on a unit; the last release lets admission expire it.
import type { Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import type { Tracer } from '../trace.js';
import type { Admission } from './admission.js';
import { processState, readProcStat } from './process-check.js';
import type { Unit } from './residency.js';
import type { PersistedLease } from './state-file.js';
import { readable, scopeRef, type Caller, type Namespace } from './tenants.js';
import type * as P from './proto.js';

export const randomId = (): string => randomBytes(16).toString('hex');

export interface Attachment {
  id: string;
  tenant: string;
  pid: number;
  pidStart: string | undefined;
  clientId: string;
  clientName: string;
  leases: Set<string>;
  /** No live stream: leases held until the client re-registers or its process is gone. */
  detached: boolean;
  since: number;
}

export interface LeaseRec extends PersistedLease {
  attachmentId: string;
}

export interface Reattached {
  attachment: Attachment;
  restored: string[];
  rejected: { leaseId: string; reason: string }[];
}

export interface LeaseDeps {
  admission: Admission;
  namespaces: ReadonlyMap<string, Namespace>;
  restoreGraceMs: number;
  log: Logger;
  trace: Tracer;
  now: () => number;
  persist(): Promise<void>;
  /** A lease ended (closed, or its client gone). */
  onRelease?(l: LeaseRec): void;
}

export type Leases = ReturnType<typeof createLeases>;

export function createLeases(deps: LeaseDeps) {
  const { admission, log, trace, now } = deps;
  const r = admission.residency;
  const attachments = new Map<string, Attachment>();
  const leases = new Map<string, LeaseRec>();

  function add(l: LeaseRec, a: Attachment, u: Unit): void {
    leases.set(l.id, l);
    a.leases.add(l.id);
    u.leases++;
  }

  /** A lease `id` on `u`, held by attachment `a` (a new one, or one a client re-registers after a restart). */
  function hold(
    id: string,
    a: Attachment,
    u: Unit,
    fields: Pick<LeaseRec, 'tenant' | 'model' | 'mode' | 'graphSha256'>,
  ): LeaseRec {
    const l: LeaseRec = {
      id,
      unitKey: u.key,
      ...fields,
      pid: a.pid,
      pidStart: a.pidStart,
      clientId: a.clientId,
      clientName: a.clientName,
      openedAt: now(),
      attachmentId: a.id,
    };
    add(l, a, u);
    return l;
  }

  /** A new lease on `u` for attachment `a`. */
  function grant(
    a: Attachment,
    u: Unit,
    fields: Pick<LeaseRec, 'tenant' | 'model' | 'mode' | 'graphSha256'>,
  ): LeaseRec {
    return hold(randomId(), a, u, fields);
  }

  function release(l: LeaseRec): void {
    leases.delete(l.id);
    deps.onRelease?.(l);
    attachments.get(l.attachmentId)?.leases.delete(l.id);
    const u = r.units.get(l.unitKey);
    if (!u) return;
    u.leases = Math.max(0, u.leases - 1);
    u.lastRelease = u.lastUse = now();
    trace.instant('close', { lease: l.id, model: l.model });
    admission.maybeExpire(u);
  }

  function releaseAttachment(a: Attachment, why: string): void {
    attachments.delete(a.id);
    if (a.leases.size) log.info({ client: a.clientName, pid: a.pid, leases: a.leases.size, why }, 'released leases');
    for (const id of [...a.leases]) {
      const l = leases.get(id);
      if (l) release(l);
    }
    void deps.persist();
  }

  /** Detached attachments: release once their process is gone (or, if it cannot be checked, after the grace). */
  function checkDetached(): void {
    for (const a of [...attachments.values()]) {
      if (!a.detached) continue;
      const st = processState(a.pid, a.pidStart);
      if (st === 'dead') releaseAttachment(a, 'client process is gone');
      else if (st === 'unknown' && now() - a.since >= deps.restoreGraceMs)
        releaseAttachment(a, 'not re-registered within the restore grace');
      else if (a.leases.size === 0) attachments.delete(a.id);
    }
  }

  /** A client's Attach: a new attachment, and the leases it claims (after a reconnect or a daemon restart) moved onto it. */
  function attach(caller: Caller, hello: P.Hello): Reattached {
    const a: Attachment = {
      id: randomId(),
      tenant: caller.tenant,
      pid: hello.pid,
      pidStart: readProcStat(hello.pid)?.startTime,
      clientId: hello.clientId,
      clientName: hello.clientName,
      leases: new Set(),
      detached: false,
      since: now(),
    };
    attachments.set(a.id, a);
    const restored: string[] = [];
    const rejected: Reattached['rejected'] = [];
    const claimed = new Set<string>();
    for (const c of hello.leases) {
      claimed.add(c.leaseId);
      const l = leases.get(c.leaseId);
      if (l) {
        const prev = attachments.get(l.attachmentId);
        // The client id is a random secret of the client object: same id, same client.
        if (l.tenant === caller.tenant && l.clientId === hello.clientId) {
          prev?.leases.delete(l.id);
          l.attachmentId = a.id;
          l.pid = a.pid;
          l.pidStart = a.pidStart;
          a.leases.add(l.id);
          restored.push(l.id);
        } else {
          rejected.push({ leaseId: c.leaseId, reason: 'lease is held by another client' });
        }
        continue;
      }
      // Unknown here (state lost): re-create it if the same files are still resident.
      try {
        const s = scopeRef(caller, c.model);
        const ns = readable(deps.namespaces, caller, s, c.model);
        const u = [...r.units.values()].find(
          (x) =>
            x.ns === ns.name &&
            x.resident &&
            x.mode === c.mode &&
            x.graphPath.endsWith(`${c.graphSha256}.onnx`) &&
            (x.mode === 'fast-run' || (x.name === s.name && x.version === s.version)),
        );
        if (!u) {
          rejected.push({ leaseId: c.leaseId, reason: 'model is no longer resident' });
          continue;
        }
        hold(c.leaseId, a, u, { tenant: caller.tenant, model: c.model, mode: u.mode, graphSha256: c.graphSha256 });
        restored.push(c.leaseId);
      } catch (e) {
        rejected.push({ leaseId: c.leaseId, reason: (e as Error).message });
      }
    }
    // Leases this client held before but no longer claims: released.
    for (const other of [...attachments.values()]) {
      if (other === a || !other.detached || other.clientId !== hello.clientId || other.tenant !== caller.tenant)
        continue;
      for (const id of [...other.leases]) if (!claimed.has(id)) release(leases.get(id)!);
      if (other.leases.size === 0) attachments.delete(other.id);
    }
    if (hello.leases.length)
      log.info(
        { client: a.clientName, pid: a.pid, restored: restored.length, rejected: rejected.length },
        're-registered leases',
      );
    void deps.persist();
    return { attachment: a, restored, rejected };
  }

  /** The attach stream ended. A live client process keeps its leases until it re-registers or exits. */
  function detach(attachmentId: string): void {
    const a = attachments.get(attachmentId);
    if (!a || a.detached) return;
    if (a.leases.size === 0) {
      attachments.delete(a.id);
      return;
    }
    const st = processState(a.pid, a.pidStart);
    if (st === 'dead') {
      releaseAttachment(a, 'client disconnected and its process is gone');
      return;
    }
    // The stream often ends while the process is still exiting: look again shortly.
    a.detached = true;
    a.since = now();
    log.debug(
      { client: a.clientName, pid: a.pid, leases: a.leases.size },
      'client detached; holding its leases while its process lives',
    );
    for (const ms of [20, 100, 300, 1000, 2000]) setTimeout(checkDetached, ms).unref();
  }

  /** Leases saved by the previous daemon: held for their client (detached) until it re-registers or its process is gone. */
  function restore(saved: readonly PersistedLease[]): number {
    let n = 0;
    for (const l of saved) {
      const u = r.units.get(l.unitKey);
      const state = processState(l.pid, l.pidStart);
      if (!u?.resident || state === 'dead' || !deps.namespaces.has(u.ns)) continue;
      let a = [...attachments.values()].find((x) => x.detached && x.clientId === l.clientId);
      if (!a) {
        a = {
          id: randomId(),
          tenant: l.tenant,
          pid: l.pid,
          pidStart: l.pidStart,
          clientId: l.clientId,
          clientName: l.clientName,
          leases: new Set(),
          detached: true,
          since: now(),
        };
        attachments.set(a.id, a);
      }
      add({ ...l, attachmentId: a.id }, a, u);
      n++;
    }
    return n;
  }

  return { attachments, leases, grant, release, attach, detach, checkDetached, restore };
}
