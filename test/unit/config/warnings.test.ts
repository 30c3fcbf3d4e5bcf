import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { resolveConfig, validateConfig } from '../../../src/config/load.js';
import { configWarnings, isSingleRdn, switchWarnings } from '../../../src/config/warnings.js';

/**
 * Group entries that validate but can never match a group DN an LDAP directory
 * reports. The YAML below is parsed as written, because the mistake is YAML's: an
 * unquoted DN inside [ ] splits at its commas.
 */

const LDAP = `directory:
  kind: ldap
  ldap:
    url: ldaps://ldap.example.org:636
    bind_dn: cn=portal-svc,ou=services,dc=example,dc=org
    bind_password: { env: LDAP_BIND_PASSWORD }
    base_dn: ou=people,dc=example,dc=org
`;

/** The warnings for a config made of the LDAP directory above and `yaml`. */
function warningsFor(yaml: string, directory = LDAP): string[] {
  return configWarnings(validateConfig(parse(`${directory}${yaml}`)));
}

describe('configWarnings: group entries that can never match', () => {
  it("the README's old admin example, unquoted, is named as one DN split at its commas", () => {
    const warnings = warningsFor('admin:\n  roles:\n    admin: [cn=wifi-admins,ou=groups,dc=example,dc=org]\n');
    expect(warnings).toEqual([
      'admin.roles.admin[0] to [3]: "cn=wifi-admins", "ou=groups", "dc=example", "dc=org" look like one DN split at its commas ' +
        '(an unquoted DN inside [ ] splits there) and can never match a group DN the directory reports; ' +
        'write it quoted: ["cn=wifi-admins,ou=groups,dc=example,dc=org"]',
    ]);
  });

  it('the same DN quoted, and a group name, give no warning', () => {
    expect(warningsFor('admin:\n  roles:\n    admin: ["cn=wifi-admins,ou=groups,dc=example,dc=org"]\n    helpdesk: [helpdesk]\n')).toEqual([]);
    // In block style YAML does not split at commas: no quotes needed there.
    expect(warningsFor('admin:\n  roles:\n    auditor:\n      - cn=security-auditors,ou=groups,dc=example,dc=org\n')).toEqual([]);
  });

  it('a lone RDN is named by its path, in every role and in group_limits', () => {
    const warnings = warningsFor(
      'admin:\n  roles:\n    helpdesk: [helpdesk, ou=groups]\nenrollment:\n  group_limits:\n    - { group: "cn=it-staff,ou=groups,dc=example,dc=org", limit: 0 }\n    - group: cn=contractors\n      limit: 1\n',
    );
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^admin\.roles\.helpdesk\[1\]: "ou=groups" is a single RDN, not a group's DN, and can never match a group DN the directory reports; /);
    expect(warnings[1]).toMatch(/^enrollment\.group_limits\[1\]\.group: "cn=contractors" is a single RDN/);
  });

  it('directory.ldap.required_group must be a whole DN', () => {
    const required = (group: string) => warningsFor('', `${LDAP}    required_group: ${JSON.stringify(group)}\n`);
    expect(required('wifi-users')).toEqual([expect.stringMatching(/^directory\.ldap\.required_group: "wifi-users" is not a DN and can never match/)]);
    expect(required('cn=wifi-users')).toEqual([expect.stringMatching(/^directory\.ldap\.required_group: "cn=wifi-users" is a single RDN/)]);
    expect(required('cn=wifi-users,ou=groups,dc=example,dc=org')).toEqual([]);
  });

  it('an escaped comma is part of a value, not a separator (RFC 4514)', () => {
    expect(isSingleRdn('cn=Smith\\, John')).toBe(true);
    expect(isSingleRdn('cn=Smith\\2C John')).toBe(true);
    expect(isSingleRdn('cn=Smith\\, John,ou=groups,dc=example,dc=org')).toBe(false);
    expect(isSingleRdn('wifi-admins')).toBe(false);
  });

  it('with the users file, groups are names the admin wrote: nothing is warned about', () => {
    expect(warningsFor('admin:\n  roles:\n    admin: [cn=wifi-admins,ou=groups,dc=example,dc=org]\n', '')).toEqual([]);
  });
});

describe('switchWarnings: the safe defaults turned off, for start and check-config alike', () => {
  const configWith = (clients: object[], radius: object = {}) =>
    resolveConfig(validateConfig({ radius: { clients, ...radius } }), '/nonexistent/enrollgate.yaml', {});

  it('says nothing for the defaults', () => {
    expect(switchWarnings(configWith([{ name: 'wlc', address: '10.0.0.1', secret: 'a-secret-of-16-chars-or-more' }]))).toEqual([]);
  });

  it('names each switch that is on, with its NAS', () => {
    const warnings = switchWarnings(
      configWith([{ name: 'old-ap', address: '10.0.0.2', secret: 'short-secret', allow_short_secret: true, require_message_authenticator: false }], { fail_mode: 'open' }),
    );
    expect(warnings).toEqual([
      { nas: 'old-ap', text: expect.stringContaining('allow_short_secret is on') },
      { nas: 'old-ap', text: expect.stringContaining('require_message_authenticator is off') },
      { text: expect.stringContaining('radius.fail_mode is open') },
    ]);
  });
});
