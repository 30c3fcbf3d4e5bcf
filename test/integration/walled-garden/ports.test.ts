import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { walledGarden } from '../../../src/walled-garden/catalogue.js';
import { IPTABLES_CHAIN } from '../../../src/walled-garden/iptables.js';
import { walledGardenJson } from '../../../src/walled-garden/json.js';
import { NFT_TABLE } from '../../../src/walled-garden/nftables.js';
import { call } from '../../helpers/http.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { cliEntry } from '../../helpers/source.js';

/**
 * `enrollgate ports` as an admin runs it: a separate process (this vitest run's build of
 * the sources, as in test/integration/cli, so that no shared dist/ is tested), and its firewall
 * files as the real nft, iptables-restore and ip6tables-restore read them.
 *
 * `nft -c` hands the ruleset to the kernel, which checks it and throws it away, and
 * iptables-nft reads the kernel's ruleset before it tests a file: both need CAP_NET_ADMIN
 * (without it: "netlink: Error: cache initialization failed: Operation not permitted").
 * They run in a new user and network namespace (unshare --user --map-root-user --net),
 * which has that capability for any user where unprivileged user namespaces are allowed,
 * starts with an empty firewall, and keeps this machine's own firewall out of it. The
 * same namespace lets the tests load each file twice, as an admin would, and look at
 * the result.
 */

// nft and iptables live in /usr/sbin, which is not on every user's PATH.
const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PATH };
    delete env.ENROLLGATE_CONFIG;
    execFile(file, args, { cwd, env, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

let dir: string;

/** Writes a config file (the walled_garden section and whatever else is given) and returns its path. */
async function configFile(name: string, doc: Record<string, unknown>): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, stringify(doc));
  return file;
}

const cli = (...args: string[]) => run(process.execPath, [cliEntry(), ...args], dir);

/** Runs a shell script in a new user and network namespace (see above). */
async function inNamespace(script: string): Promise<Run> {
  const r = await run('unshare', ['--user', '--map-root-user', '--net', 'sh', '-ec', script], dir);
  if (/unshare: /.test(r.stderr)) {
    throw new Error(`cannot create a user and network namespace for the firewall checks (unprivileged user namespaces disabled?): ${r.stderr}`);
  }
  return r;
}

/** `enrollgate ports --format FORMAT` for a config, written to a file beside it. */
async function rendered(config: string, format: string): Promise<{ file: string; text: string }> {
  const r = await cli('ports', '--format', format, '--config', config);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  const file = `${config}.${format}`;
  await writeFile(file, r.stdout);
  return { file, text: r.stdout };
}

const CONFIGS_FULL_GARDEN = {
  portal_addresses: ['10.99.0.1', 'fd00:99::1'],
  dns_servers: ['10.99.0.53', 'fd00:99::53'],
  registration_networks: ['10.99.0.0/24', '10.98.0.0/16', 'fd00:99::/64'],
};

