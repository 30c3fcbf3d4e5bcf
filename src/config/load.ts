import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { layoutFor, type Layout } from './layout.js';
import { nasSubnet, sameSubnet, type NasSubnet } from './nas-address.js';
import { MIGRATION_REDIS_URL_VARIABLE } from './variables.js';
import { configSchema, SECRET_FORMS, type RawConfig, type secretRef } from './schema.js';

type SecretRef = z.output<typeof secretRef>;
type RawNas = RawConfig['radius']['clients'][number];
type RawLdap = NonNullable<RawConfig['directory']['ldap']>;

type RawUam = NonNullable<RawNas['uam']>;
type RawOpenNds = NonNullable<RawUam['opennds']>;
/** A NAS's openNDS settings with the faskey read. */
export type OpenNdsConfig = Omit<RawOpenNds, 'faskey'> & { readonly faskey: string };
/** A NAS's UAM settings with the UAM secret (coovachilli) and faskey (opennds) read. */
export type UamConfig = Omit<RawUam, 'secret' | 'opennds'> & { readonly secret?: string; readonly opennds?: OpenNdsConfig };
export type NasClientConfig = Omit<RawNas, 'secret' | 'uam'> & { readonly secret: string; readonly uam?: UamConfig };
export type LdapConfig = Omit<RawLdap, 'bind_password'> & { readonly bind_password: string };
type RawWifi = RawConfig['ios']['wifi'][number];
/** A Wi-Fi network of the iOS profile with its pre-shared key read. */
export type WifiConfig = Omit<RawWifi, 'password'> & { readonly password?: string };

type RawApiToken = RawConfig['admin']['api_tokens'][number];
/** An admin API token with its secret read. */
export type ApiTokenConfig = Omit<RawApiToken, 'token'> & { readonly token: string };
/** The admin console's and API's settings with the tokens read. */
export type AdminConfig = Omit<RawConfig['admin'], 'api_tokens'> & { readonly api_tokens: readonly ApiTokenConfig[] };

type RawRedis = NonNullable<RawConfig['store']['redis']>;
type RawSentinel = NonNullable<RawRedis['sentinel']>;
/** Redis Sentinel's settings with the passwords read. */
export type SentinelConfig = Omit<RawSentinel, 'password' | 'sentinel_password'> & { readonly password?: string; readonly sentinel_password?: string };
/** Where the Redis store is: one server by URL (which may hold a password), or a primary found through Sentinel. */
export type RedisLocation = { readonly url: string; readonly sentinel?: undefined } | { readonly url?: undefined; readonly sentinel: SentinelConfig };
/** The Redis store's settings other than where it is. */
export type RedisOptions = Omit<RawRedis, 'url' | 'sentinel'>;
/** The Redis store's settings with its secrets read. */
export type RedisStoreConfig = RedisOptions & RedisLocation;

/** The audit trail's settings with its HMAC key read. */
export type AuditConfig = Omit<RawConfig['audit'], 'hmac_key'> & { readonly hmac_key?: string };

/** The configuration the gateway runs on: validated, secrets read, paths absolute, frozen. */
export type Config = Omit<RawConfig, 'radius' | 'directory' | 'ios' | 'audit' | 'admin' | 'store'> & {
  readonly store: Omit<RawConfig['store'], 'redis'> & { readonly redis?: RedisStoreConfig };
  readonly audit: AuditConfig;
  readonly admin: AdminConfig;
  readonly ios: Omit<RawConfig['ios'], 'wifi'> & { readonly wifi: readonly WifiConfig[] };
  readonly config_file: string;
  readonly radius: Omit<RawConfig['radius'], 'clients'> & { readonly clients: readonly NasClientConfig[] };
  readonly directory: Omit<RawConfig['directory'], 'ldap'> & { readonly ldap?: LdapConfig };
};

/** Where the config file is, and whether somebody chose it (a flag or $ENROLLGATE_CONFIG) or it is the default. */
export interface ConfigLocation {
  readonly file: string;
  readonly named: boolean;
}

