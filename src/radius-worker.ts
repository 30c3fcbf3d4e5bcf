/**
 * The entry of a RADIUS worker process (radius/workers.ts): the RADIUS part of the
 * gateway, on the config file the main process names, sharing its sockets.
 */
import { AggregatorRegistry } from 'prom-client';
import { systemClock } from './clock.js';
import { loadConfig } from './config/load.js';
import { createLogger } from './logger.js';
import { buildRadiusServer } from './wiring.js';
import { Metrics } from './metrics.js';
import { openStateStore } from './store/open-state-store.js';
import { ForwardingAccessRequests, ForwardingAudit, workerPort, type WorkerMessage } from './radius/workers.js';

async function main(configFile: string): Promise<void> {
  const config = loadConfig(configFile);
  const log = createLogger(config.log.level).child({ radiusWorker: process.pid });
  const store = await openStateStore(config, log);
  // RADIUS metrics only, gathered by the main process's /metrics (no process metrics: the main process has those).
  const metrics = new Metrics({ parts: ['radius'] });
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
  const serve = workerPort();
  const audit = new ForwardingAudit();
  const accessRequests = new ForwardingAccessRequests();
  const radius = buildRadiusServer(config, { store, metrics, clock: systemClock, log, accessRequests, audit, serve });
  const ports = await radius.start();
  process.send?.({ type: 'eg:ready', port: serve, number: (serve === 'auth' ? ports.authPort : ports.acctPort)! } satisfies WorkerMessage);
  process.once('SIGTERM', () => {
    void radius
      .stop()
      .then(() => Promise.all([store.close(), audit.flush(), accessRequests.flush()]))
      .finally(() => process.exit(0));
  });
}

main(process.argv[2] ?? '').catch((err: unknown) => {
  process.send?.({ type: 'eg:failed', message: err instanceof Error ? err.message : String(err) } satisfies WorkerMessage);
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
