/**
 * What the portal calls to hand out profiles: builds a device's enrollment
 * profile (issuing its EAP-TLS identity when a network needs one) or the root
 * CA profile, signs it, and names the file. Rendering the answer
 * (Content-Type MOBILECONFIG_TYPE, Content-Disposition: attachment) is the
 * portal's job.
 */
import { createPrivateKey } from 'node:crypto';
import type { Config, WifiConfig } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { certificateDer, loadIssuingCa, type CertificateAuthority, type IssuingCa } from '../pki/ca.js';
import { createProfileSigner, type ProfileSigner } from '../pki/cms.js';
import { DeviceKeyGenerator, issueDeviceIdentity, pkcs12WithoutPassword, type DeviceIdentity, type PkcsPassphrase } from '../pki/identity.js';
import { loadProfileSigning } from '../pki/profile-signing.js';
import type { RevocationUrls } from '../pki/revocation-urls.js';
import { buildEnrollmentProfile, buildRootProfile, type ProfileOrigin } from './apple-profile.js';
import { uuidKeyFromCaKey } from './payload-uuid.js';
import { buildPasspointProfile } from './passpoint.js';
import { buildWlanProfile, caThumbprint, windowsSupports, wlanFilenames } from './windows-wlan-profile.js';
import { buildOnc, chromeosSupports } from './chromeos-onc.js';

/** The config a ProfileService reads: passpoint only where Android gets Passpoint profiles. */
type ProfileConfig = Pick<Config, 'ios' | 'portal'> & Partial<Pick<Config, 'passpoint'>>;

/** The Content-Type of a configuration profile (signed or not) that makes Safari offer to install it. */
export const MOBILECONFIG_TYPE = 'application/x-apple-aspen-config';

/** A signed profile, ready to send. */
export interface ProfileFile {
  /** ASCII only, safe in Content-Disposition without quoting tricks. */
  readonly filename: string;
  /** CMS SignedData (DER) with the XML plist attached. */
  readonly body: Buffer;
}

/** What a ProfileService is built from (see createProfileService for the usual way). */
export interface ProfileServiceOptions {
  readonly config: ProfileConfig;
  readonly ca: CertificateAuthority;
  readonly signer: ProfileSigner;
  /** Secret for the payload UUIDs; default: derived from the CA key, so they survive restarts. */
  readonly uuidKey?: Buffer;
  /**
   * Issues the EAP-TLS identity and binds it to the device's enrollment
   * (devices/device-certificates.ts). Without it (benches, tests of the profile's shape)
   * identities are issued unbound, which the gateway itself never does.
   */
  readonly identities?: { issue(device: { readonly mac: string; readonly owner: string }, via: 'profile', passphrase?: PkcsPassphrase): Promise<DeviceIdentity> };
}

/** The platforms that get files other than Apple's profile, and the networks each can be given. */
export type FilePlatform = 'windows' | 'chromeos' | 'linux' | 'android';

const SUPPORTS: Readonly<Record<FilePlatform, (n: WifiConfig) => boolean>> = {
  windows: windowsSupports,
  chromeos: chromeosSupports,
  // NetworkManager and Android's form take every kind of network configured (SAE too).
  linux: () => true,
  android: () => true,
};

/** The forms the root CA is handed out in: DER as .cer (Windows' import wizard), DER as .crt (Android's installer), PEM (NetworkManager). */
export type CaFormat = 'cer' | 'crt' | 'pem';

export class ProfileService {
  private readonly config: ProfileConfig;
  private readonly issuer: IssuingCa;
  private readonly caDer: Buffer;
  private readonly caPem: string;
  private readonly signer: ProfileSigner;
  private readonly uuidKey: Buffer;
  private origin: ProfileOrigin;
  private filePrefix: string;
  private root: ProfileFile | undefined;
  /** Shared by every request: device keys are generated one at a time. */
  private readonly keys = new DeviceKeyGenerator();
  private readonly identities: NonNullable<ProfileServiceOptions['identities']>;

