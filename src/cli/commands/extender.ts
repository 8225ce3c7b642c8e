// `tensorshare extender`: the kube-scheduler extender (src/cluster/extender.ts)
// in the foreground. kube-scheduler POSTs to <url>/filter and <url>/prioritize;
// node holdings come from the agents named with --agents.
import type { Command } from 'commander';
import { onStopSignals } from '../stop-signals.js';
import pino from 'pino';
import { agentUrl } from '../../cluster/agent-client.js';
import { agentDirectory } from '../../cluster/agent-directory.js';
import { parseListen } from '../../cluster/agent-settings.js';
import { createExtender } from '../../cluster/extender.js';
import { readAgentTls } from '../../cluster/tls.js';
import { readTokenFile } from '../../cluster/token.js';

export function registerExtender(program: Command): Command {
  return program
    .command('extender')
    .description(
      'run the kube-scheduler extender: filter nodes by store budget, prioritize by bytes of the pod model (annotation tensorshare.dev/model) already resident',
    )
    .requiredOption(
      '--agents <list>',
      'node agents to read holdings from (host:port or http://host:port, comma-separated)',
    )
    .option('--cluster-token-file <file>', 'file holding the shared cluster token the agents accept')
    .option(
      '--tls-cert <file>',
      "mutual TLS with the agents: the extender's certificate (PEM, signed by the cluster CA)",
    )
    .option('--tls-key <file>', "mutual TLS: the certificate's private key (PEM)")
    .option('--tls-ca <file>', "mutual TLS: the cluster CA (PEM) the agents' certificates must be signed by")
    .option('--listen <host:port>', 'where kube-scheduler reaches the extender', '127.0.0.1:8888')
    .option('--cache-ttl <ms>', 'reuse agent summaries and model tensor lists this long', '2000')
    .option(
      '--annotation-max-age <ms>',
      "use a node's tensorshare.dev/inventory annotation (sent by kube-scheduler with the node) instead of asking its agent while younger than this; 0: always ask",
      '60000',
    )
    .option('--log-level <level>', 'pino level on stderr', 'info')
    .action(async (opts: Record<string, string>) => {
      const log = pino({ level: opts.logLevel, base: { pid: process.pid, name: 'tensorshare-extender' } });
      let app: ReturnType<typeof createExtender>['app'];
      let listen: { host: string; port: number };
      try {
        const tls = readAgentTls(
          { cert: opts.tlsCert, key: opts.tlsKey, ca: opts.tlsCa },
          { cert: '--tls-cert', key: '--tls-key', ca: '--tls-ca' },
        );
        if (!opts.clusterTokenFile && !tls)
          throw new Error(
            '--cluster-token-file: give the cluster token the agents accept, or mutual TLS (--tls-cert, --tls-key, --tls-ca)',
          );
        const token = opts.clusterTokenFile ? readTokenFile(opts.clusterTokenFile, '--cluster-token-file') : undefined;
        const addresses = opts
          .agents!.split(',')
          .map((a) => a.trim())
          .filter(Boolean);
        if (!addresses.length) throw new Error('--agents: name at least one agent');
        for (const a of addresses) agentUrl(a, tls ? 'https' : 'http');
        const agents = agentDirectory(addresses, { token, tls, timeoutMs: 2000 });
        const ttl = Number(opts.cacheTtl);
        if (!Number.isFinite(ttl) || ttl < 0) throw new Error(`--cache-ttl: '${opts.cacheTtl}' is not a number of ms`);
        listen = parseListen(opts.listen!, '--listen');
        const maxAge = Number(opts.annotationMaxAge);
        if (!Number.isFinite(maxAge) || maxAge < 0)
          throw new Error(`--annotation-max-age: '${opts.annotationMaxAge}' is not a number of ms`);
        app = createExtender({ agents, log, cacheTtlMs: ttl, annotationMaxAgeMs: maxAge }).app;
      } catch (e) {
        process.stderr.write(`tensorshare extender: ${(e as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const url = await app.listen(listen);
      log.info({ url, agents: opts.agents }, 'extender listening');
      const stop = () => void app.close().then(() => process.exit(0));
      onStopSignals(stop);
    });
}
