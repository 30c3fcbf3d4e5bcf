import type { WifiConfig } from '../config/load.js';
import type { CaFormat, FilePlatform } from '../profiles/profile-service.js';
import type nunjucks from 'nunjucks';
import type { CurrentBranding } from './branding.js';
import type { Languages } from './languages/languages.js';
import type { AccountingStore } from '../accounting/accounting-store.js';
import type { AuditTrail } from '../audit/events.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/load.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { EnrollmentService } from '../devices/enrollment-service.js';
import type { Directory } from '../directory/directory.js';
import type { Mac } from '../mac.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { NasTable } from '../radius/clients.js';
import type { LoginTokenStore } from '../devices/login-token-store.js';
import type { SessionService } from '../sessions/session-service.js';
import type { StateStore } from '../store/state-store.js';
import type { DeviceCertificates } from '../devices/device-certificates.js';
import type { RevocationPublisher } from '../pki/revocation-publisher.js';
import type { FlowStore } from './flow.js';
import type { ManageVisitStore } from './manage.js';
import type { ProfileLinkStore } from './profile-links.js';
import type { Readiness } from './readiness.js';
import type { UamHandBack } from './uam/hand-back.js';
import type { StartVisits } from './visit.js';

/**
 * The files that set up a device's Wi-Fi (src/profiles): signed Apple profiles, Windows' WLAN
 * profiles, ChromeOS's ONC, and the CA and PKCS#12 the others import.
 */
export interface Profiles {
  /** The root CA as a signed profile (a com.apple.security.root payload). */
  rootProfile(): { readonly filename: string; readonly body: Buffer };
  /** The enrollment profile for one device and its owner, signed. */
  enrollmentProfile(device: { readonly mac: Mac; readonly owner: string }): Promise<{ readonly filename: string; readonly body: Buffer }>;
  /** A WLAN profile per configured network Windows can be given, each with its file's name (distinct from the others'). */
  wlanProfiles(): ReadonlyArray<{ readonly ssid: string; readonly security: WifiConfig['security']; readonly filename: string; readonly body: Buffer }>;
  /** The root CA certificate: DER (.cer, .crt) or PEM. */
  caCertificate(format?: CaFormat): { readonly filename: string; readonly body: Buffer };
  /** The configured networks the platform can be given. */
  networksFor(platform: FilePlatform): readonly WifiConfig[];
  /** Whether a network the platform can be given is EAP-TLS (the device needs its own certificate). */
  needsIdentity(platform: FilePlatform): boolean;
  /** A Chromebook's ONC file: its networks, the CA and, for EAP-TLS, a new identity (PKCS#12, empty passphrase). */
  chromeosOnc(device: { readonly mac: Mac; readonly owner: string }): Promise<{ readonly filename: string; readonly body: Buffer }>;
  /** The Android Passpoint profile for one device (passpoint.enabled), with a new EAP-TLS identity: base64 text to send as it is. */
  passpointProfile(device: { readonly mac: Mac; readonly owner: string }): Promise<{ readonly filename: string; readonly body: Buffer }>;
  /** The name the Passpoint profile carries, for the page that hands it out (the same after a reload renames the organisation). */
  passpointProviderName(): string;
  /** A new EAP-TLS identity for the device as PKCS#12, with its one-time password (never logged). */
  deviceIdentity(device: { readonly mac: Mac; readonly owner: string }): Promise<{ readonly filename: string; readonly body: Buffer; readonly password: string }>;
  /** The file name of a device's PKCS#12. */
  deviceIdentityFilename(): string;
}

/** The Android agent as the download page shows it. */
export interface AgentInfo {
  readonly name: string;
  readonly version: string;
  /** Absolute download URL (the portal's own, or an external store). */
  readonly url: string;
  readonly sizeBytes?: number;
  readonly sha256?: string;
  /** When served by the portal: the file and the name it is served under. */
  readonly file?: { readonly path: string; readonly name: string };
}

/** Everything the portal's actions use: what main.ts wires (PortalWiring), and the services createPortalApp builds from it. */
export interface PortalDeps {
  readonly config: Config;
  readonly sessions: SessionService;
  readonly devices: DeviceRegistry;
  readonly enrollment: EnrollmentService;
  readonly accounting: AccountingStore;
  readonly flows: FlowStore;
  /** "My devices" visits. */
  readonly manage: ManageVisitStore;
  /** One-time links to enrollment profiles. */
  readonly profileLinks: ProfileLinkStore;
  /** Builds and signs iOS profiles (absent only in tests that do not need them). */
  readonly profiles?: Profiles;
  /** One-time logins handed to UAM routers. */
  readonly loginTokens: LoginTokenStore;
  /** The configured routers (which of them are UAM routers, and their UAM secrets). */
  readonly nas: NasTable;
  /** Hands a login back to the UAM router that sent the browser (built from nas, loginTokens, clock, log). */
  readonly uamHandBack: UamHandBack;
  /** Who visits the start page and which page they get (visit.ts). */
  readonly startVisits: StartVisits;
  /** What /readyz reports (built from store, directory, clock, log). */
  readonly readiness: Readiness;
  readonly store: StateStore;
  readonly directory: Directory;
  readonly renderer: nunjucks.Environment;
  /** The employee pages' languages (portal.languages): each page is rendered in the visitor's. */
  readonly languages: Languages;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly log: Logger;
  /** The audit trail, for what the portal itself decides (My devices opened); the services record the rest. */
  readonly audit: AuditTrail;
  /** The root CA iOS devices download: DER and SHA-256 fingerprint. */
  readonly ca: { readonly der: Buffer; readonly fingerprint: string };
  readonly agent?: AgentInfo;
  /** The organisation's logo and terms of use (portal.branding, portal.terms), as a reload leaves them; absent in tests without them. */
  readonly branding?: CurrentBranding;
  /** The CA's CRL and OCSP answers (absent only in tests that do not need them: /pki/ then answers 404). */
  readonly revocation?: Pick<RevocationPublisher, 'crl' | 'ocsp'>;
  /** Issues EAP-TLS identities bound to enrolled devices (the agent API's identity); absent when eap-tls is not offered. */
  readonly identities?: Pick<DeviceCertificates, 'issue'>;
  /** What an Android device needs besides its identity to join the EAP-TLS network: the RADIUS server's name and the CA (PEM). */
  readonly eapTls?: { readonly serverName: string; readonly caPem: string };
  /** The RADIUS workers' metrics (radius.workers > 1), Prometheus text. */
  readonly workerMetrics?: () => Promise<string>;
}

/** What main.ts wires for the portal, once: PortalDeps but for the services the app builds from it. */
export type PortalWiring = Omit<PortalDeps, 'uamHandBack' | 'startVisits' | 'readiness'>;
