import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Throwaway certificates for bench:eap, made with the `openssl` command in a temporary
 * folder at the start of a run and removed with it (never committed): a CA, an EAP
 * server certificate it signs (serverAuth EKU), and device certificates (clientAuth EKU)
 * with an ECDSA P-256 key and with an RSA-2048 key.
 */

const run = promisify(execFile);

/** The kinds of device key the benchmark measures. */
export const CLIENT_KEY_TYPES = ['p256', 'rsa2048'] as const;
export type ClientKeyType = (typeof CLIENT_KEY_TYPES)[number];

/** Paths of a PEM certificate and its key. */
export interface CertFiles {
  cert: string;
  key: string;
}

export interface BenchPki {
  ca: CertFiles;
  server: CertFiles;
  /** The name in the server certificate (CN and DNS subjectAltName) the client checks. */
  serverName: string;
  clients: Record<ClientKeyType, CertFiles>;
}

const KEY_ARGS: Record<ClientKeyType | 'rsa3072', string[]> = {
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  rsa2048: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  rsa3072: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'],
};

async function newKey(file: string, type: keyof typeof KEY_ARGS): Promise<void> {
  await run('openssl', ['genpkey', ...KEY_ARGS[type], '-out', file]);
}

/** Signs a new certificate for `key` with the CA, with the given extensions (an `openssl x509 -extfile` section). */
async function issue(dir: string, name: string, key: string, subject: string, ca: CertFiles, extensions: string): Promise<string> {
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const cert = join(dir, `${name}.pem`);
  await writeFile(ext, `[ext]\n${extensions}\n`);
  await run('openssl', ['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', ext, '-extensions', 'ext', '-out', cert]);
  return cert;
}

/** The EAP server's certificate (RSA-2048, serverAuth EKU) for `serverName`, signed by `ca`. */
export async function issueServerCert(dir: string, ca: CertFiles, serverName: string): Promise<CertFiles> {
  const key = join(dir, 'eap-server-key.pem');
  await newKey(key, 'rsa2048');
  const cert = await issue(
    dir,
    'eap-server',
    key,
    `/CN=${serverName}`,
    ca,
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${serverName}`,
  );
  return { cert, key };
}

/**
 * One device certificate per key type (clientAuth EKU), signed by `ca`; with `devices`,
 * each also names its device (subjectAltName URI urn:enrollgate:device:<mac>, as the
 * gateway's own identities do), which the gateway's EAP-TLS requires.
 */
export async function issueClientCerts(dir: string, ca: CertFiles, devices?: Record<ClientKeyType, string>): Promise<Record<ClientKeyType, CertFiles>> {
  const out = {} as Record<ClientKeyType, CertFiles>;
  for (const type of CLIENT_KEY_TYPES) {
    const key = join(dir, `client-${type}-key.pem`);
    await newKey(key, type);
    const cert = await issue(
      dir,
      `client-${type}`,
      key,
      `/CN=bench-device-${type}`,
      ca,
      `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth${devices ? `\nsubjectAltName=URI:urn:enrollgate:device:${devices[type]}` : ''}`,
    );
    out[type] = { cert, key };
  }
  return out;
}

/** A new CA (RSA-3072, like the gateway's own) with a server certificate and both device certificates. */
export async function createBenchPki(dir: string, serverName = 'radius.bench.test'): Promise<BenchPki> {
  const ca: CertFiles = { cert: join(dir, 'ca.pem'), key: join(dir, 'ca-key.pem') };
  await newKey(ca.key, 'rsa3072');
  await run('openssl', [
    'req', '-x509', '-new', '-key', ca.key, '-subj', '/CN=enrollgate bench CA', '-days', '2', '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', ca.cert,
  ]);
  return { ca, server: await issueServerCert(dir, ca, serverName), serverName, clients: await issueClientCerts(dir, ca) };
}