  constructor(options: ProfileServiceOptions) {
    this.config = options.config;
    this.issuer = loadIssuingCa(options.ca);
    this.caDer = certificateDer(options.ca.certPem);
    this.caPem = options.ca.certPem;
    this.signer = options.signer;
    this.uuidKey =
      options.uuidKey ?? uuidKeyFromCaKey(createPrivateKey(options.ca.keyPem).export({ type: 'pkcs8', format: 'der' }));
    const displayName = options.config.ios.profile.display_name;
    this.origin = { identifier: options.config.ios.profile.identifier, organisation: options.config.portal.organisation_name, ...(displayName ? { displayName } : {}) };
    this.filePrefix = fileSlug(this.origin.organisation);
    this.identities = options.identities ?? {
      issue: (device, _via, passphrase) => issueDeviceIdentity(this.issuer, { user: device.owner, mac: device.mac, ...(passphrase ? { passphrase } : {}) }, this.keys),
    };
  }

  /** portal.organisation_name of a reloaded config: the name in the profiles and files handed out from now on. */
  rename(organisation: string): void {
    this.origin = { ...this.origin, organisation };
    this.filePrefix = fileSlug(organisation);
    this.root = undefined;
  }

  /** The signed enrollment profile of one device of `owner`; issues a new EAP-TLS identity when a network is eap-tls. */
  async enrollmentProfile(device: { readonly mac: string; readonly owner: string }): Promise<ProfileFile> {
    const wifi = this.config.ios.wifi;
    const identity = wifi.some((w) => w.security === 'eap-tls')
      ? await this.identities.issue(device, 'profile')
      : undefined;
    const xml = buildEnrollmentProfile({
      ...this.origin,
      mac: device.mac,
      user: device.owner,
      caDer: this.caDer,
      wifi,
      ...(identity ? { identity } : {}),
      uuidKey: this.uuidKey,
    });
    return { filename: `${this.filePrefix}-wifi.mobileconfig`, body: this.signer.sign(Buffer.from(xml, 'utf8')) };
  }

  /** The Windows WLAN profile of each configured network Windows can be given (windowsSupports), for `netsh wlan add profile`. */
  wlanProfiles(): Array<{ readonly ssid: string; readonly security: WifiConfig['security']; readonly filename: string; readonly body: Buffer }> {
    const context = { caThumbprint: caThumbprint(this.caDer) };
    const networks = this.networksFor('windows');
    // Named together: two networks whose names come out alike get distinct files.
    const filenames = wlanFilenames(networks.map((n) => n.ssid));
    return networks.map((n, i) => ({ ssid: n.ssid, security: n.security, filename: filenames[i]!, body: Buffer.from(buildWlanProfile(n, context), 'utf8') }));
  }

  /** The root CA certificate: DER by default, as a .cer file Windows opens with its certificate import wizard. */
  caCertificate(format: CaFormat = 'cer'): ProfileFile {
    return { filename: `${this.filePrefix}-root-ca.${format}`, body: format === 'pem' ? Buffer.from(this.caPem, 'ascii') : this.caDer };
  }

  /** The configured networks the platform can be given. */
  networksFor(platform: FilePlatform): WifiConfig[] {
    return this.config.ios.wifi.filter(SUPPORTS[platform]);
  }

  /** Whether a network the platform can be given is EAP-TLS (the device needs its own certificate). */
  needsIdentity(platform: FilePlatform): boolean {
    return this.networksFor(platform).some((n) => n.security === 'eap-tls');
  }

  /**
   * The ONC file for a Chromebook of `owner` (chromeos-onc.ts): the networks ChromeOS takes,
   * the CA, and for EAP-TLS a new identity whose PKCS#12 has the empty passphrase ONC requires.
   */
  async chromeosOnc(device: { readonly mac: string; readonly owner: string }): Promise<ProfileFile> {
    const identity = this.needsIdentity('chromeos') ? await this.identities.issue(device, 'profile', 'empty') : undefined;
    const text = buildOnc(this.networksFor('chromeos'), {
      caDer: this.caDer,
      guidKey: this.uuidKey,
      user: device.owner,
      ...(identity ? { clientPkcs12: identity.p12 } : {}),
    });
    return { filename: `${this.filePrefix}-wifi.onc`, body: Buffer.from(text, 'utf8') };
  }

