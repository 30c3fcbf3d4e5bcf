import type { Context } from 'koa';
import type { Device } from '../../devices/device.js';
import { LinkExpiredError } from '../../errors.js';
import type { CaFormat, FilePlatform } from '../../profiles/profile-service.js';
import type { PortalDeps, Profiles } from '../deps.js';
import { downloaded } from '../download-audit.js';
import { nextSteps, type NextStepsDevice } from '../next-steps.js';
import type { Translator } from '../languages/languages.js';
import { minutesLeft, type LinkedFile, type ProfileLink } from '../profile-links.js';
import { clientIp, pageWords, render } from '../respond.js';

/**
 * The pages of files for Windows, Linux and Android without an agent (their own modules build
 * what each shows), and the one-time links behind them: the root CA in the form the platform
 * imports, the device's PKCS#12 for EAP-TLS, and Windows' WLAN profiles. Opening such a page
 * uses its own link up, because the PKCS#12's password is shown on it, once; so it links to no
 * other language (asked again in another language, it would be gone).
 */

/** RFC 2585 §4.1: a DER certificate. */
const CER_TYPE = 'application/pkix-cert';
/** What Android's download manager hands to its certificate installer. */
const ANDROID_CA_TYPE = 'application/x-x509-ca-cert';
const PEM_TYPE = 'application/x-pem-file';
const P12_TYPE = 'application/x-pkcs12';
/** RFC 7303. */
const XML_TYPE = 'application/xml';

/** The CA's form per platform: Windows' wizard opens .cer, Android's installer takes .crt, NetworkManager reads PEM. */
const CA_FORMATS: Readonly<Record<Exclude<FilePlatform, 'chromeos'>, CaFormat>> = { windows: 'cer', android: 'crt', linux: 'pem' };

/** A page of files being shown: the links it offers, and what every such page says. */
export interface FilesPage {
  readonly profiles: Profiles;
  /** The page's words, in the visitor's language. */
  readonly words: Translator;
  /** A one-time link to one file, bound to the device, its owner and this address. */
  issue(file: LinkedFile): Promise<string>;
  /** The device's new PKCS#12, behind its link, and its password (shown on this page only); absent when no network needs it. */
  readonly identity?: { readonly url: string; readonly filename: string; readonly password: string };
  /** The CA in the platform's form, behind its link. */
  readonly ca: { readonly url: string; readonly filename: string };
  /** Renders `template` with the page's facts (devicePageFacts), the CA, the PKCS#12 if any, and `extra`; without language links (the page opens once). */
  show(template: string, extra: object): void;
}

/** What a device's page of files (and a Chromebook's page) shows besides its files: whose it is, for how long, and the daily cut-off. */
export interface DevicePageFacts {
  readonly user: string;
  readonly mac: string;
  readonly minutes: number;
  readonly cutoff_text: string;
  readonly morning_text: string;
  readonly devices_url: string;
}

/** The facts of the page `link` opens for `device`, in the visitor's `words`; `deviceWord` is what "the next morning" calls the device. */
export function devicePageFacts(ctx: Context, deps: PortalDeps, words: Translator, link: ProfileLink, device: Device, deviceWord: NextStepsDevice): DevicePageFacts {
  const next = nextSteps(deps.config, words, deviceWord);
  return {
    user: link.owner,
    mac: device.mac,
    minutes: minutesLeft(link, deps.clock.now()),
    cutoff_text: next.cutoff_text,
    morning_text: next.morning_text,
    devices_url: ctx.urls.route('portal.devices'),
  };
}

/**
 * Opens a page of files for `device`: uses the page's link up, issues the CA's link and, for
 * EAP-TLS, the PKCS#12's, then hands the page to `fill`, which issues the platform's own links
 * and shows it; `deviceWord` is what "the next morning" calls the device. When any of this
 * fails on our side (the CA cannot sign, the store cannot write a link, the page cannot be
 * rendered), the person got nothing and the page's link is given back.
 */
