import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { configWarnings } from '../../../src/config/warnings.js';

/**
 * Every ```yaml block in README.md and docs/**\/*.md is configuration an admin may copy,
 * so each is checked the way the gateway checks its own config, and a wrong example
 * fails here instead of locking an admin out.
 *
 * Most blocks are fragments: one section, one router. A fragment is checked as a partial
 * config: it is parsed on its own (as loadConfig parses: YAML errors and duplicate keys
 * fail), then merged over BASE, a minimal valid config (mappings key by key with the
 * block's values winning; lists and secret references replaced by the block's), and the
 * result goes through loadConfig, the whole path `check-config` takes: the strict schema,
 * secrets read, their lengths, paths. Secrets are supplied the way an admin would: every `{ env: NAME }` the
 * merged config names gets a made-up value of a fitting length and form, every
 * `{ file: path }` a file of one beside the scratch config.
 *
 * BASE uses an LDAP directory on purpose: its groups are whole DNs, so configWarnings then
 * judges every group entry (admin.roles, group_limits, required_group), and a block must
 * produce no warning. That is what catches `admin: [cn=wifi-admins,ou=groups,…]`, which
 * YAML splits into four strings. With the users file nothing would be warned about.
 *
 * A block that is deliberately not a config is marked with `<!-- not-config -->` on the
 * line before its fence. Keep those rare: at most MAX_NOT_CONFIG in all the docs.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NOT_CONFIG = '<!-- not-config -->';
const MAX_NOT_CONFIG = 2;

const BASE = `directory:
  kind: ldap
  ldap:
    url: ldaps://ldap.example.org:636
    bind_dn: "cn=portal-svc,ou=services,dc=example,dc=org"
    bind_password: { env: DOC_EXAMPLES_LDAP_BIND_PASSWORD }
    base_dn: "ou=people,dc=example,dc=org"
`;

interface YamlBlock {
  /** Relative to the repository, e.g. docs/admin.md. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly text: string;
  /** Marked `<!-- not-config -->`. */
  readonly notConfig: boolean;
}

/** The ```yaml blocks of a Markdown text, with where they start. */
function yamlBlocks(file: string, markdown: string): YamlBlock[] {
  const lines = markdown.split('\n');
  const blocks: YamlBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)(`{3,})\s*(\S*)/.exec(lines[i]!);
    if (!fence) continue;
    const [, indent, ticks, info] = fence as unknown as [string, string, string, string];
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !(lines[i]!.trim().startsWith(ticks) && lines[i]!.trim().replace(/`/g, '') === ''); i++) {
      body.push(lines[i]!.startsWith(indent) ? lines[i]!.slice(indent.length) : lines[i]!);
    }
    if (info.toLowerCase() !== 'yaml' && info.toLowerCase() !== 'yml') continue;
    let before = start - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    blocks.push({ file, line: start + 1, text: body.join('\n'), notConfig: before >= 0 && lines[before]!.trim() === NOT_CONFIG });
  }
  return blocks;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isMap = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `{ env: NAME }` or `{ file: path }`: a value, not a section, so it replaces rather than merges. */
const isSecretRef = (v: Json): boolean => isMap(v) && Object.keys(v).length === 1 && (typeof v.env === 'string' || typeof v.file === 'string');

/** `over` merged onto `base`: mappings key by key (over wins), anything else (lists, secret references) replaced. */
function merge(base: Json, over: Json): Json {
  if (!isMap(base) || !isMap(over) || isSecretRef(over)) return over;
  const out: Record<string, Json> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k]!, v) : v;
  return out;
}

/** Every secret reference in a document: `{ env }` and `{ file }` objects, with the key they sit under. */
function secretRefs(doc: Json, key = ''): Array<{ key: string; env?: string; file?: string }> {
  if (Array.isArray(doc)) return doc.flatMap((v) => secretRefs(v, key));
  if (!isMap(doc)) return [];
  if (isSecretRef(doc)) return [typeof doc.env === 'string' ? { key, env: doc.env } : { key, file: doc.file as string }];
  return Object.entries(doc).flatMap(([k, v]) => secretRefs(v, k));
}

