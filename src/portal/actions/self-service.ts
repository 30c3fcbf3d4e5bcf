import type { Context } from 'koa';
import { DateTime } from 'luxon';
import { earlierAddressOf, type CurrentDevice } from '../../devices/address-change.js';
import type { Device } from '../../devices/device.js';
import { MAX_DEVICE_NAME, parseDeviceName, withoutRefusedCharacters } from '../../devices/device-name.js';
import { parseMac, type Mac } from '../../mac.js';
import { sameUser } from '../../devices/device-registry.js';
import { GatewayError } from '../../errors.js';
import type { PortalDeps } from '../deps.js';
import { MANAGE_COOKIE, MANAGE_TTL_SECONDS, type ManageVisit } from '../manage.js';
import { clientIp, clientOf, formProblem, formRefusal, MISSING_FIELDS, pageWords, redirectInside, render, type FormRefusal } from '../respond.js';
import { privateAddressSteps } from '../private-address-steps.js';
import { detectOs } from '../user-agent.js';
import { credentials } from './credentials.js';
import type { Translator } from '../languages/languages.js';
import { dateTimeText } from '../languages/page-text.js';

/**
 * "My devices": the employee's own page. Reached from any browser (a lost phone is
 * managed from another device), after logging in with the directory password. Each
 * device can be unenrolled, which ends its Wi-Fi access at once (sessions.revoke
 * tells the router with a Disconnect-Request).
 */

/** Why a person unenrolls a device; the page offers exactly these (their words: unenroll.reason.* in views/locales). */
const REASONS: readonly string[] = ['lost', 'replaced'];

/** Fixed notices a redirect may ask for (the query picks one, it never supplies text): their keys in views/locales. */
const NOTICES: Readonly<Record<string, string>> = {
  unenrolled: 'notices.unenrolled',
  renamed: 'notices.renamed',
  'logged-out': 'notices.logged_out',
};

/** "iOS 17.5", "iPadOS 18.1", "Android 14": the OS as its maker names it, when the version is known. */
function osText(d: Pick<Device, 'platform' | 'osVersion' | 'model'>): string | undefined {
  if (!d.osVersion) return undefined;
  if (d.platform === 'ios') return `${d.model === 'iPad' ? 'iPadOS' : 'iOS'} ${d.osVersion}`;
  if (d.platform === 'android') return `Android ${d.osVersion}`;
  return undefined;
}

function setVisitCookie(ctx: Context, visit: ManageVisit): void {
  ctx.cookies.set(MANAGE_COOKIE, visit.id, {
    httpOnly: true,
    sameSite: 'strict',
    secure: ctx.urls.https,
    path: '/portal',
    maxAge: MANAGE_TTL_SECONDS * 1000,
    overwrite: true,
  });
}

async function currentVisit(ctx: Context, deps: PortalDeps): Promise<ManageVisit | undefined> {
  return deps.manage.find(ctx.cookies.get(MANAGE_COOKIE), clientIp(ctx), deps.clock.now());
}

/**
 * Starts a logged-in visit for a person the directory just vouched for (a new id: nothing
 * seen before login carries over), and audits how it was opened.
 */
export async function startManageVisit(
  ctx: Context,
  deps: PortalDeps,
  user: string,
  opened: { via: 'password' | 'wifi_login'; mac?: Mac },
  previous?: ManageVisit,
): Promise<ManageVisit> {
  if (previous) await deps.manage.end(previous);
  const visit = await deps.manage.start({ ip: clientIp(ctx), user }, deps.clock.now());
  setVisitCookie(ctx, visit);
  // Opened by a login at the Wi-Fi page: that page is the surface the person used.
  deps.audit.record({ type: 'my_devices.opened', user, via: opened.via, ...(opened.mac ? { mac: opened.mac } : {}), ...clientOf(ctx, opened.via === 'password' ? 'my_devices' : 'portal') });
  return visit;
}