/**
 * Where the config file is: --config, else $ENROLLGATE_CONFIG, else the layout's default
 * (./data/enrollgate.yaml in a checkout, /etc/enrollgate/enrollgate.yaml installed as a package).
 * The only reader of process.env besides secret references.
 */
export function configLocation(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, layout: Layout = layoutFor()): ConfigLocation {
  // An empty variable (`ENROLLGATE_CONFIG= enrollgate start`) counts as unset, not as the current directory.
  const named = flag || env.ENROLLGATE_CONFIG || undefined;
  return { file: resolve(named ?? layout.configFile), named: named !== undefined };
}

/** Where the config file is: --config, else $ENROLLGATE_CONFIG, else the layout's default. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return configLocation(flag, env).file;
}

/** The Redis URL for `store migrate` from the environment, if set and not empty. */
export function migrationRedisUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[MIGRATION_REDIS_URL_VARIABLE] || undefined;
}

// `redis`: store.redis.url may carry the Redis password, so the whole section is hidden in messages
// (its sentinel passwords with it).
const SECRET_KEYS = new Set(['secret', 'bind_password', 'faskey', 'password', 'hmac_key', 'token', 'redis']);
const HIDDEN = '(hidden)';

/** A bad value as shown in a message: short, and with anything under a secret key hidden. */
function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v, (key, value: unknown) => (SECRET_KEYS.has(key) && value !== undefined ? HIDDEN : value)) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function keyPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc === '' ? String(k) : `${acc}.${String(k)}`), '');
}

/** Secret values must never reach an error message: values at or under these keys are shown as "(hidden)". */
function isSecretPath(path: ReadonlyArray<PropertyKey>): boolean {
  return path.some((k) => typeof k === 'string' && SECRET_KEYS.has(k));
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value lines)',
  array: 'a list',
};

/**
 * "What is expected" for the issues the schema has no message of its own for; zod's
 * defaults ("Too big: expected number to be <=3600") read badly after "expected".
 */
const expectation: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return TYPE_NAMES[issue.expected] ?? `a ${issue.expected}`;
    case 'too_big':
    case 'too_small': {
      const limit = issue.code === 'too_big' ? issue.maximum : issue.minimum;
      const word = issue.code === 'too_big' ? (issue.inclusive ? 'at most' : 'less than') : issue.inclusive ? 'at least' : 'more than';
      if (issue.origin === 'string') return limit === 1 && issue.code === 'too_small' ? 'a non-empty string' : `a string of ${word} ${String(limit)} characters`;
      if (issue.origin === 'array') return `a list of ${word} ${String(limit)} entries`;
      return `a number ${word} ${String(limit)}`;
    }
    case 'invalid_value':
      return issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' && 'pattern' in issue ? `a string matching ${String(issue.pattern)}` : `a valid ${issue.format}`;
    case 'invalid_union':
      return 'one of the forms described in the example config';
    default:
      return undefined;
  }
};

