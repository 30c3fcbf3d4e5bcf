import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../../src/audit/query.js';
import type { AuditRecord } from '../../../src/audit/record.js';
import { CLI_GATEWAY_SETUP_MS, editConfig, initOnFreePorts, startCliGateway, type CliGateway, type GatewayPorts } from '../../helpers/gateway.js';
import { runCli, SOURCE_RUN_MS } from '../../helpers/source.js';
import { stopChild } from '../../helpers/stop-child.js';

/**
 * The SHA-256 a start and a reload log and audit is that of the bytes the config was made
 * from, even when the file is saved again while the gateway still reads the files it names.
 * The terms file (portal.terms.file) is a FIFO: the gateway's read of it waits until this
 * test writes it, which holds the gateway between reading the config and being done with
 * it, every time; the test saves an edit in that gap.
 */

let dir: string;
let configFile: string;
let fifo: string;
let ports: GatewayPorts;
let gateway: CliGateway | undefined;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The audit records of one type so far. */
function audited(type: string): AuditRecord[] {
  const found: AuditRecord[] = [];
  queryAudit(join(dir, 'audit'), { type }, (m) => void found.push(m.record));
  return found;
}

/**
 * Waits until the gateway opens the terms FIFO to read it (opening it to write returns then),
 * runs `meanwhile`, then hands the gateway the terms and lets it go on.
 */
async function whileReadingTerms(meanwhile: () => Promise<void>): Promise<void> {
  const writer = await open(fifo, 'w');
  try {
    await meanwhile();
    await writer.writeFile('Use the network for work.\n');
  } finally {
    await writer.close();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-config-hash-'));
  fifo = join(dir, 'terms.fifo');
  ({ configFile, ports } = await initOnFreePorts(dir, (doc) => {
    // One RADIUS process: workers would read the terms FIFO too (with eap), and take seconds to start.
    doc.radius.workers = 1;
    doc.portal.terms = { file: 'terms.fifo', version: 'v1' };
    doc.portal.support_contact = 'as started';
    doc.portal.base_url = `http://127.0.0.1:${doc.portal.http.port}`;
  }));
  execFileSync('mkfifo', [fifo]);
}, CLI_GATEWAY_SETUP_MS);

afterAll(async () => {
  // A writer still waiting for the gateway (a failed test) gets a reader, and returns.
  await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK).then((reader) => reader.close(), () => undefined);
  if (gateway) await stopChild(gateway.child, 15_000);
  await rm(dir, { recursive: true, force: true });
});

describe('the config SHA-256 a start and a reload name', () => {
  it('at start: the bytes the gateway runs on, not an edit saved while it started', async () => {
    const loaded = await readFile(configFile);
    const started = startCliGateway(configFile, dir);
    await whileReadingTerms(() => editConfig(configFile, (doc) => void (doc.portal.support_contact = 'saved during the start')));
    gateway = await started;
    const line = gateway
      .output()
      .split('\n')
      .map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : {}))
      .find((r) => r.event === 'gateway.started');
    expect(line?.configSha256).toBe(sha256(loaded));
    expect(sha256(await readFile(configFile))).not.toBe(sha256(loaded));
    expect(await (await fetch(`http://127.0.0.1:${ports.http}/portal`)).text()).toContain('as started');
    await expect.poll(() => audited('gateway.started').length, { timeout: 5_000 }).toBe(1);
    expect(audited('config.loaded')[0]).toMatchObject({ sha256: sha256(loaded) });
    expect(audited('gateway.started')[0]).toMatchObject({ config_sha256: sha256(loaded) });
  }, CLI_GATEWAY_SETUP_MS);

  it('at reload: the bytes the reload applied, not an edit saved while it read the files', async () => {
    await editConfig(configFile, (doc) => void (doc.portal.support_contact = 'reloaded'));
    const loaded = await readFile(configFile);
    const reload = runCli(['reload', '--config', configFile], { cwd: dir });
    await whileReadingTerms(() => editConfig(configFile, (doc) => void (doc.portal.support_contact = 'saved during the reload')));
    const r = await reload;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`sha256 ${sha256(loaded)}`);
    expect(await (await fetch(`http://127.0.0.1:${ports.http}/portal`)).text()).toContain('reloaded');
    await expect.poll(() => audited('config.reloaded').length, { timeout: 5_000 }).toBe(1);
    expect(audited('config.reloaded')[0]).toMatchObject({ sha256: sha256(loaded) });
    expect(gateway!.output()).toContain(`"configSha256":"${sha256(loaded)}"`);
  }, 2 * SOURCE_RUN_MS);
});