const CONFIGS: Record<string, Record<string, unknown>> = {
  full: {
    portal: { base_url: 'https://wifi.example.org', http: { host: '0.0.0.0', port: 8080 }, https: { host: '0.0.0.0', port: 8443 } },
    android: { agent: { version: '4.2.0', url: 'https://downloads.example.org/agent/agent-4.2.0.apk' } },
    walled_garden: CONFIGS_FULL_GARDEN,
  },
  // Overlapping networks and one address twice: nft's interval sets take them (auto-merge).
  overlapping: {
    walled_garden: {
      portal_addresses: ['10.99.0.1'],
      dns_servers: ['10.99.0.1', '10.99.0.1'],
      registration_networks: ['10.0.0.0/8', '10.99.0.0/24'],
      apns_ipv4: 'apns-ranges',
      include_retired_apns: true,
    },
  },
  // RFC 8908 §4.1's certificate checks on: OCSP/CRL (TCP 80) and NTP (UDP 123) by address in both families, and by name.
  certificateChecks: {
    walled_garden: {
      ...CONFIGS_FULL_GARDEN,
      certificate_checks: { enabled: true, revocation_hosts: ['ocsp.ca.example.com', '192.0.2.80', '2001:db8::80'], ntp_servers: ['10.99.0.123', 'fd00:99::123', 'time.apple.com'] },
    },
  },
  ipv4Only: { portal: { base_url: 'http://10.99.0.1:8080' }, walled_garden: { dns_servers: ['10.99.0.53'], registration_networks: ['10.99.0.0/24'] } },
  defaults: {},
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-ports-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('enrollgate ports --format nftables', () => {
  it.each(Object.keys(CONFIGS))('%s: nft -c -f accepts the file', async (name) => {
    const { file } = await rendered(await configFile(`nft-${name}`, CONFIGS[name]!), 'nftables');
    const check = await inNamespace(`nft -c -f '${file}'`);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stderr).toBe('');
  });

  it('loads, and loads again in place of itself: one table, the registration networks sent to the walled garden', async () => {
    const { file } = await rendered(await configFile('nft-load', CONFIGS.full!), 'nftables');
    const loaded = await inNamespace(`nft -f '${file}'; nft -f '${file}'; nft list tables; nft list table inet ${NFT_TABLE}`);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout.match(/^table /gm)).toHaveLength(2); // `list tables`, then the table itself
    expect(loaded.stdout).toContain(`table inet ${NFT_TABLE}\n`);
    expect(loaded.stdout).toMatch(/ip saddr @registration_v4 jump walled_garden/);
    expect(loaded.stdout).toMatch(/ip6 saddr @registration_v6 jump walled_garden/);
    // auto-merge joins the two adjacent registration networks into one range.
    expect(loaded.stdout).toContain('elements = { 10.98.0.0-10.99.0.255 }');
    expect(loaded.stdout).toMatch(/ip daddr @apple_apns_v4 tcp dport \{ 443, 5223 \} accept/);
    expect(loaded.stdout).toMatch(/ip daddr @dns_v4 udp dport 53 accept/);
    expect(loaded.stdout).toMatch(/\t\tdrop\n\t}/);
    expect(loaded.stdout).not.toMatch(/2195|2196|5228/);
    // The certificate checks are off unless asked for.
    expect(loaded.stdout).not.toMatch(/dport (80|123)\b/);
  });

  it('with the certificate checks on, loads them: NTP (UDP 123) and OCSP/CRL (TCP 80) to their addresses', async () => {
    const { file } = await rendered(await configFile('nft-load-checks', CONFIGS.certificateChecks!), 'nftables');
    const loaded = await inNamespace(`nft -f '${file}'; nft list table inet ${NFT_TABLE}`);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout).toMatch(/ip daddr @ntp_v4 udp dport 123 accept/);
    expect(loaded.stdout).toMatch(/ip6 daddr @ntp_v6 udp dport 123 accept/);
    expect(loaded.stdout).toMatch(/ip daddr @certificate_revocation_v4 tcp dport 80 accept/);
    expect(loaded.stdout).toMatch(/ip6 daddr @certificate_revocation_v6 tcp dport 80 accept/);
  });
});

describe('enrollgate ports --format iptables / ip6tables', () => {
  it.each(Object.keys(CONFIGS))('%s: iptables-restore --test and ip6tables-restore --test accept the files', async (name) => {
    const config = await configFile(`ipt-${name}`, CONFIGS[name]!);
    const v4 = await rendered(config, 'iptables');
    const v6 = await rendered(config, 'ip6tables');
    const check = await inNamespace(`iptables-restore --test < '${v4.file}'; ip6tables-restore --test < '${v6.file}'`);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stderr).toBe('');
  });

  it.each([
    ['iptables', 'iptables'],
    ['ip6tables', 'ip6tables'],
  ])('%s: loads twice with --noflush, and the hook line in its header adds one jump from FORWARD', async (format, tool) => {
    const { file, text } = await rendered(await configFile(`ipt-load-${format}`, CONFIGS.full!), format);
    // The hook command exactly as the header says to paste it.
    const hook = text.split('\n').find((l) => l.startsWith(`#   ${tool} -C FORWARD`))?.slice(4);
    expect(hook).toBeDefined();
    const loaded = await inNamespace(
      `${tool}-restore --noflush < '${file}'; ${hook}; ${tool}-restore --noflush < '${file}'; ${hook}; ${tool} -S FORWARD; ${tool} -S ${IPTABLES_CHAIN}`,
    );
    expect(loaded.code, loaded.stderr).toBe(0);
    const lines = loaded.stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('-A FORWARD'))).toEqual([`-A FORWARD -j ${IPTABLES_CHAIN}`]);
    const expanded = lines.filter((l) => l.startsWith(`-A ${IPTABLES_CHAIN} `));
    // iptables expands "-s a,b -d c,d" into one rule per pair; a second load replaces, never doubles, them.
    const source = format === 'iptables' ? ['10.99.0.0/24', '10.98.0.0/16'] : ['fd00:99::/64'];
    for (const l of expanded) expect(source.some((s) => l.startsWith(`-A ${IPTABLES_CHAIN} -s ${s} `)), l).toBe(true);
    expect(new Set(expanded).size).toBe(expanded.length);
    expect(expanded.at(-1)).toMatch(/ -j DROP$/);
    expect(expanded.filter((l) => l.endsWith('-j DROP'))).toHaveLength(source.length);
  });
});

