import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { INSTALL_STEP, matchStep, PACK_STEP } from '../../helpers/package-install.js';

/**
 * The Dockerfile cannot be built here (no Docker engine, no registry for base images). What
 * is checked instead: it packs and installs with the very commands packed-install.test.ts
 * runs on this machine (one list, test/helpers/package-install.ts), hands the tarball and the
 * prefix from stage to stage, and its runtime stage runs the installed command as a user
 * other than root without fetching anything.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}
interface Stage {
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** A Dockerfile's stages: comments dropped, continued lines joined. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    current += ` ${line.endsWith('\\') ? line.slice(0, -1) : line}`;
    if (!line.endsWith('\\')) {
      logical.push(current.trim());
      current = '';
    }
  }
  const stages: Stage[] = [];
  for (const line of logical.filter(Boolean)) {
    const [keyword, ...rest] = line.split(/\s+/);
    const instruction = { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') stages.push({ name: /\bAS\s+(\S+)$/i.exec(instruction.args)?.[1], instructions: [] });
    else if (stages.length > 0) stages.at(-1)!.instructions.push(instruction);
  }
  return stages;
}

/** The shell commands of a stage's RUN instructions, one per `&&`-joined part. */
function commands(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === 'RUN').flatMap((i) => i.args.split('&&').map((c) => c.trim()));
}

/** The places of the one command of `stage` that is `step`; fails when there is none or more than one. */
function theStep(stage: Stage, step: string): Record<string, string> {
  const found = commands(stage)
    .map((c) => matchStep(step, c))
    .filter((p): p is Record<string, string> => p !== undefined);
  expect(found, `stage ${stage.name ?? '(unnamed)'} runs "${step}" exactly once`).toHaveLength(1);
  return found[0]!;
}

/** `COPY --from=FROM SRC DEST` of a stage, as [SRC, DEST]. */
function copiesFrom(stage: Stage, from: string): Array<[string, string]> {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY' && i.args.startsWith(`--from=${from} `))
    .map((i) => {
      const [, src, dest] = i.args.split(/\s+/);
      return [src!, dest!];
    });
}

let stages: Stage[];
const stage = (name: string): Stage => {
  const s = stages.find((st) => st.name === name);
  expect(s, `the Dockerfile has a stage named ${name}`).toBeDefined();
  return s!;
};

beforeAll(async () => {
  stages = parseDockerfile(await readFile(join(ROOT, 'Dockerfile'), 'utf8'));
});

describe('Dockerfile', () => {
  it('has three stages: build, install, runtime', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'install', 'runtime']);
  });

  it('packs in the build stage with the packed-install test\'s command, after npm ci of the lock file', () => {
    const build = stage('build');
    const run = commands(build);
    const ci = run.findIndex((c) => /^npm ci\b/.test(c));
    const pack = run.findIndex((c) => matchStep(PACK_STEP, c) !== undefined);
    expect(ci, 'npm ci').toBeGreaterThanOrEqual(0);
    expect(pack, PACK_STEP).toBeGreaterThan(ci);
    expect(build.instructions.some((i) => i.keyword === 'COPY' && i.args.includes('package-lock.json'))).toBe(true);
    theStep(build, PACK_STEP);
  });

  it("installs that tarball in the install stage with the packed-install test's command, into an empty prefix", () => {
    const { packDir } = theStep(stage('build'), PACK_STEP);
    const installStage = stage('install');
    const places = theStep(installStage, INSTALL_STEP);
    // The tarball the install reads is the one the build stage packed, copied to the same place.
    expect(copiesFrom(installStage, 'build')).toContainEqual([packDir!, places.packDir!]);
    // An empty prefix: nothing before the install writes there.
    expect(installStage.instructions.filter((i) => i.keyword !== 'RUN' && i.args.includes(places.prefix!))).toEqual([]);
  });

  it('runs, in the runtime stage, only what the install stage installed, as a user other than root, fetching nothing', () => {
    const { prefix } = theStep(stage('install'), INSTALL_STEP);
    const runtime = stage('runtime');
    expect(copiesFrom(runtime, 'install')).toEqual([[prefix!, prefix!]]);
    expect(copiesFrom(runtime, 'build')).toEqual([]);
    expect(runtime.instructions.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from='))).toEqual([]);
    for (const c of commands(runtime)) expect(c).not.toMatch(/\b(npm|npx|apt-get|curl|wget)\b/);
    const users = runtime.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const env = runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    expect(env).toContain(`PATH=${prefix}/bin:`);
    expect(env).toContain(`--openssl-config=${prefix}/lib/node_modules/enrollgate/deploy/openssl.cnf`);
    expect(runtime.instructions.find((i) => i.keyword === 'CMD')?.args).toBe('["enrollgate", "start"]');
  });
});
