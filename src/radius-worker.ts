/**
 * The entry of a RADIUS worker process (radius/workers.ts): the RADIUS part of the
 * gateway, on the config the main process hands it, sharing its sockets.
 */
import { AggregatorRegistry } from 'prom-client';
import { systemClock } from './clock.js';
import type { Config } from './config/load.js';
import { createLogger } from './logger.js';
import cluster from 'node:cluster';
import { BackoffDirectory } from './directory/backoff-directory.js';
import { buildRadiusServer, createDirectory, type EapFiles } from './wiring.js';
import { Metrics } from './metrics.js';
import { NasTable } from './radius/clients.js';
import { openStateStore } from './store/open-state-store.js';
import { ForwardingAccessRequests, ForwardingAudit, ForwardingDrops, workerPort, type WorkerMessage } from './radius/workers.js';
import { HandoffSocket } from './radius/eap-handoff.js';
import { exitProcess } from './cli/terminal.js';

/**
 * The config the main process runs, with what its reloads applied: asked for once this
 * worker listens for the answer (a message sent before that would be lost).
 */
function configFromMain(): Promise<Extract<WorkerMessage, { type: 'eg:config' }>> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('a RADIUS worker is started by the gateway (radius.workers), not on its own'));
    const onMessage = (m: WorkerMessage) => {
      if (m?.type !== 'eg:config') return;
      process.off('message', onMessage);
      resolve(m);
    };
    process.on('message', onMessage);
    process.send({ type: 'eg:started' } satisfies WorkerMessage);
  });
}

/** The EAP files as the main process read them; the IPC channel may hand a Buffer back as a Uint8Array. */
function eapFilesOf(f: NonNullable<Extract<WorkerMessage, { type: 'eg:config' }>['eapFiles']>): EapFiles {
  return { cert: Buffer.from(f.cert), key: Buffer.from(f.key), caPem: Buffer.from(f.caPem), ...(f.caKey ? { caKey: Buffer.from(f.caKey) } : {}) };
}

async function main(): Promise<void> {
  // The main process reloads (SIGHUP) and hands the settings on; the hangup of the terminal a
  // gateway was started from reaches its workers too, and must not end them.
  process.on('SIGHUP', () => undefined);
  const given = await configFromMain();
  const config: Config = given.config;
  const log = createLogger(config.log.level).child({ radiusWorker: process.pid });
  const store = await openStateStore(config, log);
  // RADIUS metrics only, gathered by the main process's /metrics (no process metrics: the main process has those).
  const metrics = new Metrics({ parts: ['radius'] });
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
  const serve = workerPort();
  const audit = new ForwardingAudit();
  const accessRequests = new ForwardingAccessRequests();
  const drops = new ForwardingDrops();
  // 802.1X renews the morning's session after asking the directory (eap.next_morning renew).
  const directory = config.eap.enabled ? new BackoffDirectory(createDirectory(config, given.ldapCa ? { ldapCa: Buffer.from(given.ldapCa) } : {}, log), { clock: systemClock, log }) : undefined;
  // Its own table, so that a reload (eg:reload) changes the routers this worker answers.
  const nas = new NasTable(config.radius.clients);
  // EAP conversations: a request that reached the wrong worker goes straight to its owner's
  // loopback socket (eap-handoff.ts); the main process tells every worker where each listens.
  let radius: ReturnType<typeof buildRadiusServer> | undefined;
  const handoffs =
    serve === 'auth' && config.eap.enabled
      ? await HandoffSocket.open({ receive: (raw, peer) => radius?.receiveForwarded(raw, peer), count: (result) => metrics.eapHandoffs.inc({ result }), log })
      : undefined;
  radius = buildRadiusServer(config, {
    store,
    nas,
    metrics,
    clock: systemClock,
    log,
    accessRequests,
    audit,
    drops,
    serve,
    ...(directory ? { directory } : {}),
    workerIndex: cluster.worker?.id ?? 0,
    ...(given.eapFiles ? { eapFiles: eapFilesOf(given.eapFiles) } : {}),
    ...(handoffs ? { forward: (owner: number, raw: Buffer, peer: { address: string; port: number }) => handoffs.send(owner, raw, peer) } : {}),
  });
  process.on('message', (m: WorkerMessage) => {
    if (m?.type === 'eg:routes') handoffs?.setRoutes(Buffer.from(m.key), m.routes);
    else if (m?.type === 'eg:reload') {
      nas.replace(m.clients);
      log.level = m.logLevel;
      process.send?.({ type: 'eg:reloaded', number: m.number } satisfies WorkerMessage);
    }
  });
  const ports = await radius.start();
  process.send?.({
    type: 'eg:ready',
    port: serve,
    number: (serve === 'auth' ? ports.authPort : ports.acctPort)!,
    ...(handoffs ? { handoffPort: handoffs.port } : {}),
  } satisfies WorkerMessage);
  process.once('SIGTERM', () => {
    void radius
      .stop()
      .then(() => Promise.all([store.close(), audit.flush(), accessRequests.flush(), drops.flush(), directory?.close(), handoffs?.close()]))
      // A worker shares the gateway's terminal (its standard streams), and ends as it does when that terminal is gone.
      .finally(() => exitProcess(0));
  });
}

main().catch((err: unknown) => {
  process.send?.({ type: 'eg:failed', message: err instanceof Error ? err.message : String(err) } satisfies WorkerMessage);
  process.exitCode = 1;
  setTimeout(() => exitProcess(1), 100).unref();
});