/** The keys allowed at a path of the schema, to suggest the right spelling of an unknown key. */
function knownKeys(path: ReadonlyArray<PropertyKey>): string[] {
  let schema: z.core.$ZodType | undefined = configSchema;
  const unwrap = (s: z.core.$ZodType): z.core.$ZodType => {
    const def = s._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    if (def.innerType) return unwrap(def.innerType);
    if (def.type === 'pipe' && def.in) return unwrap(def.in);
    return s;
  };
  for (const key of path) {
    if (schema === undefined) return [];
    const def = unwrap(schema)._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };
    schema = typeof key === 'number' ? def.element : def.shape?.[String(key)];
  }
  if (schema === undefined) return [];
  const shape = (unwrap(schema)._zod.def as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

/** Edit distance with transpositions (optimal string alignment), for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

function unknownKey(path: ReadonlyArray<PropertyKey>, key: string): string {
  const where = keyPath([...path, key]);
  const known = knownKeys(path);
  // Inside a secret's { env } or { file } form; a section under a secret key (store.redis)
  // has keys of its own, and their names are no secret.
  if (isSecretPath(path) && known.length === 0) return `${keyPath(path)}: got an unknown key ${HIDDEN}; expected ${SECRET_FORMS}`;
  const close = known.filter((k) => {
    const most = Math.max(1, Math.floor(k.length / 3));
    // The distance is at least the difference in length: a long key is not measured (its table would be huge).
    const near = Math.abs(k.length - key.length) <= most && distance(k.toLowerCase(), key.toLowerCase()) <= most;
    return near || k.startsWith(key) || key.startsWith(k);
  });
  // `ou=groups` as a key: a DN written unquoted inside { } was split at its commas.
  const hint =
    close.length > 0
      ? ` (did you mean ${close.map((k) => JSON.stringify(k)).join(' or ')}?)`
      : /^[A-Za-z][A-Za-z0-9-]*=/.test(key)
        ? ' (a part of a DN: inside { } or [ ] an unquoted DN splits at its commas; quote the whole DN)'
        : '';
  return `${where}: unknown key${hint}; expected one of ${known.join(', ')}`;
}

/**
 * Checks a parsed document against the schema. Every problem names the key path,
 * the bad value (hidden for secrets) and what is expected.
 */
export function validateConfig(doc: unknown): RawConfig {
  const result = schemaCheck(doc);
  if (result.data !== undefined) return result.data;
  throw new ConfigError(`invalid configuration:${listed(result.problems)}`, result.problems);
}

/** The schema's verdict: the data, or every problem and the top-level sections they are in ('' for the top level itself). */
function schemaCheck(doc: unknown): { data?: RawConfig; problems: string[]; sections: Set<string> } {
  const result = configSchema.safeParse(withoutNulls(doc) ?? {}, { reportInput: true, error: expectation });
  if (result.success) return { data: result.data, problems: [], sections: new Set() };
  const sections = new Set<string>();
  const problems = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) sections.add(issue.path.length === 0 ? k : String(issue.path[0]));
      return issue.keys.map((k) => unknownKey(issue.path, k));
    }
    sections.add(issue.path.length === 0 ? '' : String(issue.path[0]));
    const path = keyPath(issue.path) || '(top level)';
    const got = isSecretPath(issue.path) && issue.input !== undefined ? HIDDEN : describeValue(issue.input);
    return [`${path}: got ${got}; expected ${issue.message}`];
  });
  return { problems, sections };
}

/** The top-level section a problem line is about: its key path up to the first "." or "[". */
export function problemSection(problem: string): string {
  return /^[^.[:\s]*/.exec(problem)?.[0] ?? '';
}

/**
 * What `check-config` reports: every problem of the file in one round, not the first kind
 * only. YAML that cannot be parsed (or an unreadable file) still throws ConfigError, as
 * there is nothing to go on. Schema problems do not stop the secrets from being read:
 * the sections with a problem are set aside (their defaults stand in), and the config is
 * resolved from the rest, so that the secrets and files of the sections the file writes
 * correctly are checked too; `checked` names those sections (all, when the schema found
 * nothing). `config` is undefined when even that is not possible; with secret problems,
 * it holds empty strings for the secrets it could not read, for the file checks only.
 */
export function inspectConfig(file: string, env: NodeJS.ProcessEnv = process.env): { config?: Config; problems: readonly string[]; checked: ReadonlySet<string> | 'all' } {
  const value = parseConfigFile(file);
  const schema = schemaCheck(value);
  if (schema.data !== undefined) {
    const problems: string[] = [];
    return { config: resolveCollecting(schema.data, file, env, problems), problems, checked: 'all' };
  }
  if (schema.sections.has('') || value === null || typeof value !== 'object' || Array.isArray(value)) return { problems: schema.problems, checked: new Set() };
  const rest = Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([k]) => !schema.sections.has(k)));
  const fallback = schemaCheck(rest);
  if (fallback.data === undefined) return { problems: schema.problems, checked: new Set() };
  const checked = new Set(Object.keys(rest));
  const secrets: string[] = [];
  const config = resolveCollecting(fallback.data, file, env, secrets);
  return { config, problems: [...schema.problems, ...secrets.filter((p) => checked.has(problemSection(p)))], checked };
}

