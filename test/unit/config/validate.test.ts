import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleConfig } from '../../../src/config/example.js';
import { configLocation, loadConfig, MAX_CONFIG_BYTES, MAX_LISTED_PROBLEMS, resolveConfig, validateConfig } from '../../../src/config/load.js';
import { configSchema } from '../../../src/config/schema.js';
import { ConfigError } from '../../../src/errors.js';

/**
 * The configuration is checked once, at start: every problem must name the key
 * path, the bad value (never a secret's) and what is expected.
 */

const INLINE_SECRET = 'inline-Secret-value-7f3a9c';
const ENV_SECRET = 'env-Secret-value-b81d22e0';
const FILE_SECRET = 'file-Secret-value-4c0e5a19';

/** The problems validateConfig reports for a document (fails the test when there are none). */
function problemsOf(doc: unknown): string[] {
  try {
    validateConfig(doc);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    // The message lists every problem, so the CLI can print it as it is.
    for (const p of e.problems) expect(e.message).toContain(p);
    return [...e.problems];
  }
  throw new Error(`expected ${JSON.stringify(doc)} to be rejected`);
}

/** The one problem a document has, checked for path, shown value and expectation. */
function expectProblem(doc: unknown, path: string, got: string, expected: string | RegExp): string {
  const problems = problemsOf(doc);
  expect(problems).toHaveLength(1);
  const [problem] = problems as [string];
  expect(problem.startsWith(`${path}: got ${got}; expected `), problem).toBe(true);
  const expectation = problem.slice(`${path}: got ${got}; expected `.length);
  if (typeof expected === 'string') expect(expectation).toContain(expected);
  else expect(expectation).toMatch(expected);
  return problem;
}

const nas = (extra: Record<string, unknown> = {}) => ({ name: 'wlc-1', address: '10.0.0.0/24', secret: INLINE_SECRET, ...extra });
const ldap = (extra: Record<string, unknown> = {}) => ({
  url: 'ldaps://ldap.example.org:636',
  bind_dn: 'cn=portal,dc=example,dc=org',
  bind_password: INLINE_SECRET,
  base_dn: 'ou=people,dc=example,dc=org',
  ...extra,
});

describe('validateConfig: every problem names path, value and expectation', () => {
  it('wrong types', () => {
    expectProblem({ portal: { http: { port: '8080' } } }, 'portal.http.port', '"8080"', 'a port number from 1 to 65535');
    expectProblem({ portal: { trust_proxy: 'yes' } }, 'portal.trust_proxy', '"yes"', 'true or false');
    expectProblem({ session: { daily_cutoff: 240 } }, 'session.daily_cutoff', '240', 'HH:MM');
    expectProblem({ radius: 'on' }, 'radius', '"on"', 'a mapping');
    expectProblem({ radius: { clients: 'wlc-1' } }, 'radius.clients', '"wlc-1"', 'a list');
    expectProblem({ log: { level: 'verbose' } }, 'log.level', '"verbose"', 'one of "fatal", "error", "warn", "info", "debug", "trace"');
    expectProblem([1, 2], '(top level)', '[1,2]', 'a mapping');
  });

  it('ports out of range or not whole numbers', () => {
    expectProblem({ radius: { auth_port: 70000 } }, 'radius.auth_port', '70000', 'a port number from 1 to 65535');
    expectProblem({ radius: { acct_port: 0 } }, 'radius.acct_port', '0', 'a port number from 1 to 65535');
    expectProblem({ portal: { https: { port: -443 } } }, 'portal.https.port', '-443', 'a port number from 1 to 65535');
    expectProblem({ portal: { http: { port: 8080.5 } } }, 'portal.http.port', '8080.5', 'a port number from 1 to 65535');
    expectProblem({ portal: { flow_ttl_seconds: 10 } }, 'portal.flow_ttl_seconds', '10', 'at least 60');
  });

  it('a time zone that does not exist', () => {
    expectProblem({ session: { time_zone: 'Mars/Olympus' } }, 'session.time_zone', '"Mars/Olympus"', 'an IANA time zone');
  });

  it.each(['25:00', '4am', '4:00', '04:60', ''])('a daily cut-off of %j', (cutoff) => {
    expectProblem({ session: { daily_cutoff: cutoff } }, 'session.daily_cutoff', JSON.stringify(cutoff), 'a 24-hour time HH:MM');
  });

  it.each(['/portal', 'wifi.example.org', 'https://wifi.example.org/?next=1', 'https://wifi.example.org/#top', 'javascript:alert(1)', 'ftp://wifi.example.org', 'https://u:p@wifi.example.org'])(
    'a base_url of %j',
    (url) => {
      expectProblem({ portal: { base_url: url } }, 'portal.base_url', JSON.stringify(url), 'an absolute http(s) URL without query');
    },
  );

  it.each(['10.0.0.0/33', '10.0.0.999', '10.0.0.0/', '10.0.0.0/24/1', 'fd00::/129', 'router.example.org'])('a NAS address of %j', (address) => {
    expectProblem({ radius: { clients: [nas(), nas({ name: 'wlc-2', address })] } }, 'radius.clients[1].address', JSON.stringify(address), 'an IP address or CIDR');
  });

  it('accepts IPs and CIDRs of both families', () => {
    for (const address of ['10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', 'fd00::1', 'fd00::/64']) {
      expect(validateConfig({ radius: { clients: [nas({ address })] } }).radius.clients[0]!.address).toBe(address);
    }
  });

  it('unknown and misspelt keys, with the right spelling and the keys allowed', () => {
    const [client] = problemsOf({ radius: { client: [nas()] } }) as [string];
    expect(client).toMatch(/^radius\.client: unknown key \(did you mean "clients"\?\); expected one of host, auth_port, acct_port, workers, clients, max_in_flight, shared_retransmission_cache, store_deadline_ms, fail_mode, fail_open_max_age_seconds$/);
    const [top] = problemsOf({ radiuss: {} }) as [string];
    expect(top).toMatch(/^radiuss: unknown key \(did you mean "radius"\?\); expected one of log, session, portal, radius/);
    const problems = problemsOf({ portal: { baseurl: 'https://x.example.org' }, directory: { file: { paht: 'u.yaml' } } });
    expect(problems).toEqual([
      expect.stringMatching(/^portal\.baseurl: unknown key \(did you mean "base_url"\?\); expected one of base_url, /),
      expect.stringMatching(/^directory\.file\.paht: unknown key \(did you mean "path"\?\); expected one of path, required_group$/),
    ]);
  });

  it('a misspelt key whose value is a secret shows neither the value nor lets the secret pass', () => {
    const problems = problemsOf({ radius: { clients: [{ name: 'wlc-1', address: '10.0.0.1', secert: INLINE_SECRET }] } });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^radius\.clients\[0\]\.secert: unknown key \(did you mean "secret"\?\)/),
        expect.stringMatching(/^radius\.clients\[0\]\.secret: got nothing; expected a secret/),
      ]),
    );
    expect(problems.join('\n')).not.toContain(INLINE_SECRET);
  });

  it('directory.kind: ldap without an ldap section', () => {
    expectProblem({ directory: { kind: 'ldap' } }, 'directory.ldap', 'nothing', 'an ldap section');
    expectProblem({ directory: { kind: 'ldap', ldap: null } }, 'directory.ldap', 'nothing', 'because kind is ldap');
    expect(validateConfig({ directory: { kind: 'ldap', ldap: ldap() } }).directory.ldap?.user_attribute).toBe('uid');
  });

  it('LDAP settings', () => {
    expectProblem({ directory: { kind: 'ldap', ldap: ldap({ url: 'http://ldap.example.org' }) } }, 'directory.ldap.url', '"http://ldap.example.org"', 'ldap://host:port or ldaps://host:port');
    expectProblem({ directory: { kind: 'ldap', ldap: ldap({ user_attribute: '1uid' }) } }, 'directory.ldap.user_attribute', '"1uid"', 'an LDAP attribute name');
    expectProblem({ directory: { kind: 'ldap', ldap: ldap({ base_dn: '' }) } }, 'directory.ldap.base_dn', '""', 'a DN');
    expectProblem({ directory: { kind: 'ldap', ldap: ldap({ timeout_ms: 10 }) } }, 'directory.ldap.timeout_ms', '10', 'at least 100');
  });

  it('no_session.answer: vlan without a vlan', () => {
    expectProblem({ radius: { clients: [nas({ no_session: { answer: 'vlan' } })] } }, 'radius.clients[0].no_session.vlan', 'nothing', 'a VLAN id or name, because answer is vlan');
    expectProblem({ radius: { clients: [nas({ no_session: { answer: 'vlan', vlan: 'vlan 99' } })] } }, 'radius.clients[0].no_session.vlan', '"vlan 99"', 'a VLAN id or name');
    expectProblem({ radius: { clients: [nas({ no_session: { answer: 'accept' } })] } }, 'radius.clients[0].no_session.answer', '"accept"', 'one of "reject", "vlan"');
    const ok = validateConfig({ radius: { clients: [nas({ no_session: { answer: 'vlan', vlan: '99' } })] } });
    expect(ok.radius.clients[0]!.no_session).toEqual({ answer: 'vlan', vlan: '99' });
  });

  it('the Android agent needs exactly one of file and url', () => {
    expectProblem({ android: { agent: { version: '4.2.0', file: 'agent.apk', url: 'https://play.example.org/agent' } } }, 'android.agent.url', '"https://play.example.org/agent"', 'exactly one of file or url');
    expectProblem({ android: { agent: { version: '4.2.0' } } }, 'android.agent.file', 'nothing', 'exactly one of file (the APK) or url');
    expectProblem({ android: { agent: { file: 'agent.apk' } } }, 'android.agent.version', 'nothing', 'a string');
    expectProblem({ android: { agent: { version: '1', url: 'https://play.example.org/a', sha256: 'abc' } } }, 'android.agent.sha256', '"abc"', '64 hexadecimal digits');
    expect(validateConfig({ android: { agent: { version: '4.2.0', file: 'agent.apk' } } }).android.agent?.name).toBe('Device agent');
  });

  it('reports every problem at once, in one message', () => {
    const problems = problemsOf({
      session: { daily_cutoff: '4am', time_zone: 'Mars/Olympus' },
      portal: { base_url: 'javascript:alert(1)', http: { port: 0 } },
      radius: { client: [], auth_port: 'radius' },
    });
    expect(problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining(['session.daily_cutoff', 'session.time_zone', 'portal.base_url', 'portal.http.port', 'radius.auth_port', 'radius.client']),
    );
    expect(problems).toHaveLength(6);
  });
});

