import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { isIP } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { exampleConfig } from '../../config/example.js';
import { CONFIG_NAME } from '../../config/layout.js';
import { createUsersFile } from '../../directory/file-directory.js';
import { EAP_SERVER_CERT, EAP_SERVER_KEY, writeEapServerCertificate, writeGatewayPki } from '../../pki/ca.js';
import { eapServerName } from '../../pki/eap-server-name.js';
import { HOW_TO_GET_ONE, UNTRUSTED_PORTAL_SEES } from '../../pki/portal-certificate.js';
import { loadGatewayCa } from '../../pki/profile-signing.js';
import { revocationUrls } from '../../pki/revocation-urls.js';

export interface InitOptions {
  /** Where the config, users file, secrets and state go. */
  readonly dir: string;
  /** Where the CA and server certificate go. */
  readonly certsDir: string;
  /** Where the SQLite state and the audit trail go (absolute paths in the config); default: beside the config. */
  readonly stateDir?: string;
  /** The portal's public URL (its host is put into the server certificate). */
  readonly portalUrl?: string;
  /** The address the portal and RADIUS listen on (default 127.0.0.1). */
  readonly listen?: string;
  /** Keep the first user's NT hash in the users file too (802.1X PEAP; password-equivalent). */
  readonly ntHash?: boolean;
  /** Where to print what the admin must see once. */
  readonly print: (line: string) => void;
}

const FIRST_USER = 'employee';

/**
 * radius.workers for a machine with this many cores: RADIUS authentication in one worker
 * per core (and one more for accounting), up to the schema's 16; on one core, in the main
 * process (bench:radius: two workers answer 1.3 to 1.8 times what one process does).
 */
export function radiusWorkersFor(cores: number): number {
  return Math.max(1, Math.min(16, Math.floor(cores)));
}

/** A portable relative path for the config file (paths in it are relative to it). */
function rel(from: string, to: string): string {
  return relative(from, to).split('\\').join('/') || '.';
}

/**
 * Sets up a new installation: CA and server certificate, a users file with one
 * user, a RADIUS secret for a router on this machine, and a commented config.
 * Never overwrites: an existing config is an error, existing certificates are kept.
 */
