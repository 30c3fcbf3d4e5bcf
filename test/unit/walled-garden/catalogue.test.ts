import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import { APNS_IPV4_RANGES, APNS_IPV6_RANGES, familyOf, walledGarden, type GardenEntry } from '../../../src/walled-garden/catalogue.js';

/** The walled garden of a config document, through the real schema (defaults and all). */
function gardenOf(doc: Record<string, unknown> = {}) {
  return walledGarden(validateConfig(doc));
}

function entryOf(doc: Record<string, unknown>, id: string): GardenEntry {
  const e = gardenOf(doc).entries.find((x) => x.id === id);
  if (!e) throw new Error(`no entry ${id}`);
  return e;
}

const CONFIGURED = {
  portal: { base_url: 'https://wifi.example.org', http: { host: '0.0.0.0', port: 8080 }, https: { host: '0.0.0.0', port: 8443 } },
  walled_garden: { portal_addresses: ['10.99.0.1', 'fd00:99::1'], dns_servers: ['10.99.0.53'], registration_networks: ['10.99.0.0/24', 'fd00:99::/64'] },
};

describe('walledGarden: the catalogue', () => {
  it('lists the portal, DNS, both push services and the Play Store, then what stays closed', () => {
    expect(gardenOf(CONFIGURED).entries.map((e) => [e.id, e.status, e.open])).toEqual([
      ['portal', 'open', true],
      ['dns', 'open', true],
      ['apple-apns', 'open', true],
      ['google-fcm', 'open', true],
      ['google-play', 'open', true],
      ['certificate-revocation', 'optional', false],
      ['ntp', 'optional', false],
      ['apple-apns-provider', 'informational', false],
      ['apple-apns-legacy', 'retired', false],
    ]);
  });

  it('certificate checks (RFC 8908 §4.1): OCSP/CRL over TCP 80 and NTP over UDP 123, listed but closed by default', () => {
    const revocation = entryOf({}, 'certificate-revocation');
    expect(revocation).toMatchObject({ status: 'optional', open: false, protocols: ['tcp'], ports: [80], cidrs: [] });
    // The default hosts are examples (large public CAs), never Google's, whose front ends answer Android's probe.
    expect(revocation.hostnames).toEqual(['ocsp.digicert.com', 'crl3.digicert.com', 'crl4.digicert.com', 'ocsp.sectigo.com', 'crl.sectigo.com', '*.c.lencr.org']);
    expect(revocation.source).toContain('RFC 8908 §4.1');
    const ntp = entryOf({}, 'ntp');
    expect(ntp).toMatchObject({ status: 'optional', open: false, protocols: ['udp'], ports: [123], cidrs: [], hostnames: ['time.apple.com', 'time.android.com', 'time.windows.com'] });
    expect(gardenOf(CONFIGURED).warnings).toEqual([]);
  });

  it('certificate checks: enabled opens them, addresses and host names apart; the example list is a warning', () => {
    const withExamples = gardenOf({ ...CONFIGURED, walled_garden: { ...CONFIGURED.walled_garden, certificate_checks: { enabled: true } } });
    expect(withExamples.entries.filter((e) => e.status === 'optional').map((e) => [e.id, e.open])).toEqual([
      ['certificate-revocation', true],
      ['ntp', true],
    ]);
    expect(withExamples.warnings).toEqual([
      "walled_garden.certificate_checks.revocation_hosts: the examples; list your portal certificate's OCSP and CRL hosts",
    ]);
    const own = gardenOf({
      ...CONFIGURED,
      walled_garden: {
        ...CONFIGURED.walled_garden,
        certificate_checks: { enabled: true, revocation_hosts: ['ocsp.ca.example.com', '192.0.2.80'], ntp_servers: ['10.99.0.123', 'fd00:99::123', 'ntp.example.org'] },
      },
    });
    expect(own.warnings).toEqual([]);
    expect(own.entries.find((e) => e.id === 'certificate-revocation')).toMatchObject({ open: true, cidrs: ['192.0.2.80'], hostnames: ['ocsp.ca.example.com'] });
    expect(own.entries.find((e) => e.id === 'ntp')).toMatchObject({ open: true, cidrs: ['10.99.0.123', 'fd00:99::123'], hostnames: ['ntp.example.org'] });
  });

  it('certificate checks: a host that is neither a name nor a reachable address is refused, naming it', () => {
    const problems = (checks: Record<string, unknown>) => {
      try {
        validateConfig({ walled_garden: { certificate_checks: checks } });
      } catch (err) {
        return (err as { problems: string[] }).problems;
      }
      return [];
    };
    expect(problems({ revocation_hosts: ['http://ocsp.example.com'], ntp_servers: ['0.0.0.0', 'pool', '*.'] })).toEqual([
      'walled_garden.certificate_checks.revocation_hosts[0]: got "http://ocsp.example.com"; expected a host name such as ocsp.example.com (*.example.com for its subdomains) or an IP address',
      'walled_garden.certificate_checks.ntp_servers[0]: got "0.0.0.0"; expected a host name such as ocsp.example.com (*.example.com for its subdomains) or an IP address',
      'walled_garden.certificate_checks.ntp_servers[1]: got "pool"; expected a host name such as ocsp.example.com (*.example.com for its subdomains) or an IP address',
      'walled_garden.certificate_checks.ntp_servers[2]: got "*."; expected a host name such as ocsp.example.com (*.example.com for its subdomains) or an IP address',
    ]);
    expect(problems({ enabled: 'yes' })).toEqual(['walled_garden.certificate_checks.enabled: got "yes"; expected true or false']);
  });

  it('gives every entry a reason and a source, and ports and protocols', () => {
    for (const e of gardenOf(CONFIGURED).entries) {
      expect(e.why.length, e.id).toBeGreaterThan(10);
      expect(e.source.length, e.id).toBeGreaterThan(5);
      expect(e.ports.length, e.id).toBeGreaterThan(0);
      for (const p of e.ports) expect(Number.isInteger(p) && p > 0 && p < 65536, `${e.id} ${p}`).toBe(true);
      expect(e.protocols.length, e.id).toBeGreaterThan(0);
    }
  });

  it("Apple APNs: TCP 5223 and 443 to Apple's 17.0.0.0/8 and the APNs IPv6 ranges (Apple 102266)", () => {
    const apns = entryOf(CONFIGURED, 'apple-apns');
    expect(apns.protocols).toEqual(['tcp']);
    expect(apns.ports).toEqual([5223, 443]);
    expect(apns.cidrs).toEqual(['17.0.0.0/8', '2620:149:a44::/48', '2403:300:a42::/48', '2403:300:a51::/48', '2a01:b740:a42::/48']);
    expect(apns.hostnames).toEqual([]);
    expect(apns.source).toContain('102266');
  });

  it('apns_ipv4: apns-ranges opens only the ranges Apple lists instead of 17.0.0.0/8', () => {
    const apns = entryOf({ walled_garden: { apns_ipv4: 'apns-ranges' } }, 'apple-apns');
    expect(apns.cidrs).toEqual([...APNS_IPV4_RANGES, ...APNS_IPV6_RANGES]);
    expect(apns.cidrs).toEqual(expect.arrayContaining(['17.249.0.0/16', '17.252.0.0/16', '17.57.144.0/22', '17.188.128.0/18', '17.188.20.0/23']));
    expect(apns.cidrs).not.toContain('17.0.0.0/8');
  });

  it('the provider API (443/2197 to api.push.apple.com) is listed but never opened for devices', () => {
    const provider = entryOf({}, 'apple-apns-provider');
    expect(provider).toMatchObject({ status: 'informational', open: false, ports: [443, 2197], hostnames: ['api.push.apple.com'] });
  });

  it('the legacy binary API (2195/2196) is retired on 31 March 2021 and opened only with include_retired_apns', () => {
    const closed = entryOf({}, 'apple-apns-legacy');
    expect(closed).toMatchObject({ status: 'retired', open: false, ports: [2195, 2196] });
    expect(closed.why).toContain('31 March 2021');
    const opened = entryOf({ walled_garden: { include_retired_apns: true } }, 'apple-apns-legacy');
    expect(opened).toMatchObject({ status: 'retired', open: true });
    expect(opened.cidrs).toContain('17.0.0.0/8');
  });

  it('Google FCM: TCP 5228-5230 and 443 to the Firebase host names, no IP list', () => {
    const fcm = entryOf({}, 'google-fcm');
    expect(fcm.ports).toEqual([5228, 5229, 5230, 443]);
    expect(fcm.cidrs).toEqual([]);
    expect(fcm.hostnames).toEqual(
      expect.arrayContaining(['mtalk.google.com', 'mtalk4.google.com', 'android.apis.google.com', 'device-provisioning.googleapis.com', 'firebaseinstallations.googleapis.com']),
    );
    for (let i = 1; i <= 8; i++) expect(fcm.hostnames).toContain(`alt${i}-mtalk.google.com`);
    expect(fcm.source).toContain('Firebase');
  });

  it('the Play Store: HTTPS only (port 80 would let captive probes past the portal), PacketFence passthroughs', () => {
    const play = entryOf({}, 'google-play');
    expect(play.ports).toEqual([443]);
    expect(play.hostnames).toEqual(['play.google.com', 'android.clients.google.com', '*.gvt1.com', '*.ggpht.com', '*.googleusercontent.com', '*.gstatic.com', '*.googleapis.com']);
    expect(play.source).toContain('PacketFence');
  });

  it('DNS: UDP and TCP 53 to the configured servers', () => {
    expect(entryOf(CONFIGURED, 'dns')).toMatchObject({ protocols: ['udp', 'tcp'], ports: [53], cidrs: ['10.99.0.53'] });
  });

  it("the portal: its addresses, its HTTP and HTTPS ports and the base URL's, and its host name", () => {
    expect(entryOf(CONFIGURED, 'portal')).toMatchObject({ ports: [8080, 8443, 443], cidrs: ['10.99.0.1', 'fd00:99::1'], hostnames: ['wifi.example.org'] });
  });

  it("the portal's address defaults to the base URL's, else to the listeners' (never 0.0.0.0 or loopback)", () => {
    expect(entryOf({ portal: { base_url: 'http://10.99.0.1:8080' } }, 'portal')).toMatchObject({ cidrs: ['10.99.0.1'], hostnames: [], ports: [8080, 8443] });
    expect(entryOf({ portal: { base_url: 'https://[fd00:99::1]' } }, 'portal').cidrs).toEqual(['fd00:99::1']);
    const listeners = { base_url: 'https://wifi.example.org', http: { host: '10.99.0.2' }, https: { host: '0.0.0.0' } };
    expect(entryOf({ portal: listeners }, 'portal')).toMatchObject({ cidrs: ['10.99.0.2'], hostnames: ['wifi.example.org'] });
    // The defaults: base URL and listeners on 127.0.0.1, which no device can reach.
    expect(entryOf({}, 'portal')).toMatchObject({ cidrs: [], hostnames: [] });
  });

  it('the agent download host, when android.agent.url is external', () => {
    const agent = (url: string) => entryOf({ android: { agent: { version: '1.0', url } } }, 'agent-download');
    expect(agent('https://downloads.example.com/agent.apk')).toMatchObject({ ports: [443], hostnames: ['downloads.example.com'], cidrs: [], open: true });
    expect(agent('http://198.51.100.7:8000/agent.apk')).toMatchObject({ ports: [8000], hostnames: [], cidrs: ['198.51.100.7'] });
    expect(gardenOf({ android: { agent: { version: '1.0', file: 'agent.apk' } } }).entries.map((e) => e.id)).not.toContain('agent-download');
  });

  it('warns about what is missing, and not when it is configured', () => {
    const warnings = gardenOf({}).warnings;
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/walled_garden\.portal_addresses.*nothing is opened for the portal/);
    expect(warnings.join('\n')).toContain('walled_garden.dns_servers');
    expect(warnings.join('\n')).toContain('walled_garden.registration_networks');
    expect(gardenOf({ portal: { base_url: 'https://wifi.example.org' } }).warnings[0]).toContain('listed by its name wifi.example.org only');
    expect(gardenOf(CONFIGURED).warnings).toEqual([]);
  });

  it('keeps each address and network once', () => {
    const g = gardenOf({ walled_garden: { dns_servers: ['10.0.0.53', '10.0.0.53'], registration_networks: ['10.99.0.0/24', '10.99.0.0/24'] } });
    expect(g.registrationNetworks).toEqual(['10.99.0.0/24']);
    expect(g.entries.find((e) => e.id === 'dns')?.cidrs).toEqual(['10.0.0.53']);
  });
});

describe('familyOf', () => {
  it.each([
    ['10.0.0.1', 4],
    ['17.0.0.0/8', 4],
    ['2620:149:a44::/48', 6],
    ['fd00::1', 6],
    ['mtalk.google.com', 0],
  ])('%s → %i', (value, family) => {
    expect(familyOf(value)).toBe(family);
  });
});