describe('enrollgate ports: table and json', () => {
  it('prints the table by default', async () => {
    const r = await cli('ports', '--config', await configFile('table', CONFIGS.full!));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^What devices that are not enrolled yet must reach/);
    expect(r.stdout).toContain('[open]  Google push (FCM), Android devices');
  });

  it('prints the documented JSON, the same as the catalogue for that config', async () => {
    const config = await configFile('json', CONFIGS.full!);
    const r = await cli('ports', '--format', 'json', '--config', config);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(walledGardenJson(walledGarden(loadConfig(config))));
  });
});

describe('enrollgate ports: bad input exits 2 with a clear message', () => {
  const noStack = (r: Run) => expect(r.stderr).not.toMatch(/^\s+at /m);

  it('an unknown --format, before the config is read', async () => {
    const r = await cli('ports', '--format', 'pf', '--config', join(dir, 'missing.yaml'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--format: got "pf"; expected one of table, json, nftables, iptables, ip6tables');
    expect(r.stdout).toBe('');
    noStack(r);
  });

  it('bad walled_garden values, each named with its value', async () => {
    const config = await configFile('bad', { walled_garden: { registration_networks: ['10.99.0.0/33'], dns_servers: ['0.0.0.0'], apns_ipv4: 'narrow' } });
    const r = await cli('ports', '--config', config);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('walled_garden.registration_networks[0]: got "10.99.0.0/33"; expected a network in CIDR form');
    expect(r.stderr).toContain('walled_garden.dns_servers[0]: got "0.0.0.0"; expected an IP address devices can reach');
    expect(r.stderr).toContain('walled_garden.apns_ipv4: got "narrow"; expected one of "apple-network", "apns-ranges"');
    expect(r.stdout).toBe('');
    noStack(r);
  });

  it('arguments and flags it does not take', async () => {
    const config = await configFile('ok', {});
    const extra = await cli('ports', 'nftables', '--config', config);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('unexpected arguments: nftables');
    const flag = await cli('ports', '--user', 'alice', '--config', config);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('ports does not take --user');
    noStack(extra);
    noStack(flag);
  });
});

describe('the walled-garden page and API of a running gateway', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ configure: (doc) => void (doc.walled_garden = CONFIGS.full!.walled_garden) });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('GET /portal/walled-garden: the catalogue as a page, under 10 KB, no script', async () => {
    const page = await call(t.httpUrl, 'GET', '/portal/walled-garden');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(Buffer.byteLength(page.body)).toBeLessThan(10 * 1024);
    expect(page.body).not.toMatch(/<script/i);
    expect(page.body).toContain('<code>10.99.0.0/24, 10.98.0.0/16, fd00:99::/64</code>');
    expect(page.body).toContain('<b>tcp 5228, 5229, 5230, 443</b> to <code>mtalk.google.com');
    expect(page.body).toContain(`<a href="${t.baseUrl}/api/walled-garden">JSON</a>`);
  });

  it('GET /api/walled-garden: the same JSON as `enrollgate ports --format json`', async () => {
    const api = await fetch(`${t.httpUrl}/api/walled-garden`);
    expect(api.status).toBe(200);
    expect(api.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const fromCli = await cli('ports', '--format', 'json', '--config', t.configFile);
    expect(fromCli.code, fromCli.stderr).toBe(0);
    expect(await api.json()).toEqual(JSON.parse(fromCli.stdout));
  });
});
