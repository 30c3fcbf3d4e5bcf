/**
 * Apple configuration profiles (.mobileconfig) as XML property lists: the root
 * CA alone, and a device's enrollment profile (root CA, its Wi-Fi networks and,
 * for EAP-TLS, its identity). Pure builders: no I/O, no signing (pki/cms.ts signs).
 *
 * Identifiers and PayloadUUIDs are derived from the device's MAC (payload-uuid.ts),
 * so the same device gets the same ones at every download and installing again
 * replaces the profile (Apple: a profile with the same PayloadIdentifier replaces
 * the installed one). The XML is written by the `plist` package, which escapes
 * text and base64-encodes data; nothing here concatenates XML.
 */
import { build, type PlistValue } from 'plist';
import type { WifiConfig } from '../config/load.js';
import { parseMac } from '../mac.js';
import { derivedUuid } from './payload-uuid.js';
import { wifiPayload } from './wifi-payload.js';

type PlistDict = { [key: string]: PlistValue };

/** What every profile says about who it comes from. */
export interface ProfileOrigin {
  /** The reverse-DNS prefix of every identifier (ios.profile.identifier). */
  readonly identifier: string;
  /** Shown as the profile's name; default "<organisation> Wi-Fi". */
  readonly displayName?: string;
  readonly organisation: string;
}

/** A profile holding only the gateway's root CA (com.apple.security.root). */
export function buildRootProfile(options: ProfileOrigin & { caDer: Buffer; uuidKey: Buffer }): string {
  const identifier = `${options.identifier}.root`;
  const payload = rootPayload(options.caDer, `${identifier}.ca`, derivedUuid(options.uuidKey, 'root/root-ca/'), options.organisation);
  return build(
    configuration(options, {
      identifier,
      uuid: derivedUuid(options.uuidKey, 'root/configuration/'),
      displayName: options.displayName ?? `${options.organisation} root certificate`,
      description: `Installs the ${options.organisation} root certificate, which the Wi-Fi portal and network present.`,
      content: [payload],
    }),
  );
}

/** Everything one device's enrollment profile is built from. */
export interface EnrollmentProfileOptions extends ProfileOrigin {
  readonly mac: string;
  /** The person the device is enrolled to: the EAP user name and the identity's subject. */
  readonly user: string;
  readonly caDer: Buffer;
  readonly wifi: readonly WifiConfig[];
  /** The device's PKCS#12 identity; required when a network is eap-tls. */
  readonly identity?: { readonly p12: Buffer; readonly password: string };
  /** The secret the payload UUIDs are derived with (payload-uuid.ts). */
  readonly uuidKey: Buffer;
}

/** A device's profile: root CA, one com.apple.wifi.managed payload per network, and the identity for eap-tls. */
export function buildEnrollmentProfile(options: EnrollmentProfileOptions): string {
  const mac = parseMac(options.mac);
  if (mac === null) throw new RangeError('buildEnrollmentProfile: not a device MAC address');
  const macHex = mac.replaceAll(':', '');
  const identifier = `${options.identifier}.device.${macHex}`;
  // `${mac}/${kind}/${ssid}`: the MAC has a fixed form and the kind no slash, so
  // no two (kind, ssid) pairs give the same name.
  const uuid = (kind: string, ssid = ''): string => derivedUuid(options.uuidKey, `${mac}/${kind}/${ssid}`);

  const rootUuid = uuid('root-ca');
  const content: PlistDict[] = [rootPayload(options.caDer, `${identifier}.root-ca`, rootUuid, options.organisation)];

  const ssids = options.wifi.map((w) => w.ssid);
  const repeated = ssids.find((ssid, i) => ssids.indexOf(ssid) !== i);
  // Two payloads for one SSID would share a UUID, and the device would keep only one.
  if (repeated !== undefined) throw new Error(`Wi-Fi network ${JSON.stringify(repeated)} appears twice`);

  const needsIdentity = options.wifi.some((w) => w.security === 'eap-tls');
  let identityUuid: string | undefined;
  if (needsIdentity) {
    if (options.identity === undefined) throw new Error('an eap-tls network needs the device identity (PKCS#12)');
    identityUuid = uuid('identity');
    content.push(identityPayload(options.identity, `${identifier}.identity`, identityUuid, options.user));
  }

  for (const network of options.wifi) {
    const wifiUuid = uuid('wifi', network.ssid);
    content.push(
      wifiPayload(network, {
        identifier: `${identifier}.wifi.${wifiUuid}`,
        uuid: wifiUuid,
        user: options.user,
        rootUuid,
        ...(identityUuid !== undefined ? { identityUuid } : {}),
      }),
    );
  }

  const displayName = options.displayName ?? `${options.organisation} Wi-Fi`;
  return build(
    configuration(options, {
      identifier,
      uuid: uuid('configuration'),
      displayName,
      description: `Sets up the ${options.organisation} Wi-Fi on this device for ${options.user}.`,
      content,
    }),
  );
}

/** The top-level Configuration dictionary (docs/protocols.md: PayloadType Configuration, PayloadVersion 1). */
function configuration(
  origin: ProfileOrigin,
  profile: { identifier: string; uuid: string; displayName: string; description: string; content: PlistDict[] },
): PlistDict {
  return {
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: profile.identifier,
    PayloadUUID: profile.uuid,
    PayloadDisplayName: profile.displayName,
    PayloadDescription: profile.description,
    PayloadOrganization: origin.organisation,
    // The person may remove the profile (and with it the Wi-Fi) from Settings.
    PayloadRemovalDisallowed: false,
    PayloadContent: profile.content,
  };
}

function rootPayload(caDer: Buffer, identifier: string, uuid: string, organisation: string): PlistDict {
  return {
    PayloadType: 'com.apple.security.root',
    PayloadVersion: 1,
    PayloadIdentifier: identifier,
    PayloadUUID: uuid,
    PayloadDisplayName: `${organisation} root certificate`,
    PayloadCertificateFileName: 'root-ca.cer',
    PayloadContent: caDer,
  };
}

function identityPayload(identity: { p12: Buffer; password: string }, identifier: string, uuid: string, user: string): PlistDict {
  return {
    PayloadType: 'com.apple.security.pkcs12',
    PayloadVersion: 1,
    PayloadIdentifier: identifier,
    PayloadUUID: uuid,
    PayloadDisplayName: `Wi-Fi certificate of ${user}`,
    PayloadCertificateFileName: 'wifi-identity.p12',
    // Apple's Password key: the device opens the PKCS#12 at install without asking.
    Password: identity.password,
    PayloadContent: identity.p12,
  };
}