export async function initCommand(o: InitOptions): Promise<string> {
  const dir = resolve(o.dir);
  const certsDir = resolve(o.certsDir);
  const configFile = join(dir, CONFIG_NAME);
  if (existsSync(configFile)) throw new Error(`${configFile} already exists; init never overwrites it (remove it to start afresh)`);
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const names = ['127.0.0.1', 'localhost'];
  if (o.portalUrl) names.unshift(new URL(o.portalUrl).hostname.replace(/^\[|\]$/g, ''));
  const host = hostname();
  if (host && /^[A-Za-z0-9.-]+$/.test(host) && !names.includes(host) && isIP(host) === 0) names.push(host);
  // The portal's default base URL (config schema) when none is given: what the certificates name for the CRL and OCSP.
  const revocation = revocationUrls({ portal: { base_url: o.portalUrl ?? 'https://127.0.0.1:8443' }, pki: {} });
  const eapName = eapServerName({ portalUrl: o.portalUrl ?? 'https://127.0.0.1:8443', hostname: host });
  if (existsSync(join(certsDir, 'ca.pem'))) {
    o.print(`Keeping the existing CA and server certificate in ${certsDir}.`);
    if (!existsSync(join(certsDir, EAP_SERVER_CERT)) && !existsSync(join(certsDir, EAP_SERVER_KEY))) {
      const ca = loadGatewayCa({ pki: { ca_cert_file: join(certsDir, 'ca.pem'), ca_key_file: join(certsDir, 'ca-key.pem') } });
      await writeEapServerCertificate(certsDir, ca, { name: eapName, revocation });
      o.print(`Created the EAP server certificate for ${eapName} from the existing CA in ${certsDir}.`);
    }
  } else {
    await writeGatewayPki(certsDir, { commonName: `enrollgate root CA (${host || 'gateway'})`, serverNames: [...new Set(names)], eapServerName: eapName, revocation });
    o.print(`Created the gateway's root CA and a server certificate for ${[...new Set(names)].join(', ')} in ${certsDir} (keys mode 0600, never commit them).`);
    o.print(`Created the EAP (802.1X) server certificate for ${eapName}: put this name in ios.wifi[].server_names of enterprise networks.`);
  }

  const usersFile = join(dir, 'users.yaml');
  if (existsSync(usersFile)) {
    o.print(`Keeping the existing users file ${usersFile}.`);
  } else {
    const password = await createUsersFile(usersFile, FIRST_USER, { ntHash: o.ntHash ?? false });
    o.print(`Created ${usersFile} with the user "${FIRST_USER}". Its password, shown only this once: ${password}`);
    if (o.ntHash) o.print(`${usersFile} also keeps the user's NT hash (for PEAP): it is password-equivalent, keep the file private.`);
  }

  const secretsDir = join(dir, 'secrets');
  await mkdir(secretsDir, { recursive: true, mode: 0o700 });
  const secretFile = join(secretsDir, 'nas-localhost.secret');
  if (!existsSync(secretFile)) {
    await writeFile(secretFile, `${routerSecret()}\n`, { mode: 0o600, flag: 'wx' });
  }
  o.print(`The RADIUS shared secret for a router on 127.0.0.1 is in ${secretFile}.`);

  const stateDir = o.stateDir !== undefined ? resolve(o.stateDir) : undefined;
  if (stateDir !== undefined) await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const listen = o.listen ? { host: o.listen } : {};
  const config = exampleConfig(
    {
      portal: {
        ...(o.portalUrl ? { base_url: o.portalUrl } : {}),
        http: listen,
        https: { ...listen, cert_file: rel(dir, join(certsDir, 'server.pem')), key_file: rel(dir, join(certsDir, 'server-key.pem')) },
      },
      radius: {
        ...listen,
        workers: radiusWorkersFor(availableParallelism()),
        clients: [{ name: 'localhost', address: '127.0.0.1', secret: { file: rel(dir, secretFile) }, require_message_authenticator: true, no_session: { answer: 'reject' } }],
      },
      eap: { cert_file: rel(dir, join(certsDir, EAP_SERVER_CERT)), key_file: rel(dir, join(certsDir, EAP_SERVER_KEY)) },
      pki: { ca_cert_file: rel(dir, join(certsDir, 'ca.pem')), ca_key_file: rel(dir, join(certsDir, 'ca-key.pem')) },
      // Absolute: the config is in /etc, its state elsewhere; relative paths would read as "beside the config".
      ...(stateDir !== undefined ? { store: { sqlite_file: join(stateDir, 'state.sqlite') }, audit: { dir: join(stateDir, 'audit') } } : {}),
    },
    [
      'enrollgate configuration, written by `enrollgate init`.',
      'Every key is shown with its default and what it does; paths are relative to this file.',
      'Secrets can be given inline, as { env: VARIABLE } or as { file: path }.',
      'Check it with: enrollgate check-config --config <this file>',
    ].join('\n'),
  );
  await writeFile(configFile, config, { mode: 0o600, flag: 'wx' });
  o.print(`Wrote ${configFile}.`);
  // The portal's certificate init made is the gateway CA's: say so, and what it costs, before anyone tries a phone.
  const portalHost = new URL(o.portalUrl ?? 'https://127.0.0.1:8443').hostname.replace(/^\[|\]$/g, '');
  o.print(
    `Before employees use the portal: it needs a publicly trusted HTTPS certificate for ${portalHost}. The one init made (${join(certsDir, 'server.pem')}) ` +
      `is issued by the gateway's own CA, which phones do not trust: ${UNTRUSTED_PORTAL_SEES}. Put a publicly trusted certificate and its key in ` +
      `portal.https.cert_file and key_file (${HOW_TO_GET_ONE}); check-config and start warn until then.`,
  );
  return configFile;
}

/**
 * A new RADIUS shared secret: 24 random bytes as base64url (32 characters, which every router
 * family takes). Never one beginning with "-": admins paste it into command lines (radclient,
 * RouterOS, a controller's CLI), where it would be read as an option, as one in 64 would be.
 */
export function routerSecret(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const secret = random(24).toString('base64url');
    if (!secret.startsWith('-')) return secret;
  }
}
