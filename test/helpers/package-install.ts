/**
 * How enrollgate is packed and installed without a checkout, written once for the two places
 * that do it: test/integration/deploy/packed-install.test.ts runs these commands on this
 * machine, and the Dockerfile must run the same ones (dockerfile.test.ts checks it), so
 * the image cannot install differently from what was tested.
 *
 * Each step is one shell command; `{name}` marks a path each place chooses for itself.
 * The install step names the tarball by a shell glob, so a version bump changes neither.
 */

/** In the build stage (a checkout with its dev dependencies): the package, built by `prepack`. */
export const PACK_STEP = 'npm pack --pack-destination {packDir}';

/**
 * In an empty prefix: the package and its production dependencies from the registry
 * (better-sqlite3 fetches or builds its native part here, never at start).
 */
export const INSTALL_STEP = 'npm install --global --prefix {prefix} --omit=dev --no-audit --no-fund {packDir}/enrollgate-*.tgz';

/** A step with its places filled in. */
export function fill(step: string, places: Readonly<Record<string, string>>): string {
  return step.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = places[name];
    if (value === undefined) throw new Error(`no value for {${name}} in: ${step}`);
    return value;
  });
}

/**
 * The places a command chose, if it is `step` with its `{name}`s filled in by words without
 * spaces (a Dockerfile's paths); undefined when it is another command.
 */
export function matchStep(step: string, command: string): Record<string, string> | undefined {
  const names: string[] = [];
  const pattern = step
    .split(/(\{\w+\})/)
    .map((part) => {
      const m = /^\{(\w+)\}$/.exec(part);
      if (m) {
        names.push(m[1]!);
        return '(\\S+?)';
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  const found = new RegExp(`^${pattern}$`).exec(command.trim().replace(/\s+/g, ' '));
  if (!found) return undefined;
  const places: Record<string, string> = {};
  for (const [i, name] of names.entries()) {
    const value = found[i + 1]!;
    if (places[name] !== undefined && places[name] !== value) return undefined;
    places[name] = value;
  }
  return places;
}