/**
 * After a login at the Wi-Fi page (daily login, enrollment, profile link): the person just
 * gave the directory password in this browser, so My devices opens without a second one.
 * It is the same visit a password login on My devices starts: its own new id in an
 * httpOnly, SameSite=strict cookie, bound to this address, with its own form token, and
 * it lasts MANAGE_TTL_SECONDS. A visit this browser had before (another person's) ends.
 */
export async function openAfterWifiLogin(ctx: Context, deps: PortalDeps, user: string, mac: Mac): Promise<void> {
  const previous = await currentVisit(ctx, deps);
  await startManageVisit(ctx, deps, user, { via: 'wifi_login', mac }, previous);
}

/** One device as the list shows it. */
export interface DeviceRow {
  readonly mac: Mac;
  /** The name its owner gave it, else its model ("iPhone", "Pixel 8"), else what its platform says. */
  readonly label: string;
  /** The name its owner gave it, when there is one (the form's value). */
  readonly name?: string;
  /** Its model or platform, shown smaller beside a name. */
  readonly model_label?: string;
  readonly os_text?: string;
  /** The device this browser is on, as the router's accounting says (never a claim). */
  readonly this_device?: boolean;
  readonly enrolled_text: string;
  /** When its live session ends, when it has one (the page says "until …"). */
  readonly session_text?: string;
  readonly last_seen_text?: string;
  readonly randomised?: boolean;
}

/** A device's label in a list: its model, else what its platform is called in the page's language (devices.platform.*). */
function labelOf(d: Pick<Device, 'platform' | 'model'>, words: Translator): string {
  return d.model ?? words.text(`devices.platform.${d.platform}`);
}

function when(iso: string, deps: Pick<PortalDeps, 'config'>, words: Translator): string {
  return dateTimeText(words, new Date(iso), deps.config.session.time_zone);
}

/** The person's devices with their session and last accounting word, for the list and the device-limit page; `current` is marked as this device. */
export async function deviceRows(deps: PortalDeps, words: Translator, user: string, current?: Mac): Promise<DeviceRow[]> {
  const devices = await deps.enrollment.devicesOf(user);
  const sorted = [...devices].sort((a, b) => a.enrolledAt.localeCompare(b.enrolledAt));
  return Promise.all(
    sorted.map(async (d: Device) => {
      const [session, seen] = await Promise.all([deps.sessions.live(d.mac), deps.accounting.whereabouts(d.mac)]);
      const os = osText(d);
      const model = labelOf(d, words);
      return {
        mac: d.mac,
        label: d.name ?? model,
        ...(d.name ? { name: d.name, model_label: model } : {}),
        ...(os ? { os_text: os } : {}),
        ...(d.mac === current ? { this_device: true } : {}),
        enrolled_text: when(d.enrolledAt, deps, words),
        ...(session ? { session_text: when(session.endsAt, deps, words) } : {}),
        ...(seen ? { last_seen_text: when(seen.updatedAt, deps, words) } : {}),
        ...(d.randomisedMac ? { randomised: true } : {}),
      };
    }),
  );
}

/** The note shown when this device seems to be an earlier enrollment under a new private address (partials/address-change.njk). */
export interface AddressChangeNote {
  /** "iPhone", "Pixel 8": what the page calls this device. */
  readonly device_word: string;
  readonly earlier_label: string;
  readonly earlier_mac: Mac;
  readonly earlier_enrolled_text: string;
  /** What to set on this OS version so that the address stays the same (private-address-steps.ts). */
  readonly steps: readonly string[];
}

/**
 * The address-change note for `current`, one of `owner`'s devices or about to be, when an
 * earlier enrollment of theirs seems to be the same device under its previous private
 * address (devices/address-change.ts); undefined otherwise. Logged, for IT.
 */
