// `tensorshare daemon`: runs the model resource manager in the foreground.
// Every option comes from src/daemon/settings.ts (flags, TENSORSHARE_* and
// the config file share one table).
import type { Command } from 'commander';
import { onStopSignals } from '../stop-signals.js';
import { daemonLogger, startDaemon, watchOwnerFd, type RunningDaemon } from '../../daemon/daemon.js';
import { resolveDaemonConfig, SETTINGS, type DaemonConfig } from '../../daemon/settings.js';
import { startAgent, warmUpFor, type RunningAgent } from '../../cluster/agent.js';
import { AGENT_SETTINGS, resolveAgentConfig, type AgentConfig } from '../../cluster/agent-settings.js';

export function registerDaemon(program: Command): Command {
  const cmd = program
    .command('daemon')
    .description(
      'run the model resource manager: leases, reference counts, memory budget and eviction over a gRPC Unix socket',
    );
  for (const s of SETTINGS) {
    if (s.flag.startsWith('--[no-]')) {
      const name = s.flag.slice('--[no-]'.length);
      cmd.option(`--${name}`, `${s.description} (env ${s.env})`);
      cmd.option(`--no-${name}`);
    } else {
      cmd.option(s.flag, `${s.description} (env ${s.env}; default ${s.default.replaceAll('`', '')})`);
    }
  }
  // The node agent (src/cluster): off unless --agent-listen or --peers.
  for (const s of AGENT_SETTINGS) cmd.option(s.flag, `${s.description} (default ${s.default})`);
  // Set by `serve` for the daemon it owns: the daemon stops when its owner's pipe closes.
  cmd.option(
    '--owner-fd <fd>',
    'stop when this inherited pipe reaches end of file (the process that started the daemon died)',
  );
  cmd.action(async (_opts: Record<string, unknown>, self: Command) => {
    // `tensorshare --store X daemon` and `tensorshare daemon --store X` both work.
    const opts = self.optsWithGlobals() as Record<string, unknown>;
    // Files and folders the daemon creates are never group/world-writable.
    process.umask(0o022);
    let config: DaemonConfig;
    let agentConfig: AgentConfig;
    try {
      config = resolveDaemonConfig({ flags: opts, env: process.env });
      agentConfig = resolveAgentConfig(opts, process.env);
    } catch (e) {
      process.stderr.write(`tensorshare daemon: ${(e as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    const ownerFd = opts.ownerFd === undefined ? undefined : Number(opts.ownerFd);
    if (ownerFd !== undefined && !(Number.isInteger(ownerFd) && ownerFd >= 3)) {
      process.stderr.write(
        `tensorshare daemon: --owner-fd must be a file descriptor number of 3 or more, got '${String(opts.ownerFd)}'\n`,
      );
      process.exitCode = 2;
      return;
    }
    const log = daemonLogger(config.logLevel);
    let daemon: RunningDaemon;
    let agent: RunningAgent | undefined;
    try {
      const warmUp = warmUpFor(agentConfig, log);
      daemon = await startDaemon(config, { log, beforeMaterialize: warmUp?.fetchMissing });
      agent = await startAgent(daemon, config, agentConfig, warmUp).catch(async (e) => {
        await daemon.close();
        throw e;
      });
    } catch (e) {
      log.fatal({ err: e }, 'daemon failed to start');
      process.exitCode = 1;
      return;
    }
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      void Promise.resolve(agent?.close())
        .then(() => daemon.close())
        .then(
          () => process.exit(0),
          (e) => {
            log.error({ err: e }, 'error while stopping');
            process.exit(1);
          },
        );
    };
    if (ownerFd !== undefined) watchOwnerFd(ownerFd, () => stop('owner exited'));
    onStopSignals(stop);
  });
  return cmd;
}
