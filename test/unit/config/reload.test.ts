import { describe, expect, it } from 'vitest';
import { resolveConfig, validateConfig, type Config } from '../../../src/config/load.js';
import { configChanges, reloadedDigests, reloadSummary, withFileChanges, withReloaded } from '../../../src/config/reload.js';

/** What a reload applies and what it leaves for a restart, key by key (config/reload.ts). */

const SECRET = 'nas-secret-0123456789-abcdef';

function config(doc: Record<string, unknown>): Config {
  return resolveConfig(validateConfig(doc), '/etc/enrollgate/enrollgate.yaml', {});
}

const base = {
  radius: { auth_port: 1812, clients: [{ name: 'wlc', address: '10.0.0.1', secret: SECRET }] },
  portal: { organisation_name: 'Example Corp', http: { port: 8080 } },
};

describe('configChanges', () => {
  it('finds nothing between a config and itself', () => {
    expect(configChanges(config(base), config(base))).toEqual({ sections: [], applied: [], restart: [] });
  });

  it('applies a NAS added, a secret changed, page texts, the device policy and the log level', () => {
    const next = config({
      ...base,
      log: { level: 'warn' },
      radius: { ...base.radius, clients: [{ name: 'wlc', address: '10.0.0.1', secret: `${SECRET}-new` }, { name: 'ap', address: '10.0.0.2', secret: SECRET }] },
      portal: { ...base.portal, organisation_name: 'Other Corp', support_contact: 'desk@example.org', branding: { accent_colour: '#0f6b3a' }, terms: { file: 'terms.txt', version: '2' } },
      enrollment: { device_limit: 5 },
    });
    const changes = configChanges(config(base), next);
    expect(changes.applied).toEqual(['log.level', 'portal.organisation_name', 'portal.support_contact', 'portal.branding', 'portal.terms', 'radius.clients', 'enrollment.device_limit']);
    expect(changes.restart).toEqual([]);
    expect(changes.sections).toEqual(['log', 'portal', 'radius', 'enrollment']);
  });

  it('names every key that needs a restart, beside what it applies', () => {
    const next = config({
      ...base,
      radius: { ...base.radius, auth_port: 1912, workers: 4 },
      portal: { ...base.portal, http: { port: 8081 } },
      store: { kind: 'sqlite', sqlite_file: 'other.sqlite' },
      enrollment: { randomised_macs: 'refuse' },
    });
    const changes = configChanges(config(base), next);
    expect(changes.restart).toEqual(['portal.http.port', 'radius.auth_port', 'radius.workers', 'store.sqlite_file']);
    expect(changes.applied).toEqual(['enrollment.randomised_macs']);
    expect(reloadSummary(changes)).toBe('applied: enrollment.randomised_macs; these need a restart: portal.http.port, radius.auth_port, radius.workers, store.sqlite_file');
  });

  it('never puts a value in what it reports, a secret least of all', () => {
    const next = config({ ...base, radius: { ...base.radius, clients: [{ name: 'wlc', address: '10.0.0.1', secret: 'a-brand-new-secret-value-42' }] } });
    const text = JSON.stringify(configChanges(config(base), next));
    expect(text).not.toContain('a-brand-new-secret-value-42');
    expect(text).not.toContain(SECRET);
    expect(reloadSummary(configChanges(config(base), next))).toBe('applied: radius.clients');
  });
});

describe('withReloaded', () => {
  it('takes the reloadable keys from the new config and keeps the running value of every other', () => {
    const running = config(base);
    const next = config({ ...base, radius: { ...base.radius, auth_port: 1912, clients: [] }, portal: { ...base.portal, organisation_name: 'Other Corp', http: { port: 9090 } } });
    const now = withReloaded(running, next);
    expect(now.radius.clients).toEqual([]);
    expect(now.portal.organisation_name).toBe('Other Corp');
    expect(now.radius.auth_port).toBe(1812);
    expect(now.portal.http.port).toBe(8080);
    // Once applied, only the keys that wait for a restart still differ.
    expect(configChanges(now, next)).toMatchObject({ applied: [], restart: ['portal.http.port', 'radius.auth_port'] });
  });
});

describe('withFileChanges', () => {
  const none = { sections: [], applied: [], restart: [] };
  const running = { 'portal.branding.logo_file': 'a1', 'portal.https.cert_file': 'c1', 'portal.terms.file': 't1', 'directory.ldap.ca_file': undefined };

  it('names a file replaced under the same name: applied by a reload, or needing a restart, by its key', () => {
    const next = { ...running, 'portal.branding.logo_file': 'a2', 'portal.https.cert_file': 'c2' };
    const changes = withFileChanges(none, running, next);
    expect(changes).toEqual({ sections: ['portal'], applied: ["portal.branding.logo_file (the file's content)"], restart: ["portal.https.cert_file (the file's content)"] });
    expect(reloadSummary(changes)).toBe("applied: portal.branding.logo_file (the file's content); these need a restart: portal.https.cert_file (the file's content)");
  });

  it('adds nothing for the same contents, a file set or unset by the config (its key says so), or a key listed already', () => {
    expect(withFileChanges(none, running, { ...running })).toBe(none);
    expect(withFileChanges(none, running, { ...running, 'directory.ldap.ca_file': 'l1' })).toBe(none);
    expect(withFileChanges(none, running, { ...running, 'portal.terms.file': undefined })).toBe(none);
    const keyChanged = { sections: ['portal'], applied: ['portal.branding'], restart: [] };
    expect(withFileChanges(keyChanged, running, { ...running, 'portal.branding.logo_file': 'a2' })).toBe(keyChanged);
  });

  it('after a reload, runs with the reloadable files as read and the others as at start', () => {
    const next = { ...running, 'portal.branding.logo_file': 'a2', 'portal.https.cert_file': 'c2' };
    const after = reloadedDigests(running, next);
    expect(after).toEqual({ ...running, 'portal.branding.logo_file': 'a2' });
    // The certificate still needs its restart at the next reload; the logo is not named again.
    expect(withFileChanges(none, after, next)).toEqual({ sections: ['portal'], applied: [], restart: ["portal.https.cert_file (the file's content)"] });
  });
});
