import type { Config } from './load.js';

/**
 * The keys a running gateway takes from a new config file on reload (SIGHUP, `enrollgate
 * reload`), each with every key under it. They are read where they are used, per request
 * or per packet, from objects the reload updates in place (the NAS table, the device
 * policy, the page texts), so nothing that is under way is cut off. Every other key was
 * used once, at start (a port bound, a store opened, a CA loaded, a worker forked): a new
 * value of one of those needs a restart, and the reload names it.
 * walled_garden is read by `enrollgate ports` only, never by the running gateway.
 */
export const RELOADABLE_KEYS = ['log.level', 'radius.clients', 'portal.organisation_name', 'portal.support_contact', 'portal.branding', 'portal.terms', 'enrollment', 'walled_garden'] as const;

/** What differs between the config that runs and a new one: key paths only, never a value. */
export interface ConfigChanges {
  /** The top-level sections with any difference (`radius`, `enrollment`). */
  readonly sections: readonly string[];
  /** The keys that differ and are applied on reload (RELOADABLE_KEYS). */
  readonly applied: readonly string[];
  /** The keys that differ and need a restart (`radius.auth_port`, `store.kind`), in the file's order. */
  readonly restart: readonly string[];
}

function isReloadable(path: string): boolean {
  return RELOADABLE_KEYS.some((k) => path === k || path.startsWith(`${k}.`));
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The key paths whose values differ: mappings are followed key by key (a key only one of
 * them has differs); anything else (a list, a value) is compared whole, so a change inside
 * radius.clients is `radius.clients`. A path that holds a reloadable key is followed down
 * to it, so that `portal.organisation_name` is told from `portal.http.port`.
 */
function differing(a: unknown, b: unknown, path: string, out: string[]): void {
  if (isMapping(a) && isMapping(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) differing(a[key], b[key], path ? `${path}.${key}` : key, out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path);
}

/** What differs between `running` and `next`, split into what a reload applies and what needs a restart. */
export function configChanges(running: Config, next: Config): ConfigChanges {
  const paths: string[] = [];
  differing(running, next, '', paths);
  return {
    sections: [...new Set(paths.map((p) => p.split('.')[0]!))],
    applied: paths.filter(isReloadable),
    restart: paths.filter((p) => !isReloadable(p)),
  };
}

/**
 * What the files a config names held when read, by key path (`portal.branding.logo_file`):
 * a digest of their bytes, absent where the key is not set. A file replaced under the same
 * name changes nothing in the config, yet a reload applies it (a logo, the terms) or needs
 * a restart to (a certificate): the reload says which, as for a key.
 */
export type FileDigests = Readonly<Record<string, string | undefined>>;

/** A file whose content changed, in ConfigChanges' lists: its key and what changed. */
const fileChanged = (key: string): string => `${key} (the file's content)`;

/**
 * `changes` with the files whose content differs between `running` and `next`, where the
 * key itself did not change (then the key is listed already): applied or needing a
 * restart by the key, as RELOADABLE_KEYS says.
 */
export function withFileChanges(changes: ConfigChanges, running: FileDigests, next: FileDigests): ConfigChanges {
  const listed = [...changes.applied, ...changes.restart];
  const files = Object.keys(next).filter(
    (k) => running[k] !== undefined && next[k] !== undefined && running[k] !== next[k] && !listed.some((p) => k === p || k.startsWith(`${p}.`)),
  );
  if (files.length === 0) return changes;
  return {
    sections: [...new Set([...changes.sections, ...files.map((k) => k.split('.')[0]!)])],
    applied: [...changes.applied, ...files.filter(isReloadable).map(fileChanged)],
    restart: [...changes.restart, ...files.filter((k) => !isReloadable(k)).map(fileChanged)],
  };
}

/** The digests the gateway runs with after a reload: the reloadable files' new ones, the others' as they were. */
export function reloadedDigests(running: FileDigests, next: FileDigests): FileDigests {
  const out: Record<string, string | undefined> = {};
  for (const k of new Set([...Object.keys(running), ...Object.keys(next)])) out[k] = isReloadable(k) ? next[k] : running[k];
  return out;
}

function replacedAt(target: unknown, keys: readonly string[], value: unknown): unknown {
  if (keys.length === 0) return value;
  const [key, ...rest] = keys as [string, ...string[]];
  const from = isMapping(target) ? target : {};
  const inner = replacedAt(from[key], rest, value);
  const copy: Record<string, unknown> = { ...from };
  if (inner === undefined) delete copy[key];
  else copy[key] = inner;
  return copy;
}

function valueAt(source: unknown, keys: readonly string[]): unknown {
  return keys.reduce<unknown>((v, k) => (isMapping(v) ? v[k] : undefined), source);
}

/** The config the gateway runs after a reload: `running`, with every reloadable key as `next` has it. */
export function withReloaded(running: Config, next: Config): Config {
  let out: unknown = running;
  for (const key of RELOADABLE_KEYS) {
    const keys = key.split('.');
    out = replacedAt(out, keys, valueAt(next, keys));
  }
  return Object.freeze(out) as Config;
}

/** The reload's one line for the log and `enrollgate reload`: what was applied, and which keys need a restart. */
export function reloadSummary(changes: ConfigChanges): string {
  const applied = changes.applied.length > 0 ? `applied: ${changes.applied.join(', ')}` : 'applied: nothing changed that a reload applies';
  return changes.restart.length > 0 ? `${applied}; these need a restart: ${changes.restart.join(', ')}` : applied;
}

/** What a reload did, as the gateway logs it and `enrollgate reload` prints it. */
export type ReloadOutcome =
  | { readonly ok: true; readonly file: string; readonly sha256: string; readonly changes: ConfigChanges; readonly message: string }
  /** Refused: the gateway runs on as before; `message` names every problem (secrets hidden). */
  | { readonly ok: false; readonly file: string; readonly message: string };