describe('validateConfig: vendor profiles and dynamic authorization', () => {
  it.each([
    [{ profile: 'generic', no_session: { answer: 'redirect', redirect_acl: 'ACL-R' } }, 'radius.clients[0].no_session.answer', 'redirect is for profile cisco-wlc'],
    [{ profile: 'cisco-wlc', no_session: { answer: 'role', role: 'guest' } }, 'radius.clients[0].no_session.answer', 'role is for profile aruba'],
    [{ profile: 'cisco-wlc', no_session: { answer: 'redirect' } }, 'radius.clients[0].no_session.redirect_acl', 'the name of the redirect ACL'],
    [{ profile: 'aruba', no_session: { answer: 'role' } }, 'radius.clients[0].no_session.role', 'a role name'],
    [{ profile: 'juniper' }, 'radius.clients[0].profile', 'generic'],
    [{ dynamic_authorization: { enabled: true } }, 'radius.clients[0].dynamic_authorization.address', 'the router is given as a CIDR'],
    [{ dynamic_authorization: { enabled: true, address: '10.0.0.1', port: 0 } }, 'radius.clients[0].dynamic_authorization.port', 'port'],
    [{ with_session: { idle_timeout_seconds: 5 } }, 'radius.clients[0].with_session.idle_timeout_seconds', ''],
  ])('%j', (extra, path, expected) => {
    const problems = problemsOf({ radius: { clients: [nas(extra)] } });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${path.replace(/[.[\]]/g, '\\$&')}: got .*; expected `));
    expect(problems[0]).toContain(expected);
  });
});

describe('validateConfig: enrollment policy and iOS Wi-Fi networks', () => {
  const wifi = (extra: Record<string, unknown>) => ({ ios: { wifi: [{ ssid: 'Staff', ...extra }] } });

  it('defaults: every platform may enroll, three devices a person, randomised MACs accepted (per-network private addresses are stable), no networks', () => {
    const c = validateConfig({});
    expect(c.enrollment).toEqual({
      device_limit: 3,
      group_limits: [],
      platforms: { ios: true, macos: true, android: true, windows: true, chromeos: true, linux: true },
      min_os_version: {},
      randomised_macs: 'accept',
    });
    expect(c.ios.wifi).toEqual([]);
    expect(c.ios.profile).toMatchObject({ identifier: 'local.enrollgate', link_ttl_seconds: 300 });
  });

  it('platforms: one switch per platform, the others keep their default; an unknown platform or a non-boolean names its path', () => {
    expect(validateConfig({ enrollment: { platforms: { windows: false } } }).enrollment.platforms).toEqual({ ios: true, macos: true, android: true, windows: false, chromeos: true, linux: true });
    expect(problemsOf({ enrollment: { platforms: { blackberry: true } } })).toEqual([
      'enrollment.platforms.blackberry: unknown key; expected one of ios, macos, android, windows, chromeos, linux',
    ]);
    expectProblem({ enrollment: { platforms: { ios: 'yes' } } }, 'enrollment.platforms.ios', '"yes"', 'true or false');
  });

  it('bad limits and versions', () => {
    expectProblem({ enrollment: { device_limit: -1 } }, 'enrollment.device_limit', '-1', 'from 0 (unlimited) to 1000');
    expectProblem({ enrollment: { group_limits: [{ group: 'staff', limit: 2.5 }] } }, 'enrollment.group_limits[0].limit', '2.5', 'a whole number of devices');
    expectProblem({ enrollment: { min_os_version: { ios: 16.4 } } }, 'enrollment.min_os_version.ios', '16.4', 'a version such as "16" or "16.4" (quoted)');
    expectProblem({ enrollment: { min_os_version: { android: 'ten' } } }, 'enrollment.min_os_version.android', '"ten"', 'a version');
    expectProblem({ enrollment: { randomised_macs: 'yes' } }, 'enrollment.randomised_macs', '"yes"', 'one of "refuse", "accept"');
  });

  it('each security type asks for what it needs', () => {
    expectProblem(wifi({ security: 'wpa2-personal' }), 'ios.wifi[0].password', 'nothing', 'the pre-shared key, because security is wpa2-personal');
    expectProblem(wifi({ security: 'eap-peap' }), 'ios.wifi[0].server_names', 'nothing', 'at least one RADIUS server name');
    expectProblem(wifi({ security: 'open', password: 'some-pass-phrase' }), 'ios.wifi[0].password', '(hidden)', 'nothing: password is for wpa2-personal');
    expectProblem(wifi({ security: 'eap-tls', server_names: ['radius.example.org'], outer_identity: 'anon' }), 'ios.wifi[0].outer_identity', '"anon"', 'for eap-peap and eap-ttls');
    expectProblem(wifi({ security: 'wep' }), 'ios.wifi[0].security', '"wep"', 'one of "open"');
    // The same network twice: one payload would be dropped by the device, and its files would clash.
    expectProblem(
      { ios: { wifi: [{ ssid: 'Staff', security: 'open' }, { ssid: 'Guest', security: 'open' }, { ssid: 'Staff', security: 'wpa2-personal', password: 'some-pass-phrase' }] } },
      'ios.wifi[2].ssid',
      '"Staff"',
      'an SSID no other network here has: ios.wifi[0] is this network already',
    );
    // SSIDs differ by case: two networks.
    expect(validateConfig({ ios: { wifi: [{ ssid: 'Staff', security: 'open' }, { ssid: 'staff', security: 'open' }] } }).ios.wifi).toHaveLength(2);
    expectProblem({ ios: { wifi: [{ ssid: 'x'.repeat(33), security: 'open' }] } }, 'ios.wifi[0].ssid', `"${'x'.repeat(33)}"`, 'an SSID of 1 to 32 bytes');
    // A newline would break the pasted nmcli line and a C0 control the XML profiles: refused, as is DEL.
    for (const bad of ['Staff\nWi-Fi', 'Staff\u0001', 'Staff\u007f']) {
      expectProblem({ ios: { wifi: [{ ssid: bad, security: 'open' }] } }, 'ios.wifi[0].ssid', JSON.stringify(bad), 'an SSID without control characters');
    }
    expectProblem(wifi({ security: 'eap-ttls', server_names: ['radius server'] }), 'ios.wifi[0].server_names[0]', '"radius server"', 'a RADIUS server certificate name');
  });

  it('a group DN written unquoted in a flow mapping is refused, each stray part named by its path', () => {
    // YAML splits `{ group: cn=it-staff,ou=groups,... }` at the commas: `group: cn=it-staff`
    // and keys `ou=groups`, `dc=example`, `dc=org` without values. None may be dropped silently.
    const doc: unknown = parse('enrollment:\n  group_limits: [{ group: cn=it-staff,ou=groups,dc=example,dc=org, limit: 0 }]\n');
    const problems = problemsOf(doc);
    expect(problems).toEqual(
      ['ou=groups', 'dc=example', 'dc=org'].map(
        (k) => `enrollment.group_limits[0].${k}: unknown key (a part of a DN: inside { } or [ ] an unquoted DN splits at its commas; quote the whole DN); expected one of group, limit`,
      ),
    );
    const quoted = validateConfig(parse('enrollment:\n  group_limits: [{ group: "cn=it-staff,ou=groups,dc=example,dc=org", limit: 0 }]\n'));
    expect(quoted.enrollment.group_limits).toEqual([{ group: 'cn=it-staff,ou=groups,dc=example,dc=org', limit: 0 }]);
  });

  it('with eap.enabled, every enterprise network must use a method the gateway answers, and say why not', () => {
    const eap = (w: Record<string, unknown>, methods?: string[]) => ({ ...wifi({ server_names: ['radius.example.org'], ...w }), eap: { enabled: true, ...(methods ? { methods } : {}) } });
    // PEAP with the users file: answered once eap.methods offers it.
    expectProblem(eap({ security: 'eap-peap' }), 'eap.methods', '["tls","ttls"]', 'a list with peap: ios.wifi[0] (Staff) is eap-peap');
    expect(validateConfig(eap({ security: 'eap-peap' }, ['peap', 'tls'])).eap.methods).toEqual(['peap', 'tls']);
    expectProblem(eap({ security: 'eap-ttls' }), 'ios.wifi[0].ttls_inner', '"mschapv2"', 'pap: with eap.enabled the gateway answers EAP-TTLS');
    expectProblem(eap({ security: 'eap-tls' }, ['ttls']), 'eap.methods', '["ttls"]', 'a list with tls: ios.wifi[0] (Staff) is eap-tls');
    expect(validateConfig(eap({ security: 'eap-ttls', ttls_inner: 'pap' })).eap.methods).toEqual(['tls', 'ttls']);
    // Without eap.enabled another RADIUS server answers them: PEAP and TTLS-MSCHAPv2 stay allowed.
    expect(validateConfig(wifi({ security: 'eap-peap', server_names: ['radius.example.org'] })).ios.wifi[0]!.security).toBe('eap-peap');
  });

  it('passpoint: off by default; when on, an FQDN, well-formed OIs and realm, EAP-TLS only, and the gateway answering EAP-TLS, each refusal saying why', () => {
    expect(validateConfig({}).passpoint).toEqual({ enabled: false, roaming_consortium_ois: [], method: 'eap-tls' });
    const on = (p: Record<string, unknown>, eap: Record<string, unknown> = { enabled: true }) => ({ passpoint: { enabled: true, fqdn: 'wifi.example.org', ...p }, eap });
    expect(validateConfig(on({ roaming_consortium_ois: ['001BC5', '5a03ba0000'] })).passpoint).toMatchObject({ fqdn: 'wifi.example.org', roaming_consortium_ois: ['001BC5', '5a03ba0000'] });
    expectProblem({ passpoint: { enabled: true }, eap: { enabled: true } }, 'passpoint.fqdn', 'nothing', "the home provider's domain, such as wifi.example.org: required with enabled: true");
    expectProblem(on({ fqdn: 'localhost' }), 'passpoint.fqdn', '"localhost"', 'a domain name such as wifi.example.org');
    expectProblem(on({ fqdn: 'wifi.example.org/x' }), 'passpoint.fqdn', '"wifi.example.org/x"', 'a domain name such as wifi.example.org');
    expectProblem(on({ realm: 'not a realm' }), 'passpoint.realm', '"not a realm"', 'a realm such as example.org');
    expectProblem(on({ roaming_consortium_ois: ['5a03ba00'] }), 'passpoint.roaming_consortium_ois[0]', '"5a03ba00"', 'a roaming consortium OI of 3 or 5 octets in hexadecimal');
    expectProblem(on({ roaming_consortium_ois: ['00xxc5'] }), 'passpoint.roaming_consortium_ois[0]', '"00xxc5"', 'a roaming consortium OI of 3 or 5 octets');
    expectProblem(on({ roaming_consortium_ois: [0x001bc5] }), 'passpoint.roaming_consortium_ois[0]', '7109', 'a roaming consortium OI of 3 or 5 octets in hexadecimal, such as "001bc5" or "5a03ba0000" (quoted)');
    expectProblem(on({ roaming_consortium_ois: ['001bc5', '001BC5'] }), 'passpoint.roaming_consortium_ois', '["001bc5","001BC5"]', 'each OI once');
    expectProblem(on({ friendly_name: ' ' }), 'passpoint.friendly_name', '" "', 'a name of 1 to 255 bytes');
    expectProblem(on({ method: 'eap-ttls' }), 'passpoint.method', '"eap-ttls"', /^eap-tls: .*EAP-TTLS would put the person's password in the file, and the portal keeps no password/);
    expectProblem(on({}, { enabled: false }), 'passpoint.enabled', 'true', 'false, or turn on eap.enabled with tls in eap.methods');
    expectProblem(on({}, { enabled: true, methods: ['ttls'] }), 'passpoint.enabled', 'true', 'false, or turn on eap.enabled with tls in eap.methods');
    // Off, nothing else is required.
    expect(validateConfig({ passpoint: { enabled: false } }).passpoint.enabled).toBe(false);
  });

  it('with eap.enabled and an LDAP directory, PEAP is refused, saying why and what to use instead', () => {
    const ldap = { kind: 'ldap', ldap: { url: 'ldaps://ldap.example.org', bind_dn: 'cn=svc,dc=example,dc=org', bind_password: 'a-long-bind-password', base_dn: 'ou=people,dc=example,dc=org' } };
    const config = (w: Record<string, unknown>, methods: string[]) => ({ ...wifi({ server_names: ['radius.example.org'], ...w }), directory: ldap, eap: { enabled: true, methods } });
    expectProblem(config({ security: 'eap-peap' }, ['tls', 'ttls']), 'ios.wifi[0].security', '"eap-peap"', /^eap-tls, or eap-ttls with ttls_inner: pap: .*directory\.kind ldap.*NT hash, which an LDAP bind cannot check/);
    expectProblem(config({ security: 'eap-ttls', ttls_inner: 'pap' }, ['ttls', 'peap']), 'eap.methods', '["ttls","peap"]', /^a list without peap: with directory\.kind ldap .*an LDAP bind cannot check\); offer ttls/);
    expect(validateConfig(config({ security: 'eap-ttls', ttls_inner: 'pap' }, ['ttls'])).eap.methods).toEqual(['ttls']);
    // Without eap.enabled another RADIUS server answers PEAP: allowed with any directory.
    expect(validateConfig({ ...config({ security: 'eap-peap' }, ['tls']), eap: { enabled: false } }).ios.wifi[0]!.security).toBe('eap-peap');
  });

  it('eap.methods takes peap and names it in its message', () => {
    expect(validateConfig({ eap: { methods: ['peap'] } }).eap.methods).toEqual(['peap']);
    expectProblem({ eap: { methods: ['md5'] } }, 'eap.methods[0]', '"md5"', /or peap \(PEAPv0 with MSCHAPv2, users file with nt_hash only\)/);
  });

  it('a valid enterprise network keeps its settings', () => {
    const c = validateConfig(wifi({ security: 'eap-ttls', ttls_inner: 'pap', server_names: ['radius.example.org'], outer_identity: 'anonymous@example.org' }));
    expect(c.ios.wifi[0]).toMatchObject({ ssid: 'Staff', security: 'eap-ttls', ttls_inner: 'pap', hidden: false, auto_join: true });
  });
});

describe('validateConfig: the walled garden', () => {
  it('defaults: nothing configured, Apple network, retired APNs ports closed', () => {
    expect(validateConfig({}).walled_garden).toEqual({
      portal_addresses: [],
      dns_servers: [],
      registration_networks: [],
      apns_ipv4: 'apple-network',
      include_retired_apns: false,
      certificate_checks: {
        enabled: false,
        revocation_hosts: ['ocsp.digicert.com', 'crl3.digicert.com', 'crl4.digicert.com', 'ocsp.sectigo.com', 'crl.sectigo.com', '*.c.lencr.org'],
        ntp_servers: ['time.apple.com', 'time.android.com', 'time.windows.com'],
      },
    });
  });

  it('keeps addresses and networks of both families', () => {
    const wg = { portal_addresses: ['10.99.0.1', 'fd00:99::1'], dns_servers: ['10.99.0.53'], registration_networks: ['10.99.0.0/24', 'fd00:99::/64', '10.98.0.7/32'] };
    expect(validateConfig({ walled_garden: wg }).walled_garden).toMatchObject(wg);
  });

  it.each(['0.0.0.0', '::', 'wifi.example.org', '10.99.0.999', 'fe80::1%eth0', '10.99.0.0/24', ''])('a portal address or DNS server of %j', (value) => {
    const expected = 'an IP address devices can reach, such as 10.99.0.1 or fd00:99::1';
    expectProblem({ walled_garden: { portal_addresses: ['10.99.0.1', value] } }, 'walled_garden.portal_addresses[1]', JSON.stringify(value), expected);
    expectProblem({ walled_garden: { dns_servers: [value] } }, 'walled_garden.dns_servers[0]', JSON.stringify(value), expected);
  });

  it.each(['10.99.0.0', '10.99.0.0/33', '10.99.0.0/', '10.99.0.0/24/1', 'fd00::/129', 'fe80::%eth0/64', '10.99.0.0/x', 'vlan99'])('a registration network of %j', (value) => {
    expectProblem({ walled_garden: { registration_networks: [value] } }, 'walled_garden.registration_networks[0]', JSON.stringify(value), 'a network in CIDR form, such as 10.99.0.0/24');
  });

  it('wrong types and unknown keys', () => {
    expectProblem({ walled_garden: { dns_servers: '10.99.0.53' } }, 'walled_garden.dns_servers', '"10.99.0.53"', 'a list');
    expectProblem({ walled_garden: { registration_networks: [24] } }, 'walled_garden.registration_networks[0]', '24', 'a network in CIDR form');
    expectProblem({ walled_garden: { apns_ipv4: 'narrow' } }, 'walled_garden.apns_ipv4', '"narrow"', 'one of "apple-network", "apns-ranges"');
    expectProblem({ walled_garden: { include_retired_apns: 'yes' } }, 'walled_garden.include_retired_apns', '"yes"', 'true or false');
    const [unknown] = problemsOf({ walled_garden: { registration_network: '10.99.0.0/24' } }) as [string];
    expect(unknown).toMatch(/^walled_garden\.registration_network: unknown key \(did you mean "registration_networks"\?\)/);
  });
});

describe('validateConfig: secrets never appear in messages', () => {
  it.each([
    ['a number', 1234567890123456, '1234567890123456'],
    ['a list', [INLINE_SECRET], INLINE_SECRET],
    ['a mapping with an unknown key', { value: INLINE_SECRET }, INLINE_SECRET],
    ['an env reference with something else beside it', { env: 'WLC1_SECRET', value: INLINE_SECRET }, INLINE_SECRET],
    ['a secret pasted where the variable name goes', { env: 'p@ss w0rd!' }, 'p@ss w0rd!'],
    ['a boolean', true, 'true'],
  ])('a NAS secret given as %s shows "(hidden)"', (_what, secret, leaked) => {
    const problems = problemsOf({ radius: { clients: [nas({ secret })] } });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^radius\.clients\[0\]\.secret(\.env)?: got (an unknown key )?\(hidden\); expected /);
    expect(problems[0]).not.toContain(leaked);
  });

  it('an empty inline secret is refused, hidden too', () => {
    expectProblem({ radius: { clients: [nas({ secret: '' })] } }, 'radius.clients[0].secret', '(hidden)', 'a non-empty secret');
  });

  it('an LDAP bind password of the wrong type shows "(hidden)"', () => {
    const problem = expectProblem({ directory: { kind: 'ldap', ldap: ldap({ bind_password: [INLINE_SECRET] }) } }, 'directory.ldap.bind_password', '(hidden)', 'a secret: a non-empty string, { env: VARIABLE } or { file: path }');
    expect(problem).not.toContain(INLINE_SECRET);
  });

  it('a section of the wrong shape shows its content with the secrets hidden', () => {
    const problem = expectProblem({ radius: { clients: nas() } }, 'radius.clients', '{"name":"wlc-1","address":"10.0.0.0/24","secret":"(hidden)"}', 'a list');
    expect(problem).not.toContain(INLINE_SECRET);
    const ldapProblem = problemsOf({ directory: { kind: 'ldap', ldap: [ldap()] } }).join('\n');
    expect(ldapProblem).toContain('directory.ldap: got ');
    expect(ldapProblem).not.toContain(INLINE_SECRET);
  });

  it('a Wi-Fi pre-shared key of the wrong length is refused without showing it', () => {
    const raw = validateConfig({ ios: { wifi: [{ ssid: 'Staff', security: 'wpa2-personal', password: 'short' }] } });
    let message = '';
    try {
      resolveConfig(raw, '/tmp/enrollgate.yaml', {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('ios.wifi[0].password: got 5 characters (hidden); expected 8 to 63 printable ASCII characters');
    expect(message).not.toContain('short');
  });

  it('a missing secret says so (there is no value to hide)', () => {
    expectProblem({ radius: { clients: [{ name: 'wlc-1', address: '10.0.0.1' }] } }, 'radius.clients[0].secret', 'nothing', 'a secret');
  });
});

describe('validateConfig: defaults', () => {
  const defaults = validateConfig({});

  it('an empty document is the defaults', () => {
    expect(defaults.session).toEqual({ daily_cutoff: '04:00', time_zone: 'UTC' });
    expect(defaults.portal.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(defaults.radius).toEqual({
      host: '127.0.0.1',
      auth_port: 1812,
      acct_port: 1813,
      workers: 1,
      clients: [],
      max_in_flight: 4096,
      shared_retransmission_cache: false,
      store_deadline_ms: 1000,
      fail_mode: 'closed',
      fail_open_max_age_seconds: 14_400,
    });
    expect(defaults.directory.kind).toBe('file');
    expect(defaults.android.agent).toBeUndefined();
    expect(validateConfig(null)).toEqual(defaults);
    expect(validateConfig(undefined)).toEqual(defaults);
  });

  it('null sections and null keys are treated as their defaults', () => {
    expect(validateConfig({ log: null, session: null, portal: null, radius: null, store: null, directory: null, android: null, pki: null })).toEqual(defaults);
    expect(validateConfig({ portal: { http: null, base_url: null }, radius: { clients: null } })).toEqual(defaults);
    expect(validateConfig({ android: { agent: null } })).toEqual(defaults);
  });

  it('an unknown key with no value is still an unknown key', () => {
    expect(problemsOf({ portal: { base_ur: null } })).toEqual([expect.stringMatching(/^portal\.base_ur: unknown key \(did you mean "base_url"\?\)/)]);
    expect(problemsOf({ radius: { clients: [nas({ secrt: null })] } })).toEqual([expect.stringMatching(/^radius\.clients\[0\]\.secrt: unknown key/)]);
  });

  it('fills defaults inside list entries', () => {
    const { clients } = validateConfig({ radius: { clients: [nas()] } }).radius;
    expect(clients[0]).toMatchObject({ require_message_authenticator: true, no_session: { answer: 'reject' } });
  });
});

describe('exampleConfig (what init writes)', () => {
  it('parses and validates to exactly the defaults', () => {
    const text = exampleConfig({}, 'a header\n\nwith a blank line');
    expect(text.startsWith('# a header\n#\n# with a blank line\n')).toBe(true);
    expect(validateConfig(parse(text))).toEqual(validateConfig({}));
  });

  it('quotes values a YAML 1.1 reader would misread', () => {
    // Unquoted, 04:00 is 240 (sexagesimal) to PyYAML and other YAML 1.1 tools.
    expect(exampleConfig({}, 'h')).toContain('daily_cutoff: "04:00"');
  });

  it('writes the values it is given, and they validate', () => {
    const text = exampleConfig(
      {
        session: { daily_cutoff: '03:30', time_zone: 'Europe/Berlin' },
        radius: { host: '0.0.0.0', clients: [nas({ secret: { file: 'secrets/wlc-1' }, no_session: { answer: 'vlan', vlan: '99' } })] },
      },
      'h',
    );
    expect(text).not.toContain(INLINE_SECRET);
    const config = validateConfig(parse(text));
    expect(config.session).toEqual({ daily_cutoff: '03:30', time_zone: 'Europe/Berlin' });
    expect(config.radius.clients).toEqual([
      {
        name: 'wlc-1',
        address: '10.0.0.0/24',
        secret: { file: 'secrets/wlc-1' },
        allow_short_secret: false,
        require_message_authenticator: true,
        profile: 'generic',
        no_session: { answer: 'vlan', vlan: '99' },
        with_session: { terminate_time: false },
        dynamic_authorization: { enabled: false, timeout_ms: 1000, retries: 3 },
      },
    ]);
  });

  it('lists the LDAP and Android keys commented out, ready to fill in', () => {
    const text = exampleConfig({}, 'h');
    for (const key of ['ldap:', 'url:', 'bind_dn:', 'bind_password:', 'base_dn:', 'agent:', 'version:']) {
      expect(text).toMatch(new RegExp(`^\\s*# ${key}`, 'm'));
    }
  });
});