export function addressChangeNote(
  deps: Pick<PortalDeps, 'config' | 'log'>,
  words: Translator,
  owner: string,
  owned: readonly Device[],
  current: CurrentDevice & { readonly osVersion?: string | undefined },
): AddressChangeNote | undefined {
  const earlier = earlierAddressOf(current, owned);
  if (!earlier) return undefined;
  deps.log.info({ event: 'portal.address_change', mac: current.mac, earlier: earlier.mac, user: owner }, 'device seems to have a new private address');
  return {
    device_word: current.model ?? words.text('devices.a_device'),
    earlier_label: labelOf(earlier, words),
    earlier_mac: earlier.mac,
    earlier_enrolled_text: when(earlier.enrolledAt, deps, words),
    steps: privateAddressSteps(current.platform, current.osVersion, words),
  };
}

/** GET /portal/devices: the login form, or the list once logged in. */
export async function devicesAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const visit = await currentVisit(ctx, deps);
  const noticeKey = typeof ctx.query.done === 'string' && Object.hasOwn(NOTICES, ctx.query.done) ? NOTICES[ctx.query.done] : undefined;
  const notice = noticeKey && pageWords(ctx, deps).text(noticeKey);
  if (visit?.user) {
    // Which of them is this one: the router's accounting lease for this address only.
    const lease = await deps.accounting.leaseFor(clientIp(ctx));
    const devices = await deviceRows(deps, pageWords(ctx, deps), visit.user, lease?.mac);
    const note = lease ? await thisDeviceNote(ctx, deps, visit.user, lease.mac) : undefined;
    return render(ctx, deps, 'my-devices.njk', { user: visit.user, devices, csrf: visit.csrf, ...(notice ? { notice } : {}), ...(note ? { address_change: note } : {}) });
  }
  const fresh = visit ?? (await deps.manage.start({ ip: clientIp(ctx) }, deps.clock.now()));
  setVisitCookie(ctx, fresh);
  render(ctx, deps, 'my-devices-login.njk', { csrf: fresh.csrf, ...(notice ? { notice } : {}) });
}

/** The address-change note for the enrolled device this browser is on, with the OS version its User-Agent says now. */
async function thisDeviceNote(ctx: Context, deps: PortalDeps, user: string, mac: Mac): Promise<AddressChangeNote | undefined> {
  const owned = await deps.enrollment.devicesOf(user);
  const device = owned.find((d) => d.mac === mac);
  if (!device) return undefined;
  const os = detectOs(ctx.get('User-Agent'));
  const osVersion = os.platform === device.platform && os.version ? os.version : device.osVersion;
  return addressChangeNote(deps, pageWords(ctx, deps), user, owned, { ...device, osVersion });
}

function form(ctx: Context): Record<string, unknown> {
  return (ctx.request.body ?? {}) as Record<string, unknown>;
}

/** POST /portal/devices/login */
export async function devicesLoginAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const body = form(ctx);
  const visit = await deps.manage.load(ctx.cookies.get(MANAGE_COOKIE), clientIp(ctx), body._csrf, deps.clock.now());
  const again = (refusal: FormRefusal) => {
    const username = typeof body.username === 'string' ? body.username.slice(0, 256) : '';
    render(ctx, deps, 'my-devices-login.njk', { csrf: visit.csrf, error: refusal.error, invalid: refusal.invalid, username }, refusal.status);
  };
  const creds = credentials(body, clientOf(ctx, 'my_devices'));
  if (!creds) return again(formProblem(ctx, deps, MISSING_FIELDS));
  try {
    const user = await deps.enrollment.authenticate(creds);
    await startManageVisit(ctx, deps, user.username, { via: 'password' }, visit);
  } catch (err) {
    if (err instanceof GatewayError && err.expose) return again(formRefusal(ctx, deps, err));
    throw err;
  }
  redirectInside(ctx, ctx.urls.route('portal.devices'));
}

