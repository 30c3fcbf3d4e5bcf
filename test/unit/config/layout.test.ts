import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { initCommand } from '../../../src/cli/commands/init.js';
import { layoutFor } from '../../../src/config/layout.js';
import { configLocation, loadConfig } from '../../../src/config/load.js';

/**
 * Where files go when nobody says: a checkout keeps them beside itself, an installed package
 * (inside a node_modules folder) in /etc/enrollgate and /var/lib/enrollgate.
 */

const temps: string[] = [];
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

describe('layoutFor', () => {
  it('is a checkout for this tree, and for any directory outside node_modules', () => {
    expect(layoutFor().kind).toBe('checkout');
    expect(layoutFor(fileURLToPath(new URL('../../../', import.meta.url))).kind).toBe('checkout');
    expect(layoutFor('/opt/enrollgate/').kind).toBe('checkout');
    expect(layoutFor('/srv/node_modules_backup/enrollgate/').kind).toBe('checkout');
  });

  it('is a package inside a node_modules folder, global or local', () => {
    expect(layoutFor('/usr/local/lib/node_modules/enrollgate/')).toEqual({
      kind: 'package',
      configFile: '/etc/enrollgate/enrollgate.yaml',
      configDir: '/etc/enrollgate',
      certsDir: '/var/lib/enrollgate/certs',
      stateDir: '/var/lib/enrollgate',
    });
    expect(layoutFor('/home/it/site/node_modules/enrollgate').kind).toBe('package');
  });
});

describe('configLocation by layout', () => {
  const pkg = layoutFor('/usr/lib/node_modules/enrollgate/');

  it('defaults to /etc/enrollgate/enrollgate.yaml installed as a package', () => {
    expect(configLocation(undefined, {}, pkg)).toEqual({ file: '/etc/enrollgate/enrollgate.yaml', named: false });
  });

  it('lets --config and $ENROLLGATE_CONFIG win over the package default', () => {
    expect(configLocation('/srv/eg.yaml', { ENROLLGATE_CONFIG: '/opt/eg.yaml' }, pkg)).toEqual({ file: '/srv/eg.yaml', named: true });
    expect(configLocation(undefined, { ENROLLGATE_CONFIG: '/opt/eg.yaml' }, pkg)).toEqual({ file: '/opt/eg.yaml', named: true });
  });
});

describe('init with a state directory', () => {
  it('writes absolute store and audit paths into it, the config and secrets beside the config', async () => {
    const root = await mkdtemp(join(tmpdir(), 'enrollgate-layout-'));
    temps.push(root);
    const file = await initCommand({ dir: join(root, 'etc'), certsDir: join(root, 'var', 'certs'), stateDir: join(root, 'var'), print: () => undefined });
    expect(file).toBe(join(root, 'etc', 'enrollgate.yaml'));
    const config = loadConfig(file);
    expect(config.store.sqlite_file).toBe(join(root, 'var', 'state.sqlite'));
    expect(config.audit.dir).toBe(join(root, 'var', 'audit'));
    expect(config.pki.ca_cert_file).toBe(join(root, 'var', 'certs', 'ca.pem'));
  }, 60_000);

  it('keeps the state beside the config without one', async () => {
    const root = await mkdtemp(join(tmpdir(), 'enrollgate-layout-'));
    temps.push(root);
    const config = loadConfig(await initCommand({ dir: root, certsDir: join(root, 'certs'), print: () => undefined }));
    expect(config.store.sqlite_file).toBe(join(root, 'state.sqlite'));
    expect(config.audit.dir).toBe(join(root, 'audit'));
  }, 60_000);
});