/**
 * A key the schema knows, written with no value (`android:` with its content commented
 * out), means "use the defaults": it is dropped before validation. A key the schema does
 * not know is kept, so that the strict object refuses it: in a YAML flow mapping an
 * unquoted DN splits at its commas, and `{ group: cn=it,ou=groups,dc=example,dc=org }`
 * is `group: cn=it` plus the keys `ou=groups`, `dc=example` and `dc=org` with no value.
 * Dropping those as well would accept the entry with the wrong group.
 */
function withoutNulls(value: unknown, path: readonly PropertyKey[] = []): unknown {
  if (Array.isArray(value)) return value.map((v, i) => withoutNulls(v, [...path, i]));
  if (value && typeof value === 'object') {
    const known = new Set(knownKeys(path));
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k, v]) => v !== null || !known.has(k))
        .map(([k, v]) => [k, withoutNulls(v, [...path, k])]),
    );
  }
  return value;
}

/** Shortest admin API token, like the audit key. */
const MIN_API_TOKEN_LENGTH = 32;

/** Shortest audit HMAC key: 256 bits of a random key written as characters. */
const MIN_AUDIT_KEY_LENGTH = 32;

/** Shortest NAS shared secret, UAM secret or faskey accepted without allow_short_secret. */
export const MIN_SECRET_LENGTH = 16;

function readSecret(ref: SecretRef, path: string, baseDir: string, env: NodeJS.ProcessEnv): string {
  if (typeof ref === 'string') return ref;
  if ('env' in ref) {
    const value = env[ref.env];
    if (value === undefined || value === '') {
      throw new ConfigError(`${path}: environment variable ${ref.env} is not set or empty`);
    }
    return value;
  }
  const file = resolve(baseDir, ref.file);
  try {
    const value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    if (value === '') throw new Error('the file is empty');
    return value;
  } catch (err) {
    throw new ConfigError(`${path}: cannot read secret file ${file}: ${(err as Error).message}`, [], { cause: err });
  }
}

/** The Redis settings with their secrets read (through `secret`); problems are added to `problems`. */
function resolveRedis(raw: RawRedis, secret: (ref: SecretRef, path: string) => string, problems: string[]): RedisStoreConfig {
  const { url: urlRef, sentinel, ...options } = raw;
  if (sentinel) {
    const { password, sentinel_password, ...rest } = sentinel;
    return {
      ...options,
      sentinel: {
        ...rest,
        ...(password !== undefined ? { password: secret(password, 'store.redis.sentinel.password') } : {}),
        ...(sentinel_password !== undefined ? { sentinel_password: secret(sentinel_password, 'store.redis.sentinel.sentinel_password') } : {}),
      },
    };
  }
  // The schema lets exactly one of url and sentinel through.
  const url = secret(urlRef!, 'store.redis.url');
  if (url !== '' && !/^rediss?:\/\/[^/\s]+(\/\d{1,2})?$/.test(url)) {
    problems.push('store.redis.url: (hidden); expected redis://[user:password@]host:port[/db] or rediss://…');
  }
  return { ...options, url };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file (ENOENT); `enrollgate init` creates one',
  EISDIR: 'it is a directory, not a file (EISDIR)',
  EACCES: 'permission denied (EACCES)',
};

/**
 * The largest config file read. The one `init` writes, every key commented, is about
 * 11 KB, and a router entry a few hundred bytes: 1 MiB holds thousands of routers.
 * Anything bigger is the wrong file (a log, a disk image, /dev/zero), and reading and
 * parsing it whole took seconds and gigabytes before it was refused.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Most problems a message lists: a file of garbage has thousands, and the first ones say what is wrong. */
export const MAX_LISTED_PROBLEMS = 20;
/** Longest problem line shown (a key can be as long as the file). */
const MAX_PROBLEM_CHARS = 300;

/** Problems as the indented lines of a message: at most MAX_LISTED_PROBLEMS, then how many more there are. */
export function listed(problems: readonly string[]): string {
  const shown = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => (p.length > MAX_PROBLEM_CHARS ? `${p.slice(0, MAX_PROBLEM_CHARS - 1)}…` : p));
  const more = problems.length - shown.length;
  return `\n  ${shown.join('\n  ')}${more > 0 ? `\n  … and ${more} more` : ''}`;
}

