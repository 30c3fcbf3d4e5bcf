import { defineConfig } from 'vitest/config';

/**
 * Two projects, each checking for the peers its tests talk to before any of them runs
 * (vitest runs a project's globalSetup only when files of that project are selected):
 * `test/unit/` needs only openssl, xmllint and nmcli (require-unit-peers.ts), everything else
 * needs every peer. `npm run test:unit`
 * and a single unit file therefore run on a machine without slapd or Redis; `npm test`
 * still fails at once when any peer is missing. The second also compiles src/ for this run
 * (build-sources.ts), for the suites that run enrollgate as a process of its own.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], globalSetup: ['test/helpers/require-unit-peers.ts'] },
      },
      {
        extends: true,
        test: { name: 'with-peers', include: ['test/**/*.test.ts'], exclude: ['test/unit/**'], globalSetup: ['test/helpers/require-peers.ts', 'test/helpers/build-sources.ts'] },
      },
    ],
  },
});
