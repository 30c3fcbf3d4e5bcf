import { readFile } from 'node:fs/promises';
import { roleFor } from '../../admin/roles.js';
import { inspectConfig, listed, problemSection, type Config } from '../../config/load.js';
import { configWarnings, switchWarnings } from '../../config/warnings.js';
import { groupMatches } from '../../devices/policy.js';
import type { DirectoryUser, LoginStep, SteppedDirectory } from '../../directory/directory.js';
import { parseUsers } from '../../directory/file-directory.js';
import { ConfigError, GatewayError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { portalCertificateProblem, portalCertificateWarning } from '../../pki/portal-certificate.js';
import { openStateStore } from '../../store/open-state-store.js';
import { createDirectory, readMaterials, type Materials } from '../../wiring.js';


/** What check-config found: the problems (exit 2 when any), the warnings, and the config when it could be read. */
export interface ConfigReport {
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
  readonly config?: Config;
  readonly materials?: Materials;
}

/**
 * Every problem of the config file in one round: schema, secrets, files (inspectConfig
 * sets aside the sections with schema problems and checks the others'), then the warnings.
 * An unreadable file or YAML that cannot be parsed throws ConfigError, as there is nothing
 * more to check.
 */
export async function checkConfig(file: string): Promise<ConfigReport> {
  const { config, problems, checked } = inspectConfig(file);
  if (config === undefined) return { problems, warnings: [] };
  const found = [...problems];
  let materials: Materials | undefined;
  try {
    materials = await readMaterials(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const files = err.problems.length > 0 ? err.problems : [err.message];
    found.push(...files.filter((p) => checked === 'all' || checked.has(problemSection(p))));
  }
  if (found.length > 0) return { problems: found, warnings: [], config };
  let usersFileGroups: string[][] | undefined;
  if (config.directory.kind === 'file') {
    try {
      usersFileGroups = [...parseUsers(await readFile(config.directory.file.path, 'utf8')).values()].map((u) => u.groups);
    } catch {
      found.push(`directory.file.path: ${config.directory.file.path} is not a valid users file (\`enrollgate users list\` says why)`);
    }
  }
  const certificate = materials ? portalCertificateProblem({ certPem: materials.tls.cert.toString('utf8'), gatewayCaPem: materials.caPem, baseUrl: config.portal.base_url, now: new Date() }) : undefined;
  const warnings = [
    ...switchWarnings(config).map((s) => (s.nas ? `radius.clients ${s.nas}: ${s.text}` : s.text)),
    ...configWarnings(config),
    ...setupWarnings(config, usersFileGroups),
    ...(certificate ? [portalCertificateWarning(certificate)] : []),
    ...passpointWarnings(config, materials?.eapServerName),
    ...(materials?.languageWarnings ?? []),
  ];
  return { problems: found, warnings, config, ...(materials ? { materials } : {}) };
}

/** The problems as one message (at most 20 listed, as for start). */
export function problemsMessage(problems: readonly string[]): string {
  return problems.length === 1 ? problems[0]! : `invalid configuration:${listed(problems)}`;
}

/**
 * check-config --online: the directory (bind, and the user's search and groups), then the
 * state store, each step printed as it ends. Returns whether every step passed.
 */
export async function checkOnline(config: Config, materials: Materials, user: string | undefined, print: (line: string) => void): Promise<boolean> {
  let ok = true;
  const line = (s: LoginStep): void => {
    if (!s.ok) ok = false;
    print(`  ${s.ok ? 'ok    ' : 'failed'}  ${s.step}: ${s.reason}`);
  };
  const d = config.directory;
  print(`Directory: ${d.kind === 'ldap' && d.ldap ? `LDAP ${d.ldap.url}, base ${d.ldap.base_dn}` : `users file ${d.file.path}`}`);
  const directory: SteppedDirectory = createDirectory(config, materials, createLogger('silent'));
  try {
    let name = user;
    if (name === undefined && d.kind === 'file') name = [...parseUsers(await readFile(d.file.path, 'utf8')).values()][0]?.username;
    if (name === undefined) {
      await directory.ping().then(
        () => line({ step: 'bind', ok: true, reason: d.kind === 'ldap' ? `bound as ${d.ldap?.bind_dn}` : 'the users file is readable' }),
        (err: unknown) => line({ step: 'bind', ok: false, reason: err instanceof Error ? err.message : String(err) }),
      );
      print(`  -       user search: not done: give --user NAME to look one up${d.kind === 'file' ? ' (the users file is empty)' : ''}`);
    } else {
      let found: DirectoryUser | undefined;
      try {
        found = await directory.walk(name, undefined, line);
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        if (ok) line({ step: 'user', ok: false, reason: err.message });
      }
      if (found !== undefined) {
        const role = roleFor(found.groups, config.admin.roles);
        line({ step: 'groups', ok: true, reason: `${found.username} is in ${found.groups.length > 0 ? found.groups.join('; ') : 'no group'}; admin console role: ${role ?? 'none'}` });
      }
    }
  } finally {
    await directory.close();
  }

  print(`Store: ${config.store.kind === 'redis' ? 'Redis' : `SQLite ${config.store.sqlite_file}`}`);
  try {
    const store = await openStateStore(config, createLogger('silent'));
    await store.close();
    line({ step: 'open', ok: true, reason: config.store.kind === 'redis' ? 'connected' : 'opened' });
  } catch (err) {
    line({ step: 'open', ok: false, reason: err instanceof Error ? err.message : String(err) });
  }
  return ok;
}

// A secret that is still the example's or a well-known default: FreeRADIUS's testing123,
// and the change-me… placeholders of many sample configs.
const PLACEHOLDER = /^(?:change[-_ ]?me|changeit|placeholder|testing123|secret|password|example)\b/i;

/** Every secret of a config with the key path it is at (values for the placeholder check only: never printed). */
function secretsOf(config: Config): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  config.radius.clients.forEach((c, i) => {
    out.push([`radius.clients[${i}].secret`, c.secret], [`radius.clients[${i}].uam.secret`, c.uam?.secret], [`radius.clients[${i}].uam.opennds.faskey`, c.uam?.opennds?.faskey]);
  });
  out.push(['directory.ldap.bind_password', config.directory.kind === 'ldap' ? config.directory.ldap?.bind_password : undefined]);
  config.ios.wifi.forEach((w, i) => out.push([`ios.wifi[${i}].password`, w.password]));
  config.admin.api_tokens.forEach((t, i) => out.push([`admin.api_tokens[${i}].token`, t.token]));
  out.push(['audit.hmac_key', config.audit.hmac_key]);
  return out;
}

/**
 * Passpoint settings that validate but would not work: Android accepts only a RADIUS server
 * certificate whose DNS name is the HomeSP FQDN or ends in .<FQDN> (it sets the FQDN as the
 * domain suffix to match), and offers the profile only where Android may enroll.
 */
export function passpointWarnings(config: Pick<Config, 'passpoint' | 'enrollment'>, eapServerName: string | undefined): string[] {
  const p = config.passpoint;
  if (!p.enabled || p.fqdn === undefined) return [];
  const warnings: string[] = [];
  const fqdn = p.fqdn.toLowerCase();
  const name = eapServerName?.toLowerCase();
  if (name !== undefined && name !== fqdn && !name.endsWith(`.${fqdn}`)) {
    warnings.push(`passpoint.fqdn: the EAP server certificate (eap.cert_file) names ${eapServerName}, which is not ${p.fqdn} nor under it, so Android refuses the RADIUS server; issue the EAP certificate for a name such as radius.${p.fqdn}, or set fqdn to a domain it is under`);
  }
  if (!config.enrollment.platforms.android) warnings.push('passpoint.enabled: enrollment.platforms.android is false, so no Android device is offered the profile');
  return warnings;
}

/**
 * What a config that validates still leaves undone, for `check-config` (start does not log
 * these: a gateway being tried out runs without them). `usersFileGroups`: the groups of
 * each person in the users file, when the directory is the users file and it could be read.
 */
export function setupWarnings(config: Config, usersFileGroups?: ReadonlyArray<readonly string[]>): string[] {
  const warnings: string[] = [];
  if (config.ios.wifi.length === 0) {
    warnings.push('ios.wifi: empty: the enrollment profile sets up no Wi-Fi network, so an iPhone that installs it still cannot join; add the networks (ssid, security)');
  }
  if (config.android.agent === undefined && config.enrollment.platforms.android && !config.passpoint.enabled) {
    warnings.push(
      config.ios.wifi.length === 0
        ? 'android.agent: not set, and ios.wifi is empty: Android devices enroll but are given no Wi-Fi settings; add the networks, or set android.agent.file (the APK) or android.agent.url'
        : 'android.agent: not set: Android devices get the Wi-Fi settings to enter by hand (and the CA and certificate to install) instead of the agent; set android.agent.file (the APK) or android.agent.url for the agent',
    );
  }
  const roles = config.admin.roles;
  if (roles.admin.length === 0) {
    const tokens = config.admin.api_tokens.filter((t) => t.role === 'admin').length;
    warnings.push(`admin.roles.admin: empty: nobody can sign in to the admin console as an admin${tokens > 0 ? ` (${tokens} API token(s) have the admin role)` : ''}; list the directory groups of the admins`);
  }
  for (const [path, value] of secretsOf(config)) {
    if (value !== undefined && PLACEHOLDER.test(value)) warnings.push(`${path}: looks like a placeholder or a well-known default (the value is hidden); set a random one, such as \`openssl rand -base64 24\``);
  }
  if (usersFileGroups !== undefined) {
    const everyone = usersFileGroups.flat();
    const nobodyIn = (entry: string) => !everyone.some((g) => groupMatches(entry, g));
    const check = (path: string, entries: readonly string[]) =>
      entries.forEach((e, i) => {
        if (nobodyIn(e)) warnings.push(`${path}[${i}]: nobody in the users file is in the group "${e}", so it matches no one (yet)`);
      });
    for (const role of ['admin', 'helpdesk', 'auditor'] as const) check(`admin.roles.${role}`, roles[role]);
    config.enrollment.group_limits.forEach(({ group }, i) => {
      if (nobodyIn(group)) warnings.push(`enrollment.group_limits[${i}].group: nobody in the users file is in the group "${group}", so it matches no one (yet)`);
    });
    const required = config.directory.file.required_group;
    // The users file compares required_group as a whole name (file-directory.ts), not by first RDN.
    if (required !== undefined && !everyone.some((g) => g.trim().toLowerCase() === required.trim().toLowerCase())) warnings.push(`directory.file.required_group: nobody in the users file is in "${required}", so nobody can log in`);
  }
  return warnings;
}