describe('the schema documents itself', () => {
  interface JsonSchema {
    description?: string;
    default?: unknown;
    properties?: Record<string, JsonSchema>;
    items?: JsonSchema;
    anyOf?: JsonSchema[];
  }
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;

  /** Every key of every mapping, with its path; a secret reference's forms ({ env }, { file }) are described by the secret's own description. */
  function keys(s: JsonSchema, path: string): Array<{ path: string; schema: JsonSchema }> {
    const out: Array<{ path: string; schema: JsonSchema }> = [];
    for (const [key, prop] of Object.entries(s.properties ?? {})) {
      const here = path ? `${path}.${key}` : key;
      out.push({ path: here, schema: prop });
      out.push(...keys(prop, here));
      if (prop.items) out.push(...keys(prop.items, `${here}[]`));
    }
    return out;
  }
  const all = keys(schema, '');

  it('has a description for every top-level section', () => {
    const sections = Object.entries(schema.properties ?? {});
    expect(sections.map(([k]) => k)).toEqual(['log', 'session', 'portal', 'radius', 'store', 'directory', 'android', 'passpoint', 'enrollment', 'ios', 'admin', 'audit', 'eap', 'pki', 'walled_garden']);
    expect(sections.filter(([, s]) => !s.description).map(([k]) => k)).toEqual([]);
  });

  it('has a description for every key without a default', () => {
    expect(all.filter((k) => k.schema.default === undefined && !k.schema.description).map((k) => k.path)).toEqual([]);
  });

  it('has a description for every key at all', () => {
    expect(all.length).toBeGreaterThan(40);
    expect(all.filter((k) => !k.schema.description).map((k) => k.path)).toEqual([]);
  });
});

