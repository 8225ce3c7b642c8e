// The OS user instance processes run as. Handler code is the least trusted
// code serve runs: as serve's user (root) it could open a store tensor
// read-write and change the weights every function maps. Under an
// unprivileged user it can read the store (tensor files 0444, folders 0755
// or 0711) and connect to the daemon's socket, whose group is the instances'
// group, and nothing more of tensorshare's. Functions of a tenant that has a
// user of its own run as that user (one tenant's handler cannot signal or
// trace another's), all in the one group that may reach the socket.
import { execFileSync } from 'node:child_process';
import { TensorshareError } from '../../errors.js';

export interface ProcessUser {
  uid: number;
  gid: number;
}

export interface InstanceUsers {
  /** Instances of functions whose tenant has no user of its own; its gid is every instance's (the socket's group). */
  default: ProcessUser;
  /** By function tenant (the `tenant` of a function's config). */
  tenants: Readonly<Record<string, ProcessUser>>;
}

const ID = /^[0-9]+$/;

function getent(db: 'passwd' | 'group', key: string): string[] | undefined {
  try {
    return execFileSync('getent', [db, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split(':');
  } catch {
    return undefined;
  }
}

/** `name`, `uid`, `name:group` or `uid:gid`; a user alone brings its primary group. */
export function lookupUser(spec: string): ProcessUser {
  const [user = '', group] = spec.split(':');
  const pw = ID.test(user) ? undefined : getent('passwd', user);
  if (!ID.test(user) && !pw)
    throw new TensorshareError(
      'ERR_INVALID_ARGUMENT',
      `instance user '${user}' does not exist (give a user name or a numeric uid[:gid])`,
    );
  const uid = Number(pw ? pw[2] : user);
  let gid: number;
  if (group === undefined) {
    const primary = pw?.[3] ?? getent('passwd', user)?.[3];
    if (primary === undefined)
      throw new TensorshareError(
        'ERR_INVALID_ARGUMENT',
        `instance user ${uid} has no passwd entry to take a group from: give uid:gid`,
      );
    gid = Number(primary);
  } else if (ID.test(group)) gid = Number(group);
  else {
    const gr = getent('group', group);
    if (!gr) throw new TensorshareError('ERR_INVALID_ARGUMENT', `instance group '${group}' does not exist`);
    gid = Number(gr[2]);
  }
  return { uid, gid };
}

/**
 * `--instance-user` values: `user` sets the default, `tenant=user` a tenant's
 * own (its instances keep the default's group). Without a plain `user`,
 * `fallback` is the default.
 */
export function parseInstanceUsers(specs: readonly string[], fallback: string): InstanceUsers {
  const plain = specs.filter((s) => !s.includes('='));
  if (plain.length > 1)
    throw new TensorshareError('ERR_INVALID_ARGUMENT', `--instance-user: one default user, got ${plain.join(', ')}`);
  const def = lookupUser(plain[0] ?? fallback);
  const tenants: Record<string, ProcessUser> = {};
  for (const s of specs.filter((x) => x.includes('='))) {
    const [tenant, user] = s.split('=', 2) as [string, string];
    if (!tenant || !user)
      throw new TensorshareError('ERR_INVALID_ARGUMENT', `--instance-user: expected [tenant=]user, got '${s}'`);
    tenants[tenant] = { uid: lookupUser(user).uid, gid: def.gid };
  }
  return { default: def, tenants };
}

export const userFor = (users: InstanceUsers | undefined, tenant: string): ProcessUser | undefined =>
  users && (users.tenants[tenant] ?? users.default);