/**
 * The config file's bytes, refusing a file over MAX_CONFIG_BYTES before reading it.
 * The size is taken from the open file, and at most one byte more than the limit is
 * read, so a file that grows after the check (or a device that never ends) is refused too.
 */
function readConfigFile(file: string): Buffer {
  const tooBig = (size: string) =>
    new ConfigError(`${file} is ${size}; a config file is at most 1 MiB (${MAX_CONFIG_BYTES} bytes): is it the right file?`);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    if (stat.size > MAX_CONFIG_BYTES) throw tooBig(`${stat.size} bytes`);
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > MAX_CONFIG_BYTES) throw tooBig(`over ${MAX_CONFIG_BYTES} bytes`);
    return buffer.subarray(0, length);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read config file ${file}: ${(code && READ_ERRORS[code]) ?? code ?? (err as Error).message}`, [], { cause: err });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Reads, validates and resolves the config file. Throws ConfigError with every problem found (the message lists the first 20). */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfigHashed(file, env).config;
}

/**
 * loadConfig, with the SHA-256 of the very bytes the config was made from: the hash the log
 * and the audit trail name. Hashing the file again afterwards would name an edit saved in
 * between, not the config that runs.
 */
export function loadConfigHashed(file: string, env: NodeJS.ProcessEnv = process.env): { config: Config; sha256: string } {
  const bytes = readConfigFile(file);
  return { config: resolveConfig(validateConfig(parseConfigText(file, bytes)), file, env), sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The config file read and parsed as YAML; ConfigError for an unreadable file and for every YAML problem. */
function parseConfigFile(file: string): unknown {
  return parseConfigText(file, readConfigFile(file));
}

/** The bytes of the config file `file` parsed as YAML; ConfigError for every YAML problem. */
function parseConfigText(file: string, bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  const lines = new LineCounter();
  // uniqueKeys is checked below: the yaml package compares each key with every earlier one (60,000 keys: 35 s).
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter: lines });
  // Only the first line of a YAML error: the lines after it quote the file, which may hold a secret.
  const problems = [...doc.errors.map((e) => (e.message.split('\n')[0] ?? e.message).replace(/:$/, '')), ...duplicateKeys(doc, text, lines)];
  let value: unknown;
  if (problems.length === 0) {
    try {
      value = doc.toJS();
    } catch (err) {
      problems.push((err as Error).message); // an unresolved alias or an alias bomb (maxAliasCount)
    }
  }
  if (problems.length > 0) throw new ConfigError(`${file} is not valid YAML:${listed(problems)}`, problems);
  return value;
}

/** Every key written twice in one mapping, as written, with where: one pass with a set per mapping. */
function duplicateKeys(doc: Document, text: string, lines: LineCounter): string[] {
  const found: Array<{ start: number; problem: string }> = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        // Scalar keys compare by value, as the yaml package does (1 and "1" differ); other keys never match.
        if (!isScalar(key)) continue;
        if (!seen.has(key.value)) {
          seen.add(key.value);
          continue;
        }
        const [start = 0, end = start] = key.range ?? [];
        const { line, col } = lines.linePos(start);
        found.push({ start, problem: `duplicate key ${text.slice(start, Math.min(end, start + 100))} at line ${line}, column ${col}: keys must be unique` });
      }
    },
  });
  // Nested mappings are visited after their parents: in the order of the file.
  return found.sort((a, b) => a.start - b.start).map((f) => f.problem);
}

/**
 * Two NAS entries with one name or one address are a mistake the NAS table would hide: the
 * first entry for an address answers for it (one added below it, say with a new secret, is
 * never used), and one name would be two routers in the logs, the metrics and the console.
 */
function repeatedNas(clients: readonly RawNas[], problems: string[]): void {
  const names = new Map<string, number>();
  const subnets: Array<{ subnet: NasSubnet; index: number }> = [];
  clients.forEach((c, i) => {
    const named = names.get(c.name);
    if (named === undefined) names.set(c.name, i);
    else problems.push(`radius.clients[${i}].name: "${c.name}" is used twice (radius.clients[${named}] has it too); expected one name per NAS`);
    const subnet = nasSubnet(c.address);
    const first = subnets.find((s) => sameSubnet(s.subnet, subnet))?.index;
    if (first === undefined) subnets.push({ subnet, index: i });
    else {
      problems.push(`radius.clients[${i}].address: "${c.address}" is used twice (radius.clients[${first}] has it too, and would answer for it); expected one entry per address or subnet`);
    }
  });
}

/** Reads secret references and makes every path absolute (relative to the config file). */
export function resolveConfig(raw: RawConfig, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const config = resolveCollecting(raw, file, env, problems);
  if (problems.length > 0) throw new ConfigError(`invalid configuration:${listed(problems)}`, problems);
  return config;
}

/** resolveConfig, adding every problem to `problems` instead of throwing (a secret it cannot read is ''). */
function resolveCollecting(raw: RawConfig, file: string, env: NodeJS.ProcessEnv, problems: string[]): Config {
  const baseDir = dirname(resolve(file));
  const at = (p: string): string => resolve(baseDir, p);
  const secret = (ref: SecretRef, path: string): string => {
    try {
      return readSecret(ref, path, baseDir, env);
    } catch (err) {
      problems.push((err as ConfigError).message);
      return '';
    }
  };

  /** A secret shorter than MIN_SECRET_LENGTH is a problem unless its override key is set. */
  const longEnough = (value: string, path: string, override: { key: string; set: boolean }): string => {
    if (value !== '' && value.length < MIN_SECRET_LENGTH && !override.set) {
      problems.push(`${path}: got ${value.length} characters (hidden); expected at least ${MIN_SECRET_LENGTH} (or set ${override.key}: true, which is unsafe)`);
    }
    return value;
  };

  const clients = raw.radius.clients.map((c, i) => {
    const nas = `radius.clients[${i}]`;
    // RFC 2865 §3 asks for at least 16 octets; anything shorter falls to an offline guess of one captured packet.
    const value = longEnough(secret(c.secret, `${nas}.secret`), `${nas}.secret`, { key: `${nas}.allow_short_secret`, set: c.allow_short_secret });
    const { uam: rawUam, ...rest } = c;
    const { secret: uamSecret, opennds: rawOpenNds, ...uamRest } = rawUam ?? {};
    // The same offline guess works on the UAM secret (one redirect's md = MD5(URL ‖ uamsecret)) and on the
    // faskey (one hid and its tok = SHA-256(hid ‖ faskey)): the same rule, its own override beside them.
    const uamOverride = { key: `${nas}.uam.allow_short_secret`, set: rawUam?.allow_short_secret ?? false };
    const opennds = rawOpenNds && {
      ...rawOpenNds,
      faskey: longEnough(secret(rawOpenNds.faskey, `${nas}.uam.opennds.faskey`), `${nas}.uam.opennds.faskey`, uamOverride),
    };
    const uam: UamConfig | undefined = rawUam && {
      ...(uamRest as Omit<RawUam, 'secret' | 'opennds'>),
      ...(uamSecret !== undefined ? { secret: longEnough(secret(uamSecret, `${nas}.uam.secret`), `${nas}.uam.secret`, uamOverride) } : {}),
      ...(opennds ? { opennds } : {}),
    };
    return { ...rest, secret: value, ...(uam ? { uam } : {}) };
  });
  repeatedNas(raw.radius.clients, problems);
  const ldap = raw.directory.ldap && {
    ...raw.directory.ldap,
    ca_file: raw.directory.ldap.ca_file && at(raw.directory.ldap.ca_file),
    bind_password: secret(raw.directory.ldap.bind_password, 'directory.ldap.bind_password'),
  };
  const wifi = raw.ios.wifi.map((w, i) => {
    const { password: ref, ...rest } = w;
    if (ref === undefined) return rest;
    const password = secret(ref, `ios.wifi[${i}].password`);
    // WPA personal: 8 to 63 printable ASCII characters (IEEE 802.11i passphrase).
    if (password !== '' && !/^[\x20-\x7e]{8,63}$/.test(password)) {
      problems.push(`ios.wifi[${i}].password: got ${password.length} characters (hidden); expected 8 to 63 printable ASCII characters`);
    }
    return { ...rest, password };
  });
  const apiTokens = raw.admin.api_tokens.map((t, i) => {
    const token = secret(t.token, `admin.api_tokens[${i}].token`);
    if (token !== '' && token.length < MIN_API_TOKEN_LENGTH) {
      problems.push(`admin.api_tokens[${i}].token: got ${token.length} characters (hidden); expected at least ${MIN_API_TOKEN_LENGTH}`);
    }
    return { ...t, token };
  });
  const seenTokens = new Set<string>();
  raw.admin.api_tokens.forEach((t, i) => {
    if (seenTokens.has(t.name)) problems.push(`admin.api_tokens[${i}].name: "${t.name}" is used twice; expected one name per token`);
    seenTokens.add(t.name);
  });
  const redis = raw.store.redis && resolveRedis(raw.store.redis, secret, problems);
  const { hmac_key: hmacRef, ...auditRest } = raw.audit;
  const hmacKey = hmacRef === undefined ? undefined : secret(hmacRef, 'audit.hmac_key');
  if (hmacKey !== undefined && hmacKey !== '' && hmacKey.length < MIN_AUDIT_KEY_LENGTH) {
    problems.push(`audit.hmac_key: got ${hmacKey.length} characters (hidden); expected at least ${MIN_AUDIT_KEY_LENGTH}`);
  }
  const syslog = auditRest.syslog && { ...auditRest.syslog, ...(auditRest.syslog.ca_file ? { ca_file: at(auditRest.syslog.ca_file) } : {}) };
  const audit: AuditConfig = { ...auditRest, dir: at(auditRest.dir), ...(syslog ? { syslog } : {}), ...(hmacKey ? { hmac_key: hmacKey } : {}) };

  const agent = raw.android.agent && { ...raw.android.agent, file: raw.android.agent.file && at(raw.android.agent.file) };
  return deepFreeze({
    ...raw,
    config_file: resolve(file),
    portal: {
      ...raw.portal,
      base_url: raw.portal.base_url.replace(/\/+$/, ''),
      https: { ...raw.portal.https, cert_file: at(raw.portal.https.cert_file), key_file: at(raw.portal.https.key_file) },
      ...(raw.portal.branding ? { branding: { ...raw.portal.branding, ...(raw.portal.branding.logo_file ? { logo_file: at(raw.portal.branding.logo_file) } : {}) } } : {}),
      ...(raw.portal.terms ? { terms: { ...raw.portal.terms, file: at(raw.portal.terms.file) } } : {}),
      languages: { ...raw.portal.languages, ...(raw.portal.languages.dir ? { dir: at(raw.portal.languages.dir) } : {}) },
    },
    radius: { ...raw.radius, clients },
    store: { kind: raw.store.kind, sqlite_file: at(raw.store.sqlite_file), sqlite_mmap_mb: raw.store.sqlite_mmap_mb, ...(redis ? { redis } : {}) },
    directory: { kind: raw.directory.kind, file: { ...raw.directory.file, path: at(raw.directory.file.path) }, ...(ldap ? { ldap } : {}) },
    android: { ...raw.android, ...(agent ? { agent } : {}) },
    eap: { ...raw.eap, cert_file: at(raw.eap.cert_file), key_file: at(raw.eap.key_file) },
    pki: {
      ca_cert_file: at(raw.pki.ca_cert_file),
      ca_key_file: at(raw.pki.ca_key_file),
      ...(raw.pki.crl_url !== undefined ? { crl_url: raw.pki.crl_url } : {}),
      ...(raw.pki.ocsp_url !== undefined ? { ocsp_url: raw.pki.ocsp_url } : {}),
    },
    audit,
    admin: { ...raw.admin, api_tokens: apiTokens },
    ios: {
      ...raw.ios,
      wifi,
      profile: {
        ...raw.ios.profile,
        ...(raw.ios.profile.signing
          ? {
              signing: {
                cert_file: at(raw.ios.profile.signing.cert_file),
                key_file: at(raw.ios.profile.signing.key_file),
                ...(raw.ios.profile.signing.chain_file ? { chain_file: at(raw.ios.profile.signing.chain_file) } : {}),
              },
            }
          : {}),
      },
    },
  });
}