/** A made-up secret that fits where it is used: a Redis URL, or 40 printable characters (long enough for tokens and keys, short enough for a WPA passphrase). */
function madeUpSecret(key: string): string {
  return key === 'url' ? 'redis://127.0.0.1:6379/0' : 'made-up-Secret-for-the-doc-examples-4f1c9';
}

async function markdownFiles(): Promise<string[]> {
  const docs = await readdir(join(ROOT, 'docs'), { recursive: true });
  return ['README.md', ...docs.filter((f) => f.endsWith('.md')).map((f) => join('docs', f)).sort()];
}

describe('yamlBlocks', () => {
  it('finds yaml blocks with their line, skips other languages, and sees the not-config mark', () => {
    const md = ['# t', '```yaml', 'a: 1', '```', '```sh', 'echo', '```', '<!-- not-config -->', '', '```yaml', 'b: 2', '```', '  ```yaml', '  c: 3', '  ```'].join('\n');
    expect(yamlBlocks('x.md', md)).toEqual([
      { file: 'x.md', line: 2, text: 'a: 1', notConfig: false },
      { file: 'x.md', line: 10, text: 'b: 2', notConfig: true },
      { file: 'x.md', line: 13, text: 'c: 3', notConfig: false },
    ]);
  });
});

describe('the YAML examples in README.md and docs/', () => {
  let blocks: YamlBlock[];
  let dir: string;

  beforeAll(async () => {
    blocks = [];
    for (const file of await markdownFiles()) blocks.push(...yamlBlocks(file, await readFile(join(ROOT, file), 'utf8')));
    dir = await mkdtemp(join(tmpdir(), 'enrollgate-doc-examples-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are found in the README and across docs/, and hardly any is marked not-config', () => {
    const files = new Set(blocks.map((b) => b.file));
    expect(files).toContain('README.md');
    // The files that hold configuration examples today; a block lost by the extractor would show here.
    for (const f of ['docs/admin.md', 'docs/audit.md', 'docs/portal.md', 'docs/routers.md', 'docs/store.md', 'docs/walled-garden.md']) expect(files, f).toContain(f);
    expect(blocks.length).toBeGreaterThanOrEqual(13);
    expect(blocks.filter((b) => b.notConfig).length).toBeLessThanOrEqual(MAX_NOT_CONFIG);
  });

  it('each is valid config, merged into a minimal one: check-config would pass it without a warning', async () => {
    const base = parseDocument(BASE).toJS() as Json;
    const failures: string[] = [];
    let n = 0;
    for (const block of blocks.filter((b) => !b.notConfig)) {
      const where = `${block.file}:${block.line}`;
      const doc = parseDocument(block.text);
      if (doc.errors.length > 0) {
        failures.push(`${where}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
        continue;
      }
      const fragment = doc.toJS() as Json;
      if (!isMap(fragment)) {
        failures.push(`${where}: not a mapping of config keys (mark it ${NOT_CONFIG} if it is not config)`);
        continue;
      }
      const merged = merge(base, fragment);
      const file = join(dir, `example-${n++}`, 'enrollgate.yaml');
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, stringify(merged));
      const env: NodeJS.ProcessEnv = {};
      for (const ref of secretRefs(merged)) {
        if (ref.env) env[ref.env] = madeUpSecret(ref.key);
        if (ref.file) {
          const secretFile = join(dirname(file), ref.file);
          await mkdir(dirname(secretFile), { recursive: true });
          await writeFile(secretFile, `${madeUpSecret(ref.key)}\n`);
        }
      }
      try {
        const warnings = configWarnings(loadConfig(file, env));
        for (const w of warnings) failures.push(`${where}: warning: ${w}`);
      } catch (err) {
        failures.push(`${where}: ${(err as Error).message.replaceAll(dir, '<scratch>')}`);
      }
    }
    expect(failures, `${failures.length} example(s) fail (paths relative to ${relative(process.cwd(), ROOT) || '.'}):\n${failures.join('\n')}`).toEqual([]);
  });
});
