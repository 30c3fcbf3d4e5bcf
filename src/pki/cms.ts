/**
 * Signs configuration profiles: CMS SignedData (RFC 5652) with the content
 * attached, as Apple devices expect a signed .mobileconfig.
 *
 * forge builds the structure (Node has no CMS API); the RSA signature itself is
 * computed by OpenSSL through native-rsa-signer.ts, ~1.5 ms instead of ~55 ms of
 * blocked event loop per profile (docs/dependencies.md, "node-forge"). forge
 * cannot verify what it signs: the tests check it with `openssl cms -verify`.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { nativeRsaSigner, asForgeKey, type ForgeSigningKey } from './native-rsa-signer.js';

/** Signs profile bytes with one certificate. */
export interface ProfileSigner {
  /** CMS SignedData, DER, with `content` attached, the signer certificate and its chain included. */
  sign(content: Buffer): Buffer;
  /** The signer's certificate (PEM). */
  readonly certificatePem: string;
}

/** The signing certificate, its RSA private key and the certificates between it and a root the devices trust. */
export interface SigningMaterial {
  readonly certPem: string;
  readonly keyPem: string;
  /** Intermediates (and optionally the root), included in the signature so devices can build the chain. */
  readonly chainPems?: readonly string[];
}

/** Checks the material once (key is RSA and matches the certificate) and returns a signer. */
export function createProfileSigner(material: SigningMaterial): ProfileSigner {
  const x509 = new X509Certificate(material.certPem);
  const key: KeyObject = createPrivateKey(material.keyPem);
  if (!x509.checkPrivateKey(key)) throw new Error('the signing key does not belong to the signing certificate');
  const signingKey = nativeRsaSigner(key);
  // Parsed once: forge re-encodes them from these objects at every signature.
  const signerCert = forgeCertificate(material.certPem, 'the signing certificate');
  const chain = (material.chainPems ?? []).map((pem, i) => forgeCertificate(pem, `chain certificate ${i + 1}`));
  const certificatePem = x509.toString();
  return {
    certificatePem,
    sign: (content) => signAttached(content, signerCert, chain, signingKey),
  };
}

function signAttached(
  content: Buffer,
  signerCert: forge.pki.Certificate,
  chain: readonly forge.pki.Certificate[],
  key: ForgeSigningKey,
): Buffer {
  const p7 = forge.pkcs7.createSignedData();
  p7.content = forge.util.createBuffer(content.toString('binary'));
  p7.addCertificate(signerCert);
  for (const cert of chain) p7.addCertificate(cert);
  p7.addSigner({
    key: asForgeKey(key),
    certificate: signerCert,
    digestAlgorithm: forge.pki.oids.sha256!,
    // RFC 5652 §5.3: with content other than id-data these are required; with
    // id-data they are what every verifier expects, and signingTime shows on the
    // device. Listed in DER SET OF order (X.690 §11.6, by encoding: the shortest
    // attributes first), since forge writes them as given and a verifier that
    // re-encodes the set before checking the signature would sort them.
    authenticatedAttributes: [
      { type: forge.pki.oids.contentType!, value: forge.pki.oids.data! },
      { type: forge.pki.oids.signingTime!, value: new Date() as unknown as string },
      { type: forge.pki.oids.messageDigest! },
    ],
  });
  p7.sign();
  return Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary');
}

function forgeCertificate(pem: string, what: string): forge.pki.Certificate {
  try {
    return forge.pki.certificateFromPem(pem);
  } catch (cause) {
    throw new Error(`${what} cannot be read by node-forge (it must be an RSA certificate in PEM)`, { cause });
  }
}
