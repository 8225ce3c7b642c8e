import type { Command } from 'commander';
import { resolvePaths, type Paths } from '../config.js';
import { layout, type Layout } from '../store/layout.js';

export interface Roots extends Paths {
  repo: Layout;
  storeLayout: Layout;
}

/** Repository and store as given by the global --repository/--store flags, env, or defaults. */
export function roots(cmd: Command): Roots {
  const g = cmd.optsWithGlobals() as { repository?: string; store?: string };
  const p = resolvePaths({ repository: g.repository, store: g.store });
  return { ...p, repo: layout(p.repository), storeLayout: layout(p.store) };
}
