import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { configSchema, type RawConfig, type secretRef } from './schema.js';

type SecretRef = z.output<typeof secretRef>;
type RawNas = RawConfig['radius']['clients'][number];
type RawLdap = NonNullable<RawConfig['directory']['ldap']>;

export type NasClientConfig = Omit<RawNas, 'secret'> & { readonly secret: string };
export type LdapConfig = Omit<RawLdap, 'bind_password'> & { readonly bind_password: string };

/** The configuration the gateway runs on: validated, secrets read, paths absolute, frozen. */
export type Config = Omit<RawConfig, 'radius' | 'directory'> & {
  readonly config_file: string;
  readonly radius: Omit<RawConfig['radius'], 'clients'> & { readonly clients: readonly NasClientConfig[] };
  readonly directory: Omit<RawConfig['directory'], 'ldap'> & { readonly ldap?: LdapConfig };
};

/** Where the config file is: --config, else $ENROLLGATE_CONFIG, else ./data/enrollgate.yaml. The only reader of process.env besides secret references. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.ENROLLGATE_CONFIG ?? 'data/enrollgate.yaml');
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function keyPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc === '' ? String(k) : `${acc}.${String(k)}`), '');
}

/** Secret values must never reach an error message: these paths get "(hidden)" instead of the value. */
function isSecretPath(path: string): boolean {
  return /(^|\.)(secret|bind_password)$/.test(path);
}

/**
 * Checks a parsed document against the schema. Every problem names the key path,
 * the bad value (hidden for secrets) and what is expected.
 */
export function validateConfig(doc: unknown): RawConfig {
  const result = configSchema.safeParse(withoutNulls(doc) ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = keyPath(issue.path) || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      return `${path}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (misspelt?)`;
    }
    const got = isSecretPath(path) ? '(hidden)' : describeValue(issue.input);
    return `${path}: got ${got}; expected ${issue.message.replace(/^Invalid input: expected /, '')}`;
  });
  throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, problems);
}

/** A key written with no value (`android:` with its content commented out) means "use the defaults". */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
  }
  return value;
}

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

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Reads, validates and resolves the config file. Throws ConfigError with every problem found. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, [], { cause: err });
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => e.message.split('\n')[0] ?? e.message);
    throw new ConfigError(`${file} is not valid YAML:\n  ${problems.join('\n  ')}`, problems);
  }
  return resolveConfig(validateConfig(doc.toJS()), file, env);
}

/** Reads secret references and makes every path absolute (relative to the config file). */
export function resolveConfig(raw: RawConfig, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const baseDir = dirname(resolve(file));
  const at = (p: string): string => resolve(baseDir, p);
  const problems: string[] = [];
  const secret = (ref: SecretRef, path: string): string => {
    try {
      return readSecret(ref, path, baseDir, env);
    } catch (err) {
      problems.push((err as ConfigError).message);
      return '';
    }
  };

  const clients = raw.radius.clients.map((c, i) => ({ ...c, secret: secret(c.secret, `radius.clients[${i}].secret`) }));
  const ldap = raw.directory.ldap && {
    ...raw.directory.ldap,
    ca_file: raw.directory.ldap.ca_file && at(raw.directory.ldap.ca_file),
    bind_password: secret(raw.directory.ldap.bind_password, 'directory.ldap.bind_password'),
  };
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, problems);

  const agent = raw.android.agent && { ...raw.android.agent, file: raw.android.agent.file && at(raw.android.agent.file) };
  return deepFreeze({
    ...raw,
    config_file: resolve(file),
    portal: {
      ...raw.portal,
      base_url: raw.portal.base_url.replace(/\/+$/, ''),
      https: { ...raw.portal.https, cert_file: at(raw.portal.https.cert_file), key_file: at(raw.portal.https.key_file) },
    },
    radius: { ...raw.radius, clients },
    store: { ...raw.store, sqlite_file: at(raw.store.sqlite_file) },
    directory: { kind: raw.directory.kind, file: { ...raw.directory.file, path: at(raw.directory.file.path) }, ...(ldap ? { ldap } : {}) },
    android: { ...raw.android, ...(agent ? { agent } : {}) },
    pki: { ca_cert_file: at(raw.pki.ca_cert_file), ca_key_file: at(raw.pki.ca_key_file) },
  });
}