describe('loadConfig and resolveConfig', () => {
  let dir: string;
  const env = { WLC1_SECRET: ENV_SECRET, EMPTY: '' } as NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enrollgate-config-'));
    await writeFile(join(dir, 'wlc2.secret'), `${FILE_SECRET}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'empty.secret'), '', { mode: 0o600 });
    await writeFile(join(dir, 'newline.secret'), '\n', { mode: 0o600 });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  /** The ConfigError a call throws. */
  function errorOf(fn: () => unknown): ConfigError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('expected a ConfigError');
  }

  it('reads secrets inline, from the environment and from files (trailing newline removed)', () => {
    const raw = validateConfig({
      radius: { clients: [nas(), nas({ name: 'wlc-2', address: '10.0.2.0/24', secret: { env: 'WLC1_SECRET' } }), nas({ name: 'wlc-3', address: '10.0.3.0/24', secret: { file: 'wlc2.secret' } })] },
    });
    const config = resolveConfig(raw, join(dir, 'enrollgate.yaml'), env);
    expect(config.radius.clients.map((c) => c.secret)).toEqual([INLINE_SECRET, ENV_SECRET, FILE_SECRET]);
  });

  it('refuses a NAS secret shorter than 16 characters unless allow_short_secret is set, without showing it', () => {
    const raw = validateConfig({ radius: { clients: [nas({ secret: 'short-secret' }), nas({ name: 'old-ap', address: '10.0.9.1', secret: 'tiny', allow_short_secret: true })] } });
    const err = errorOf(() => resolveConfig(raw, join(dir, 'enrollgate.yaml'), env));
    expect(err.problems).toEqual([
      'radius.clients[0].secret: got 12 characters (hidden); expected at least 16 (or set radius.clients[0].allow_short_secret: true, which is unsafe)',
    ]);
    expect(err.message).not.toContain('short-secret');
    const ok = validateConfig({ radius: { clients: [nas({ secret: 'tiny', allow_short_secret: true })] } });
    expect(resolveConfig(ok, join(dir, 'enrollgate.yaml'), env).radius.clients[0]!.secret).toBe('tiny');
  });

  it('refuses a UAM secret or openNDS faskey shorter than 16 characters unless uam.allow_short_secret is set, without showing it', () => {
    const chilli = (uam: Record<string, unknown>) => nas({ name: 'chilli', profile: 'coovachilli', uam: { secret: 'uam-secret12', ...uam } });
    const nds = (uam: Record<string, unknown>) => nas({ name: 'nds', address: '10.8.0.1', uam: { kind: 'opennds', opennds: { faskey: 'faskey123456', gateway_address: '10.7.0.1' }, ...uam } });
    const raw = validateConfig({ radius: { clients: [chilli({}), nds({})] } });
    const err = errorOf(() => resolveConfig(raw, join(dir, 'enrollgate.yaml'), env));
    expect(err.problems).toEqual([
      'radius.clients[0].uam.secret: got 12 characters (hidden); expected at least 16 (or set radius.clients[0].uam.allow_short_secret: true, which is unsafe)',
      'radius.clients[1].uam.opennds.faskey: got 12 characters (hidden); expected at least 16 (or set radius.clients[1].uam.allow_short_secret: true, which is unsafe)',
    ]);
    expect(err.message).not.toContain('uam-secret12');
    expect(err.message).not.toContain('faskey123456');
    // The NAS's own allow_short_secret is about its RADIUS secret only.
    const nasOverride = validateConfig({ radius: { clients: [{ ...chilli({}), allow_short_secret: true }] } });
    expect(errorOf(() => resolveConfig(nasOverride, join(dir, 'enrollgate.yaml'), env)).problems).toHaveLength(1);
    const ok = validateConfig({ radius: { clients: [chilli({ allow_short_secret: true }), nds({ allow_short_secret: true })] } });
    const clients = resolveConfig(ok, join(dir, 'enrollgate.yaml'), env).radius.clients;
    expect([clients[0]!.uam?.secret, clients[1]!.uam?.opennds?.faskey]).toEqual(['uam-secret12', 'faskey123456']);
    // 16 characters, from a file like any secret, need no override.
    const long = validateConfig({ radius: { clients: [chilli({ secret: 'uam-secret-16-ch' }), nds({ opennds: { faskey: { file: 'wlc2.secret' }, gateway_address: '10.7.0.1' } })] } });
    expect(() => resolveConfig(long, join(dir, 'enrollgate.yaml'), env)).not.toThrow();
  });

  it('reads the LDAP bind password the same way', () => {
    const raw = validateConfig({ directory: { kind: 'ldap', ldap: ldap({ bind_password: { env: 'WLC1_SECRET' }, ca_file: 'ldap-ca.pem' }) } });
    const config = resolveConfig(raw, join(dir, 'enrollgate.yaml'), env);
    expect(config.directory.ldap?.bind_password).toBe(ENV_SECRET);
    expect(config.directory.ldap?.ca_file).toBe(join(dir, 'ldap-ca.pem'));
  });

  it('a secret from a missing or empty variable, or a missing or empty file, names the key and the variable or file, never a secret', () => {
    const raw = validateConfig({
      radius: {
        clients: [
          nas(),
          nas({ name: 'b', address: '10.1.0.1', secret: { env: 'NOT_SET_ANYWHERE' } }),
          nas({ name: 'c', address: '10.1.1.1', secret: { env: 'EMPTY' } }),
          nas({ name: 'd', address: '10.1.2.1', secret: { file: 'missing.secret' } }),
          nas({ name: 'e', address: '10.1.3.1', secret: { file: 'empty.secret' } }),
          nas({ name: 'f', address: '10.1.4.1', secret: { file: 'newline.secret' } }),
          nas({ name: 'g', address: '10.1.5.1', secret: { env: 'WLC1_SECRET' } }),
          nas({ name: 'h', address: '10.1.6.1', secret: { file: 'wlc2.secret' } }),
        ],
      },
      directory: { kind: 'ldap', ldap: ldap({ bind_password: { env: 'LDAP_BIND_PASSWORD' } }) },
    });
    const err = errorOf(() => resolveConfig(raw, join(dir, 'enrollgate.yaml'), env));
    expect(err.problems).toEqual([
      expect.stringMatching(/^radius\.clients\[1\]\.secret: environment variable NOT_SET_ANYWHERE is not set or empty$/),
      expect.stringMatching(/^radius\.clients\[2\]\.secret: environment variable EMPTY is not set or empty$/),
      expect.stringMatching(new RegExp(`^radius\\.clients\\[3\\]\\.secret: cannot read secret file ${join(dir, 'missing.secret')}: ENOENT`)),
      expect.stringMatching(new RegExp(`^radius\\.clients\\[4\\]\\.secret: cannot read secret file ${join(dir, 'empty.secret')}: the file is empty$`)),
      expect.stringMatching(new RegExp(`^radius\\.clients\\[5\\]\\.secret: cannot read secret file ${join(dir, 'newline.secret')}: the file is empty$`)),
      expect.stringMatching(/^directory\.ldap\.bind_password: environment variable LDAP_BIND_PASSWORD is not set or empty$/),
    ]);
    for (const secret of [INLINE_SECRET, ENV_SECRET, FILE_SECRET]) expect(err.message).not.toContain(secret);
  });

  it('makes paths absolute relative to the config file, trims base_url, and freezes the result', async () => {
    const path = await file('paths.yaml', 'portal:\n  base_url: https://wifi.example.org/\n');
    const config = loadConfig(path, env);
    expect(config.config_file).toBe(path);
    expect(config.portal.base_url).toBe('https://wifi.example.org');
    expect(config.portal.https.cert_file).toBe(join(dir, '..', 'certs', 'server.pem'));
    expect(config.store.sqlite_file).toBe(join(dir, 'state.sqlite'));
    expect(config.directory.file.path).toBe(join(dir, 'users.yaml'));
    expect(config.pki.ca_key_file).toBe(join(dir, '..', 'certs', 'ca-key.pem'));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.portal.https)).toBe(true);
    expect(Object.isFrozen(config.radius.clients)).toBe(true);
  });

  it('an empty file, or one of comments only, is the defaults', async () => {
    expect(loadConfig(await file('empty.yaml', ''), env).session.daily_cutoff).toBe('04:00');
    expect(loadConfig(await file('comments.yaml', '# nothing here\n'), env).radius.auth_port).toBe(1812);
  });

  it('a section written with its content commented out is the defaults', async () => {
    const config = loadConfig(await file('null-sections.yaml', 'log:\nsession:\n  # daily_cutoff: "05:00"\nandroid:\n  # agent:\n'), env);
    expect(config.session.daily_cutoff).toBe('04:00');
    expect(config.android.agent).toBeUndefined();
  });

  it('reports YAML syntax errors with their place', async () => {
    const path = await file('syntax.yaml', `radius:\n  clients:\n    - name: a\n      secret: "${INLINE_SECRET}\n`);
    const err = errorOf(() => loadConfig(path, env));
    expect(err.message).toContain(`${path} is not valid YAML`);
    expect(err.problems[0]).toMatch(/line \d+, column \d+$/);
    // The lines yaml adds after the first quote the file.
    expect(err.message).not.toContain(INLINE_SECRET);
  });

  it('reports duplicate keys, naming the key and its line', async () => {
    const path = await file('duplicate.yaml', 'radius:\n  host: 127.0.0.1\n  host: 0.0.0.0\n');
    const err = errorOf(() => loadConfig(path, env));
    expect(err.problems).toEqual(['duplicate key host at line 3, column 3: keys must be unique']);
  });

  it('reports an unresolved alias as invalid YAML, not as a crash', async () => {
    const path = await file('alias.yaml', 'session: *nowhere\n');
    const err = errorOf(() => loadConfig(path, env));
    expect(err.message).toMatch(/is not valid YAML:\n {2}Unresolved alias/);
  });

  it('reports schema problems from a file with their paths', async () => {
    const path = await file('bad.yaml', 'session:\n  time_zone: Mars/Olympus\nradius:\n  client: []\n');
    const err = errorOf(() => loadConfig(path, env));
    expect(err.problems).toEqual([
      'session.time_zone: got "Mars/Olympus"; expected an IANA time zone such as Europe/Berlin or UTC',
      expect.stringMatching(/^radius\.client: unknown key/),
    ]);
  });

  it('refuses a file over 1 MiB before reading it, and a device that never ends once past the limit', async () => {
    // 100 MB without writing them: a sparse file. Read whole and parsed, such a file took seconds and gigabytes.
    const path = await file('huge.yaml', '');
    await truncate(path, 100 * 1024 * 1024);
    const started = process.hrtime.bigint();
    const err = errorOf(() => loadConfig(path, env));
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(1000);
    expect(err.message).toBe(`${path} is 104857600 bytes; a config file is at most 1 MiB (1048576 bytes): is it the right file?`);
    // /dev/zero says it has no size: it is refused after MAX_CONFIG_BYTES + 1 bytes, not read forever.
    expect(errorOf(() => loadConfig('/dev/zero', env)).message).toBe('/dev/zero is over 1048576 bytes; a config file is at most 1 MiB (1048576 bytes): is it the right file?');
    // Exactly the limit is read.
    const full = await file('full.yaml', `#${'x'.repeat(MAX_CONFIG_BYTES - 2)}\n`);
    expect(loadConfig(full, env).radius.auth_port).toBe(1812);
  });

  it('lists the first 20 problems and says how many more there are (all of them stay in problems)', async () => {
    const unknown = await file('unknown-keys.yaml', Array.from({ length: 50 }, (_, i) => `key${i}: ${i}`).join('\n'));
    const err = errorOf(() => loadConfig(unknown, env));
    expect(err.problems).toHaveLength(50);
    const lines = err.message.split('\n');
    expect(lines).toEqual(['invalid configuration:', ...err.problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `  ${p}`), '  … and 30 more']);
    // YAML errors the same way, and no line longer than 300 characters (a key can be as long as the file).
    const garbage = await file('garbage.yaml', Array.from({ length: 40 }, () => `a: b: c${'x'.repeat(1000)}`).join('\n'));
    const yamlErr = errorOf(() => loadConfig(garbage, env));
    expect(yamlErr.problems.length).toBeGreaterThan(MAX_LISTED_PROBLEMS);
    const yamlLines = yamlErr.message.split('\n');
    expect(yamlLines).toHaveLength(1 + MAX_LISTED_PROBLEMS + 1);
    expect(yamlLines.at(-1)).toBe(`  … and ${yamlErr.problems.length - MAX_LISTED_PROBLEMS} more`);
    expect(Math.max(...yamlLines.map((l) => l.length))).toBeLessThanOrEqual(302);
  });

  it('finds duplicate keys in one pass: ten times the keys take about ten times as long, not a hundred', async () => {
    // The yaml package's own uniqueKeys compares each key with every earlier one: 60,000 keys took 35 s.
    // Compared with a tenth as many keys rather than with a figure of wall clock (50,000 take
    // about 2 s here, which a machine five times slower would not meet under a fixed 10 s).
    const check = async (count: number) => {
      const keys = Array.from({ length: count }, (_, i) => `k${i}: ${i}`);
      const path = await file(`keys-${count}.yaml`, [...keys, 'k7: again'].join('\n'));
      // CPU time, not wall-clock time: other processes on a busy machine take turns on the
      // core and stretch the clock (a run under load average 12 measured 35 times), not our CPU.
      const started = process.cpuUsage();
      const err = errorOf(() => loadConfig(path, env));
      const used = process.cpuUsage(started);
      const ms = (used.user + used.system) / 1000;
      expect(err.problems).toEqual([`duplicate key k7 at line ${count + 1}, column 1: keys must be unique`]);
      return ms;
    };
    await check(5_000); // once for the JIT and the file cache
    // The fastest of a few runs each: a collection of the garbage or a cold cache can only slow a run down.
    const fastest = async (count: number, runs: number) => {
      let best = Infinity;
      for (let i = 0; i < runs; i++) best = Math.min(best, await check(count));
      return best;
    };
    const tenth = await fastest(5_000, 5);
    const all = await fastest(50_000, 2);
    // 5 to 9 times here (the smaller file pays more of the fixed costs); comparing each key
    // with every earlier one, as the yaml package does, made it about a hundred.
    expect(all).toBeLessThan(20 * tenth);
  });

  it('a missing config file or a directory is a ConfigError naming it', () => {
    expect(errorOf(() => loadConfig(join(dir, 'nope.yaml'), env)).message).toBe(`cannot read config file ${join(dir, 'nope.yaml')}: no such file (ENOENT); \`enrollgate init\` creates one`);
    expect(errorOf(() => loadConfig(dir, env)).message).toContain('it is a directory');
  });
});