/** The logged-in visit and the person's own device named by `mac`, or a redirect back to the list. */
async function ownDevice(ctx: Context, deps: PortalDeps, visit: ManageVisit | undefined, mac: unknown): Promise<{ user: string; device: Device } | undefined> {
  if (!visit?.user) {
    redirectInside(ctx, ctx.urls.route('portal.devices'));
    return undefined;
  }
  const parsed = typeof mac === 'string' ? parseMac(mac) : null;
  const device = parsed ? await deps.devices.get(parsed) : undefined;
  if (!device || !sameUser(device.owner, visit.user)) {
    render(ctx, deps, 'error.njk', { status: 404, message: pageWords(ctx, deps).text('errors.not_your_device'), retry: false, back_url: ctx.urls.route('portal.devices') }, 404);
    return undefined;
  }
  return { user: visit.user, device };
}

/** GET /portal/devices/unenroll?mac=…: asks to confirm, with the reason. */
export async function unenrollConfirmAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const visit = await currentVisit(ctx, deps);
  const own = await ownDevice(ctx, deps, visit, ctx.query.mac);
  if (!own) return;
  const [row] = (await deviceRows(deps, pageWords(ctx, deps), own.user)).filter((r) => r.mac === own.device.mac);
  render(ctx, deps, 'unenroll-confirm.njk', { device: row, csrf: visit!.csrf, reasons: REASONS });
}

/** POST /portal/devices/unenroll: unenrolls the device; its session ends and its router is told. */
export async function unenrollAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const body = form(ctx);
  const visit = await deps.manage.load(ctx.cookies.get(MANAGE_COOKIE), clientIp(ctx), body._csrf, deps.clock.now());
  const own = await ownDevice(ctx, deps, visit, body.mac);
  if (!own) return;
  const reason = typeof body.reason === 'string' && REASONS.includes(body.reason) ? body.reason : undefined;
  if (!reason) {
    const [row] = (await deviceRows(deps, pageWords(ctx, deps), own.user)).filter((r) => r.mac === own.device.mac);
    return render(ctx, deps, 'unenroll-confirm.njk', { device: row, csrf: visit.csrf, reasons: REASONS, error: pageWords(ctx, deps).text('errors.choose_reason') }, 400);
  }
  await deps.enrollment.unenroll(own.device.mac, own.user, reason, clientOf(ctx, 'my_devices'));
  redirectInside(ctx, ctx.urls.route('portal.devices', { done: 'unenrolled' }));
}

/**
 * POST /portal/devices/rename: names one of the person's devices (an empty name takes it
 * away). A name that is too long or holds control characters comes back as the list with
 * the reason, next to the field, keeping what was typed (without its control characters).
 */
export async function renameAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const body = form(ctx);
  const visit = await deps.manage.load(ctx.cookies.get(MANAGE_COOKIE), clientIp(ctx), body._csrf, deps.clock.now());
  const own = await ownDevice(ctx, deps, visit, body.mac);
  if (!own) return;
  const parsed = parseDeviceName(body.name);
  if ('problem' in parsed) {
    const typed = typeof body.name === 'string' ? withoutRefusedCharacters(body.name.slice(0, 200)) : '';
    const lease = await deps.accounting.leaseFor(clientIp(ctx));
    const devices = await deviceRows(deps, pageWords(ctx, deps), own.user, lease?.mac);
    return render(ctx, deps, 'my-devices.njk', { user: own.user, devices, csrf: visit.csrf, error: pageWords(ctx, deps).text(`devices.name_problem.${parsed.reason}`, { count: MAX_DEVICE_NAME }), rename: { mac: own.device.mac, value: typed } }, 400);
  }
  await deps.enrollment.rename(own.device.mac, own.user, parsed.name);
  redirectInside(ctx, ctx.urls.route('portal.devices', { done: 'renamed' }));
}

/** POST /portal/devices/logout */
export async function devicesLogoutAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const body = form(ctx);
  const visit = await deps.manage.load(ctx.cookies.get(MANAGE_COOKIE), clientIp(ctx), body._csrf, deps.clock.now());
  await deps.manage.end(visit);
  ctx.cookies.set(MANAGE_COOKIE, '', { path: '/portal', maxAge: 0, overwrite: true });
  redirectInside(ctx, ctx.urls.route('portal.devices', { done: 'logged-out' }));
}