  /** A new EAP-TLS identity for the device, bound to its enrollment, as a PKCS#12 file and its one-time (non-empty) password. */
  async deviceIdentity(device: { readonly mac: string; readonly owner: string }): Promise<ProfileFile & { readonly password: string }> {
    const identity = await this.identities.issue(device, 'profile');
    return { filename: this.deviceIdentityFilename(), body: identity.p12, password: identity.password };
  }

  /** The provider name Android shows for the Passpoint profile (passpoint.friendly_name, else the organisation's, as a reload renamed it). */
  passpointProviderName(): string {
    return this.config.passpoint?.friendly_name ?? `${this.origin.organisation} Wi-Fi`;
  }

  /**
   * The Android Passpoint profile of one device of `owner` (passpoint.enabled): a new
   * EAP-TLS identity, bound to the device, in a PKCS#12 with no password, as Android's
   * installer requires (profiles/passpoint.ts). The body is sent as it is, base64 text.
   */
  async passpointProfile(device: { readonly mac: string; readonly owner: string }): Promise<ProfileFile> {
    const passpoint = this.config.passpoint;
    if (!passpoint?.enabled || passpoint.fqdn === undefined) throw new Error('passpointProfile: passpoint is not enabled');
    const identity = await this.identities.issue(device, 'profile');
    const text = buildPasspointProfile(
      {
        fqdn: passpoint.fqdn,
        friendlyName: this.passpointProviderName(),
        realm: passpoint.realm ?? passpoint.fqdn,
        roamingConsortiumOis: passpoint.roaming_consortium_ois,
      },
      { caDer: this.caDer, clientPkcs12: pkcs12WithoutPassword(identity.p12, identity.password), clientCertificate: identity.certificatePem },
    );
    return { filename: `${this.filePrefix}-passpoint.config`, body: Buffer.from(text, 'ascii') };
  }

  /** The file name of a device's PKCS#12. */
  deviceIdentityFilename(): string {
    return `${this.filePrefix}-wifi-identity.p12`;
  }

  /** The signed profile with the root CA only, built once (its signingTime is that of the first call). */
  rootProfile(): ProfileFile {
    this.root ??= {
      filename: `${this.filePrefix}-root-ca.mobileconfig`,
      // Not ios.profile.display_name: that names the Wi-Fi profile.
      body: this.signer.sign(
        Buffer.from(
          buildRootProfile({ identifier: this.origin.identifier, organisation: this.origin.organisation, caDer: this.caDer, uuidKey: this.uuidKey }),
          'utf8',
        ),
      ),
    };
    return this.root;
  }
}

/**
 * Builds the service at start: the signing certificate from ios.profile.signing, else one
 * issued by `ca` in memory (naming `revocation`'s CRL and OCSP responder).
 */
export function createProfileService(
  config: ProfileConfig,
  ca: CertificateAuthority,
  more: { identities?: ProfileServiceOptions['identities']; revocation?: RevocationUrls } = {},
): ProfileService {
  const material = loadProfileSigning(config, ca, more.revocation);
  let signer: ProfileSigner;
  try {
    signer = createProfileSigner(material);
  } catch (cause) {
    throw new ConfigError(`ios.profile.signing: cannot sign with this certificate and key (${(cause as Error).message})`, [], { cause });
  }
  return new ProfileService({ config, ca, signer, ...(more.identities ? { identities: more.identities } : {}) });
}

/** "Example Corp" → "example-corp": an ASCII file name part, never empty. */
function fileSlug(text: string): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase()
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug === '' ? 'enrollgate' : slug;
}
