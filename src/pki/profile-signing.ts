/**
 * Where the profile-signing certificate comes from, read once at start: the files
 * named by ios.profile.signing (a publicly trusted certificate shows "Verified"
 * on devices), else a certificate issued by the gateway's CA in memory, never
 * written to disk, so that there is no second key file to protect.
 *
 * Also reads the gateway CA's certificate and key (pki.*), which the portal's
 * start-up reading (main.ts readMaterials) does not need for anything else.
 * Every problem is a ConfigError naming the key and the file; no message quotes
 * a file's contents.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { issueProfileSigningCertificate, loadIssuingCa, type CertificateAuthority } from './ca.js';
import type { SigningMaterial } from './cms.js';
import type { RevocationUrls } from './revocation-urls.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** Reads pki.ca_cert_file and pki.ca_key_file and checks they are an RSA CA and its key. */
export function loadGatewayCa(config: Pick<Config, 'pki'>): CertificateAuthority {
  const certPem = readPem(config.pki.ca_cert_file, 'pki.ca_cert_file');
  const keyPem = readPem(config.pki.ca_key_file, 'pki.ca_key_file');
  const ca = { certPem, keyPem };
  try {
    loadIssuingCa(ca);
  } catch (cause) {
    throw new ConfigError(`pki: ${config.pki.ca_cert_file} and ${config.pki.ca_key_file} are not a usable CA (${(cause as Error).message})`, [], { cause });
  }
  return ca;
}

/** The certificate, key and chain that sign profiles: from ios.profile.signing when set, else issued by the gateway CA now. */
export function loadProfileSigning(config: Pick<Config, 'ios'>, ca: CertificateAuthority, revocation?: RevocationUrls): SigningMaterial {
  const files = config.ios.profile.signing;
  if (files === undefined) {
    const issued = issueProfileSigningCertificate(ca, revocation ? { revocation } : {});
    // The root goes with it: a device that already trusts the root needs nothing
    // more, and one that does not can still see whom the profile claims to be from.
    return { certPem: issued.certPem, keyPem: issued.keyPem, chainPems: [ca.certPem] };
  }

  const certPem = readPem(files.cert_file, 'ios.profile.signing.cert_file');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (cause) {
    throw new ConfigError(`ios.profile.signing.cert_file: ${files.cert_file} is not a PEM certificate`, [], { cause });
  }
  const keyPem = readPem(files.key_file, 'ios.profile.signing.key_file');
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (cause) {
    // OpenSSL's message says what it could not decode, never the bytes; keep it out anyway.
    throw new ConfigError(`ios.profile.signing.key_file: ${files.key_file} is not a PEM private key`, [], { cause });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new ConfigError(`ios.profile.signing.key_file: ${files.key_file} is a ${key.asymmetricKeyType} key; profiles are signed with RSA keys only`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new ConfigError(`ios.profile.signing.key_file: ${files.key_file} is not the key of the certificate in ${files.cert_file}`);
  }
  const chainPems = files.chain_file === undefined ? [] : readChain(files.chain_file);
  return { certPem, keyPem, chainPems };
}

function readChain(path: string): string[] {
  const text = readPem(path, 'ios.profile.signing.chain_file');
  const pems = text.match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) throw new ConfigError(`ios.profile.signing.chain_file: ${path} holds no PEM certificate`);
  pems.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (cause) {
      throw new ConfigError(`ios.profile.signing.chain_file: certificate ${i + 1} in ${path} cannot be read`, [], { cause });
    }
  });
  return pems;
}

function readPem(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, [], { cause: err });
  }
}
