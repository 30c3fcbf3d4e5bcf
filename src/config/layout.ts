import { fileURLToPath } from 'node:url';

/**
 * Where a gateway's files go when nobody says: beside a checkout, or in the system's places
 * when enrollgate was installed as a package (`npm install -g enrollgate-<version>.tgz`).
 */
export interface Layout {
  /** How enrollgate is on this machine: a checkout (git clone, `npm link`) or an installed package. */
  readonly kind: 'checkout' | 'package';
  /** The config file when neither --config nor $ENROLLGATE_CONFIG names one (relative to the working directory). */
  readonly configFile: string;
  /** Where `init` writes the config, users file and secrets without --dir. */
  readonly configDir: string;
  /** Where `init` puts the CA and certificates without --dir or --certs. */
  readonly certsDir: string;
  /** Where `init` without --dir puts the SQLite state and the audit trail; undefined: beside the config. */
  readonly stateDir?: string;
}

/** The config file's name in its directory (init writes it; start looks for it). */
export const CONFIG_NAME = 'enrollgate.yaml';

/** The checkout's (or the installed package's) top directory: the same relative place from src/ and dist/. */
const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));

const CHECKOUT: Layout = { kind: 'checkout', configFile: 'data/enrollgate.yaml', configDir: 'data', certsDir: 'certs' };

// /etc for what the admin edits, /var/lib for what the gateway writes (FHS; systemd's
// StateDirectory=enrollgate makes the second). An installed package's own directory is
// replaced by the next version, so nothing may be kept there.
const PACKAGE: Layout = {
  kind: 'package',
  configFile: '/etc/enrollgate/enrollgate.yaml',
  configDir: '/etc/enrollgate',
  certsDir: '/var/lib/enrollgate/certs',
  stateDir: '/var/lib/enrollgate',
};

/**
 * The layout for enrollgate's code in `packageDir`: a package when that directory is inside a
 * node_modules folder, which is where npm puts an installed package (global or not), and never
 * a checkout. Node gives modules their real path, so an `npm link`ed checkout stays a checkout.
 */
export function layoutFor(packageDir: string = PACKAGE_DIR): Layout {
  return packageDir.split(/[\\/]/).includes('node_modules') ? PACKAGE : CHECKOUT;
}
