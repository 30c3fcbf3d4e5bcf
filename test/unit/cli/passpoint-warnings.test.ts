import { describe, expect, it } from 'vitest';
import { passpointWarnings } from '../../../src/cli/commands/check-config.js';
import { validateConfig } from '../../../src/config/load.js';

/** check-config's Passpoint warnings: what validates but Android would refuse. */
describe('passpointWarnings', () => {
  const config = (extra: Record<string, unknown> = {}) => validateConfig({ passpoint: { enabled: true, fqdn: 'wifi.example.org' }, eap: { enabled: true }, ...extra });

  it('warns when the EAP server certificate is not the FQDN nor under it (Android matches it as a domain suffix)', () => {
    expect(passpointWarnings(config(), 'radius.wifi.example.org')).toEqual([]);
    expect(passpointWarnings(config(), 'WIFI.example.org')).toEqual([]);
    const [warning] = passpointWarnings(config(), 'radius.example.org');
    expect(warning).toMatch(/^passpoint\.fqdn: the EAP server certificate \(eap\.cert_file\) names radius\.example\.org, which is not wifi\.example\.org nor under it, so Android refuses the RADIUS server; issue the EAP certificate for a name such as radius\.wifi\.example\.org/);
    // A name that only ends in the same letters is not under it.
    expect(passpointWarnings(config(), 'radius.badwifi.example.org')).toHaveLength(1);
  });

  it('warns when Android may not enroll, and says nothing with passpoint off', () => {
    expect(passpointWarnings(config({ enrollment: { platforms: { android: false } } }), undefined)).toEqual(['passpoint.enabled: enrollment.platforms.android is false, so no Android device is offered the profile']);
    expect(passpointWarnings(validateConfig({}), 'radius.example.org')).toEqual([]);
  });
});