describe('configLocation', () => {
  it('takes the flag, else $ENROLLGATE_CONFIG, else ./data/enrollgate.yaml', () => {
    expect(configLocation('/etc/eg.yaml', { ENROLLGATE_CONFIG: '/srv/eg.yaml' })).toEqual({ file: '/etc/eg.yaml', named: true });
    expect(configLocation(undefined, { ENROLLGATE_CONFIG: '/srv/eg.yaml' })).toEqual({ file: '/srv/eg.yaml', named: true });
    expect(configLocation(undefined, {})).toEqual({ file: join(process.cwd(), 'data', 'enrollgate.yaml'), named: false });
    expect(configLocation('rel/eg.yaml', {}).file).toBe(join(process.cwd(), 'rel', 'eg.yaml'));
  });

  it('treats an empty $ENROLLGATE_CONFIG as unset, not as the current directory', () => {
    expect(configLocation(undefined, { ENROLLGATE_CONFIG: '' })).toEqual({ file: join(process.cwd(), 'data', 'enrollgate.yaml'), named: false });
  });
});

describe('store, admin and audit secrets', () => {
  const resolveMessage = (doc: unknown): string => {
    try {
      resolveConfig(validateConfig(doc), '/tmp/enrollgate.yaml', {});
    } catch (err) {
      return (err as Error).message;
    }
    return '';
  };

  it('kind redis needs a redis section; a bad Redis URL is refused without showing it (it may hold the password)', () => {
    expect(problemsOf({ store: { kind: 'redis' } }).join('\n')).toContain('store.redis: got nothing; expected a redis section (url or sentinel), because kind is redis');
    const message = resolveMessage({ store: { kind: 'redis', redis: { url: 'http://user:pw-Secret-1@host' } } });
    expect(message).toContain('store.redis.url: (hidden); expected redis://');
    expect(message).not.toContain('pw-Secret-1');
    const badPrefix = problemsOf({ store: { kind: 'redis', redis: { url: 'redis://h:6379', key_prefix: 'a b' } } }).join('\n');
    expect(badPrefix).toContain('store.redis.key_prefix');
    const resolved = resolveConfig(validateConfig({ store: { kind: 'redis', redis: { url: 'rediss://:pw@redis.example.org:6380/2' } } }), '/tmp/enrollgate.yaml', {});
    expect(resolved.store.redis).toEqual({ url: 'rediss://:pw@redis.example.org:6380/2', key_prefix: 'enrollgate:', connect_timeout_ms: 2000, replica_ack_timeout_ms: 1000 });
  });

  it('Redis through Sentinel: a name and sentinels instead of url (exactly one of the two), each problem named by its path, passwords never shown', () => {
    const sentinels = [{ host: '10.0.0.5' }, { host: 'sentinel-2.example.org', port: 26380 }];
    const both = problemsOf({ store: { kind: 'redis', redis: { url: 'redis://h:6379', sentinel: { name: 'eg', sentinels } } } });
    expect(both).toEqual(['store.redis.sentinel: got (hidden); expected either url or sentinel, not both (url names one server; sentinel finds the primary)']);
    expect(problemsOf({ store: { kind: 'redis', redis: { key_prefix: 'x:' } } })).toEqual([
      'store.redis.url: got nothing; expected a url (one Redis server) or a sentinel section (a primary watched by Redis Sentinel)',
    ]);
    const bad = problemsOf({
      store: { kind: 'redis', redis: { sentinel: { name: 'my master', sentinels: [{ host: 'ok.example.org', port: 70000 }, { host: 'no/slash' }], sentinel_pasword: 'x' } } },
    }).join('\n');
    expect(bad).toContain('store.redis.sentinel.name: got (hidden); expected the name the sentinels monitor the primary under');
    expect(bad).toContain('store.redis.sentinel.sentinels[0].port: got (hidden); expected a port number from 1 to 65535');
    expect(bad).toContain('store.redis.sentinel.sentinels[1].host: got (hidden); expected a host name or IP address');
    expect(bad).toContain('store.redis.sentinel.sentinel_pasword: unknown key (did you mean "sentinel_password"?); expected one of name, sentinels, username');
    expect(problemsOf({ store: { kind: 'redis', redis: { sentinel: { name: 'eg', sentinels: [] } } } }).join('\n')).toContain(
      'store.redis.sentinel.sentinels: got (hidden); expected a list of at least one sentinel ({ host, port }); give all of them, three or more',
    );
    expect(problemsOf({ store: { kind: 'redis', redis: { sentinel: { name: 'eg', sentinels }, min_replicas_ack: -1 } } }).join('\n')).toContain('store.redis.min_replicas_ack');

    const doc = {
      store: {
        kind: 'redis',
        redis: { sentinel: { name: 'eg', sentinels, password: { env: 'REDIS_PW' }, sentinel_password: { env: 'SENTINEL_PW' } }, replica_ack_timeout_ms: 500 },
      },
    };
    const resolved = resolveConfig(validateConfig(doc), '/tmp/enrollgate.yaml', { REDIS_PW: ENV_SECRET, SENTINEL_PW: INLINE_SECRET });
    expect(resolved.store.redis).toEqual({
      key_prefix: 'enrollgate:',
      connect_timeout_ms: 2000,
      replica_ack_timeout_ms: 500,
      sentinel: {
        name: 'eg',
        sentinels: [
          { host: '10.0.0.5', port: 26379 },
          { host: 'sentinel-2.example.org', port: 26380 },
        ],
        password: ENV_SECRET,
        sentinel_password: INLINE_SECRET,
        database: 0,
      },
    });
    const missing = resolveMessage(doc);
    expect(missing).toContain('store.redis.sentinel.password: environment variable REDIS_PW is not set or empty');
    expect(missing).toContain('store.redis.sentinel.sentinel_password: environment variable SENTINEL_PW is not set or empty');
  });

  it('short admin API tokens and audit keys are refused without showing them; token names are unique', () => {
    const message = resolveMessage({
      admin: { api_tokens: [{ name: 'a', role: 'admin', token: 'short-Tok-1' }, { name: 'a', role: 'auditor', token: 'x'.repeat(40) }] },
      audit: { hmac_key: 'short-Key-2' },
    });
    expect(message).toContain('admin.api_tokens[0].token: got 11 characters (hidden); expected at least 32');
    expect(message).toContain('admin.api_tokens[1].name: "a" is used twice');
    expect(message).toContain('audit.hmac_key: got 11 characters (hidden); expected at least 32');
    expect(message).not.toContain('short-Tok-1');
    expect(message).not.toContain('short-Key-2');
    expect(problemsOf({ admin: { api_tokens: [{ name: 'b', role: 'root', token: 'x'.repeat(40) }] } }).join('\n')).toContain('admin.api_tokens[0].role');
  });

  it('NAS names and addresses are unique: an entry below another for its address would never answer (a new secret appended, say)', () => {
    const message = resolveMessage({
      radius: {
        clients: [
          nas({ name: 'wlc', address: '10.0.0.1' }),
          nas({ name: 'wlc-rekeyed', address: '10.0.0.1/32', secret: 'a-Newer-secret-0123456789' }),
          nas({ name: 'wlc', address: '10.0.0.2' }),
          nas({ name: 'v6', address: 'fd00::1' }),
          nas({ name: 'v6-again', address: 'fd00:0:0::1' }),
        ],
      },
    });
    expect(message).toContain('radius.clients[1].address: "10.0.0.1/32" is used twice (radius.clients[0] has it too, and would answer for it)');
    expect(message).toContain('radius.clients[2].name: "wlc" is used twice (radius.clients[0] has it too); expected one name per NAS');
    expect(message).toContain('radius.clients[4].address: "fd00:0:0::1" is used twice (radius.clients[3] has it too');
    expect(message).not.toContain('a-Newer-secret');
    // A host inside another entry's subnet is not a repeat: the more specific entry answers for it.
    expect(resolveMessage({ radius: { clients: [nas({ name: 'aps', address: '10.0.0.0/24' }), nas({ name: 'ap-1', address: '10.0.0.7' })] } })).toBe('');
    // One subnet however it is written: a host address in it, or a prefix with a leading zero.
    const spelled = resolveMessage({
      radius: { clients: [nas({ name: 'aps', address: '10.0.0.0/24' }), nas({ name: 'aps-host', address: '10.0.0.5/24' }), nas({ name: 'aps-zero', address: '10.0.0.0/024' }), nas({ name: 'v6', address: 'fd00::/64' }), nas({ name: 'v6-host', address: 'fd00::9/64' })] },
    });
    expect(spelled).toContain('radius.clients[1].address: "10.0.0.5/24" is used twice (radius.clients[0] has it too');
    expect(spelled).toContain('radius.clients[2].address: "10.0.0.0/024" is used twice (radius.clients[0] has it too');
    expect(spelled).toContain('radius.clients[4].address: "fd00::9/64" is used twice (radius.clients[3] has it too');
    // IPv4 written as IPv4-mapped IPv6: the NAS table takes it for the same source, as closely.
    const mapped = resolveMessage({
      radius: { clients: [nas({ name: 'wlc', address: '10.0.0.1' }), nas({ name: 'wlc-mapped', address: '::ffff:10.0.0.1' }), nas({ name: 'aps', address: '10.1.0.0/24' }), nas({ name: 'aps-mapped', address: '::ffff:10.1.0.0/120' })] },
    });
    expect(mapped).toContain('radius.clients[1].address: "::ffff:10.0.0.1" is used twice (radius.clients[0] has it too');
    expect(mapped).toContain('radius.clients[3].address: "::ffff:10.1.0.0/120" is used twice (radius.clients[2] has it too');
    // …but a mapped /96 (all of IPv4) is not a repeat of one IPv4 host: the host is more specific.
    expect(resolveMessage({ radius: { clients: [nas({ name: 'all-v4', address: '::ffff:0.0.0.0/96' }), nas({ name: 'one', address: '10.0.0.1' })] } })).toBe('');
  });
});