export async function openFilesPage(
  ctx: Context,
  deps: PortalDeps,
  id: string,
  link: ProfileLink,
  device: Device,
  platform: Exclude<FilePlatform, 'chromeos'>,
  deviceWord: NextStepsDevice,
  fill: (page: FilesPage) => Promise<void> | void,
): Promise<void> {
  const profiles = deps.profiles;
  if (!profiles) throw new LinkExpiredError();
  const ip = clientIp(ctx);
  const taken = await deps.profileLinks.take(id, ip, deps.clock.now());
  const issue = async (file: LinkedFile) => {
    const { id: fileId } = await deps.profileLinks.issue({ mac: device.mac, owner: device.owner, ip, file }, deps.clock.now());
    return ctx.urls.route('portal.profile_download', { id: fileId });
  };
  await deps.profileLinks.giveBackOnFailure(id, taken, () => deps.clock.now(), async () => {
    const identity = profiles.needsIdentity(platform) ? await profiles.deviceIdentity(device) : undefined;
    const ca = { url: await issue({ kind: 'ca' }), filename: profiles.caCertificate(CA_FORMATS[platform]).filename };
    const shown = identity ? { identity: { url: await issue({ kind: 'p12', p12: identity.body.toString('base64') }), filename: identity.filename, password: identity.password } } : {};
    const words = pageWords(ctx, deps);
    const view = devicePageFacts(ctx, deps, words, link, device, deviceWord);
    await fill({
      profiles,
      words,
      issue,
      ca,
      ...shown,
      show: (template, extra) => render(ctx, deps, template, { ...view, ca, ...shown, ...extra }, 200, { languageLinks: false }),
    });
  });
}

/** GET /portal/profile/:id for a link that names one file: that file, as an attachment, audited. */
export async function fileDownload(ctx: Context, deps: PortalDeps, file: LinkedFile, device: Device): Promise<void> {
  const profiles = deps.profiles;
  if (!profiles || (device.platform !== 'windows' && device.platform !== 'linux' && device.platform !== 'android')) throw new LinkExpiredError();
  let sent: { filename: string; type: string; body: Buffer };
  switch (file.kind) {
    case 'ca': {
      const format = CA_FORMATS[device.platform];
      sent = { ...profiles.caCertificate(format), type: format === 'pem' ? PEM_TYPE : format === 'crt' ? ANDROID_CA_TYPE : CER_TYPE };
      break;
    }
    case 'p12':
      sent = { filename: profiles.deviceIdentityFilename(), type: P12_TYPE, body: Buffer.from(file.p12, 'base64') };
      break;
    case 'wlan': {
      // The network may have been taken out of the configuration since the page was shown.
      const profile = device.platform === 'windows' ? profiles.wlanProfiles().find((p) => p.ssid === file.ssid) : undefined;
      if (!profile) throw new LinkExpiredError();
      sent = { filename: profile.filename, type: XML_TYPE, body: profile.body };
      break;
    }
  }
  sendFile(ctx, deps, device, sent);
}

/** A file to send: its name (the portal's, ASCII), Content-Type and bytes. */
export interface SentFile {
  readonly filename: string;
  readonly type: string;
  readonly body: Buffer;
}

/** Sends one enrollment file of `device` as an attachment, audited as profile.downloaded. */
export function sendFile(ctx: Context, deps: PortalDeps, device: Device, sent: SentFile): void {
  downloaded(deps, device, sent.filename);
  sendAttachment(ctx, sent);
}

/**
 * Sends a file as an attachment, never cached nor sniffed. The name goes into a quoted
 * Content-Disposition: anything but printable ASCII, a quote or a backslash becomes "_" there,
 * and so do "%" (Chromium percent-decodes a quoted name) and "/" (a path, never a name).
 */
export function sendAttachment(ctx: Context, sent: SentFile): void {
  ctx.status = 200;
  ctx.type = sent.type;
  ctx.set('Content-Disposition', `attachment; filename="${sent.filename.replace(/[^\x20-\x7e]|["\\%/]/g, '_')}"`);
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = sent.body;
}
