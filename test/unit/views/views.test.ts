import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import nunjucks from 'nunjucks';
import { validateConfig } from '../../../src/config/load.js';
import { walledGardenPage } from '../../../src/portal/actions/walled-garden.js';
import { Translator } from '../../../src/portal/languages/languages.js';
import { parseCatalog } from '../../../src/portal/languages/messages.js';
import { addRouteUrls } from '../../../src/portal/render.js';
import { isRouteName } from '../../../src/portal/routes.js';
import { PortalUrls } from '../../../src/portal/urls.js';
import { walledGarden } from '../../../src/walled-garden/catalogue.js';

const VIEWS = fileURLToPath(new URL('../../../views/', import.meta.url));

/**
 * Each shipped catalog as it is, without English filled in where it says nothing (as the
 * gateway would): a page that uses a key a catalog lacks fails here.
 */
const LANGS = readdirSync(`${VIEWS}locales`).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, ''));
const WORDS = new Map(LANGS.map((lang) => {
  const { messages, problems } = parseCatalog(readFileSync(`${VIEWS}locales/${lang}.yaml`, 'utf8'), `${lang}.yaml`);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return [lang, new Translator(lang, messages)] as const;
}));

const GLOBALS = {
  org_name: 'Northwind Logistics',
  support_contact: 'IT helpdesk, ext. 1234',
  start_url: 'https://portal.example.org/start',
  // No icon: an empty data: URL, so that the browser does not ask for /favicon.ico.
  icon_url: 'data:,',
  // The portal passes a per-response CSP nonce for the inline stylesheet.
  csp_nonce: 'bm9uY2Utbm9uY2U=',
};

/** The portal's URL builder for links a template builds by route name (url()), and the URLs it built. */
const URLS = new PortalUrls('https://portal.example.org');
const built: string[] = [];
const recordingUrls = { route: ((...args: Parameters<PortalUrls['route']>) => {
  const url = URLS.route(...args);
  built.push(url);
  return url;
}) as PortalUrls['route'] };

// Same options as the portal's env, except throwOnUndefined: a typo in a variable name fails here.
function makeEnv(globals: Record<string, unknown> = GLOBALS): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS), {
    autoescape: true,
    throwOnUndefined: true,
  });
  for (const [name, value] of Object.entries(globals)) env.addGlobal(name, value);
  addRouteUrls(env, recordingUrls);
  return env;
}

const AGENT = {
  name: 'Northwind Wi-Fi Agent',
  version: '1.4.2',
  url: 'https://portal.example.org/agent/enrollgate-agent-1.4.2.apk',
  size_text: '4.2 MB',
  sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
};
const ONLINE = {
  user: 'jsmith',
  mac: 'aa:bb:cc:dd:ee:ff',
  ends_at_text: '04:00 tomorrow (Tue 24 Nov)',
  ends_at_iso: '2026-11-24T04:00:00+01:00',
};
/** What every page of files shows besides its files (device-files.ts). */
const FILES_PAGE = { cutoff_text: '04:00 UTC', morning_text: 'The next morning the Wi-Fi page opens again.', devices_url: 'https://portal.example.org/portal/devices' };
/** Two enterprise networks as profiles/eap-settings.ts gives them. */
const MANUAL_NETWORKS = [
  { ssid: 'Northwind Staff', security: 'eap-peap', hidden: false, eap: { method: 'PEAP', phase2: 'MSCHAPV2', identity: 'jsmith', anonymousIdentity: 'anonymous@northwind.example', domain: 'radius.northwind.example' } },
  { ssid: 'Northwind Secure', security: 'eap-tls', hidden: false, eap: { method: 'TLS', identity: 'jsmith', domain: 'radius.northwind.example' } },
];
const LOGIN = { action: '/portal/login?flow=f1', csrf: 'csrf-token-123', mac: 'aa:bb:cc:dd:ee:ff' };
const IOS = { action: '/portal/enroll/ios?flow=f1', csrf: 'csrf-token-123' };
const TERMS = { title: 'Wi-Fi terms of use', version: '2026-12', url: 'https://portal.example.org/portal/terms' };

const DEVICES = [
  { mac: 'aa:bb:cc:dd:ee:01', label: 'iPhone', os_text: 'iOS 17.5', this_device: true, enrolled_text: 'Mon 23 Nov 2026, 09:12', session_text: 'Tue 24 Nov 2026, 04:00', last_seen_text: 'Mon 23 Nov 2026, 11:40' },
  { mac: 'aa:bb:cc:dd:ee:02', label: 'Pixel 8', enrolled_text: 'Fri 20 Nov 2026, 08:00', randomised: true },
];
const NAMED = [{ ...DEVICES[0]!, label: 'Work <phone>', name: 'Work <phone>', model_label: 'iPhone' }, DEVICES[1]!];
const ADDRESS_CHANGE = {
  device_word: 'iPhone',
  earlier_label: 'iPhone',
  earlier_mac: '3e:bb:cc:dd:ee:01',
  earlier_enrolled_text: 'Mon 23 Nov 2026, 09:12',
  steps: ['iOS 18 and later: Settings → Wi-Fi → tap ⓘ next to this network → Private Wi-Fi Address → choose Fixed (or Off).', 'iOS 14 to 17: leave Private Wi-Fi Address on.'],
};
const MANAGE_URLS = {
  devices_url: 'https://portal.example.org/portal/devices',
};

// The walled-garden page from the real catalogue: every entry opened, every kind of destination.
const gardenPage = (doc: Record<string, unknown>) => walledGardenPage(walledGarden(validateConfig(doc)));
const GARDEN_DOC = {
  portal: { base_url: 'https://portal.example.org' },
  android: { agent: { version: '1.4.2', url: 'https://downloads.example.org/agent/enrollgate-agent-1.4.2.apk' } },
  walled_garden: {
    portal_addresses: ['10.99.0.1', 'fd00:99::1'],
    dns_servers: ['10.99.0.53', '10.99.0.54', 'fd00:99::53'],
    registration_networks: ['10.99.0.0/24', 'fd00:99::/64'],
    include_retired_apns: true,
  },
};
const GARDEN_FULL = gardenPage(GARDEN_DOC);

type Case = { name: string; template: string; ctx: Record<string, unknown> };

const CASES: Case[] = [
  { name: 'online', template: 'online.njk', ctx: ONLINE },
  { name: 'online with notice', template: 'online.njk', ctx: { ...ONLINE, notice: 'Your device is enrolled. The configuration profile is not available yet.' } },
  { name: 'login', template: 'login.njk', ctx: LOGIN },
  { name: 'login with everything', template: 'login.njk', ctx: { ...LOGIN, username: 'jsmith', owner: 'Jane Smith', error: 'Wrong username or password.', invalid: true } },
  {
    name: 'login, directory down',
    template: 'login.njk',
    ctx: { ...LOGIN, username: 'jsmith', owner: 'Jane Smith', error: 'We cannot check passwords right now: the sign-in service is not answering.', invalid: false },
  },
  { name: 'register', template: 'register.njk', ctx: IOS },
  { name: 'ios-register with everything', template: 'register.njk', ctx: { ...IOS, username: 'jsmith', error: 'Wrong username or password.', invalid: true, profile_step: true } },
  { name: 'android-agent', template: 'android-agent.njk', ctx: { agent: AGENT } },
  { name: 'android-agent not configured (null)', template: 'android-agent.njk', ctx: { agent: null } },
  { name: 'android-agent not configured (absent)', template: 'android-agent.njk', ctx: {} },
  { name: 'android-agent with Passpoint', template: 'android-agent.njk', ctx: { agent: AGENT, passpoint_action: 'https://portal.example.org/portal/enroll', csrf: 'csrf-token-123' } },
  { name: 'android Passpoint only', template: 'android-agent.njk', ctx: { agent: null, passpoint_action: 'https://portal.example.org/portal/enroll', csrf: 'csrf-token-123' } },
  {
    name: 'passpoint-ready',
    template: 'passpoint-ready.njk',
    ctx: { download_url: 'https://portal.example.org/portal/profile/abc', provider_name: 'Northwind Logistics Wi-Fi', mac: 'aa:bb:cc:dd:ee:ff', user: 'jsmith', minutes: 5, devices_url: MANAGE_URLS.devices_url },
  },
  { name: 'unsupported', template: 'unsupported.njk', ctx: { os_name: 'Windows' } },
  { name: 'unsupported maybe-iPad', template: 'unsupported.njk', ctx: { os_name: 'macOS', ipad_action: 'https://portal.example.org/portal/ipad', csrf: 'csrf-token-123' } },
  { name: 'unidentified', template: 'unidentified.njk', ctx: {} },
  { name: 'unidentified, named but unproven', template: 'unidentified.njk', ctx: { unproven: true } },
  { name: 'uam-handoff', template: 'uam-handoff.njk', ctx: { logon_url: 'http://10.1.0.1:3990/logon?username=uam-abc&response=0123456789abcdef0123456789abcdef&userurl=http%3A%2F%2Fexample.com%2F' } },
  { name: 'online with profile form', template: 'online.njk', ctx: { ...ONLINE, profile_action: 'https://portal.example.org/portal/profile', csrf: 'csrf-token-123', devices_url: MANAGE_URLS.devices_url } },
  { name: 'ios-register with profile step', template: 'register.njk', ctx: { ...IOS, profile_step: true } },
  {
    name: 'register a Mac, with the iPad choice',
    template: 'register.njk',
    ctx: { ...IOS, profile_step: true, platform: 'macos', apple: true, ipad_action: 'https://portal.example.org/portal/ipad' },
  },
  {
    name: 'profile-ready for a Mac',
    template: 'profile-ready.njk',
    ctx: {
      platform: 'macos',
      download_url: 'https://portal.example.org/portal/profile/abc',
      mac: 'aa:bb:cc:dd:ee:ff',
      user: 'jsmith',
      minutes: 5,
      next: { networks: [{ ssid: 'Northwind Staff', asks: 'It asks for your work password once.' }], cutoff_text: '04:00 UTC', morning_text: 'The next morning the Mac reconnects by itself.' },
    },
  },
  {
    name: 'windows-files, EAP-TLS and PEAP',
    template: 'windows-files.njk',
    ctx: {
      user: 'jsmith',
      mac: 'aa:bb:cc:dd:ee:ff',
      ca: { url: 'https://portal.example.org/portal/profile/ca', filename: 'northwind-root-ca.cer' },
      identity: { url: 'https://portal.example.org/portal/profile/p12', filename: 'northwind-wifi-identity.p12', password: 'AbCdEfGhIjKlMnOpQrStUvWx' },
      networks: [
        { ssid: 'Northwind Staff', filename: 'Northwind Staff.xml', url: 'https://portal.example.org/portal/profile/w1', asks: 'Windows asks for your work user name and password once.' },
        { ssid: 'Northwind Secure', filename: 'Northwind Secure.xml', url: 'https://portal.example.org/portal/profile/w2', asks: 'Windows uses the certificate you imported.' },
      ],
      cutoff_text: '04:00 UTC',
      morning_text: 'The next morning the Wi-Fi page opens again.',
      minutes: 5,
      devices_url: MANAGE_URLS.devices_url,
    },
  },
  {
    name: 'chromeos-onc, two networks',
    template: 'chromeos-onc.njk',
    ctx: { download_url: 'https://portal.example.org/portal/profile/abc', user: 'jsmith', mac: 'aa:bb:cc:dd:ee:ff', minutes: 5, ssids: ['Northwind Staff', 'Northwind Secure'], ...FILES_PAGE },
  },
  {
    name: 'linux-files, EAP-TLS and PEAP',
    template: 'linux-files.njk',
    ctx: {
      ...FILES_PAGE,
      user: 'jsmith',
      mac: 'aa:bb:cc:dd:ee:ff',
      minutes: 5,
      ca: { url: 'https://portal.example.org/portal/profile/ca', filename: 'northwind-root-ca.pem' },
      identity: { url: 'https://portal.example.org/portal/profile/p12', filename: 'northwind-wifi-identity.p12', password: 'AbCdEfGhIjKlMnOpQrStUvWx' },
      networks: MANUAL_NETWORKS.map((n) => ({ ...n, command: `nmcli connection add type wifi con-name '${n.ssid}'`, up: `nmcli --ask connection up '${n.ssid}'` })),
    },
  },
  {
    name: 'linux-files, one open network',
    template: 'linux-files.njk',
    ctx: { ...FILES_PAGE, user: 'jsmith', mac: 'aa:bb:cc:dd:ee:ff', minutes: 1, ca: { url: 'https://portal.example.org/portal/profile/ca', filename: 'northwind-root-ca.pem' }, networks: [{ ssid: 'Lobby', security: 'open', hidden: false, command: 'nmcli connection add type wifi con-name Lobby ssid Lobby', up: 'nmcli --ask connection up Lobby' }] },
  },
  {
    name: 'android-settings, EAP-TLS, PEAP and a WPA2 network',
    template: 'android-settings.njk',
    ctx: {
      ...FILES_PAGE,
      user: 'jsmith',
      mac: 'aa:bb:cc:dd:ee:ff',
      minutes: 5,
      ca: { url: 'https://portal.example.org/portal/profile/ca', filename: 'northwind-root-ca.crt' },
      identity: { url: 'https://portal.example.org/portal/profile/p12', filename: 'northwind-wifi-identity.p12', password: 'AbCdEfGhIjKlMnOpQrStUvWx' },
      networks: [...MANUAL_NETWORKS, { ssid: 'Guest', security: 'wpa2-personal', hidden: true, psk: 'guest-pass-123' }],
    },
  },
  {
    name: 'windows-files, one PEAP network',
    template: 'windows-files.njk',
    ctx: {
      user: 'jsmith',
      mac: 'aa:bb:cc:dd:ee:ff',
      ca: { url: 'https://portal.example.org/portal/profile/ca', filename: 'northwind-root-ca.cer' },
      networks: [{ ssid: 'Northwind Staff', filename: 'Northwind Staff.xml', url: 'https://portal.example.org/portal/profile/w1', asks: 'Windows asks for your work user name and password once.' }],
      cutoff_text: '04:00 UTC',
      morning_text: 'The next morning the PC reconnects by itself.',
      minutes: 1,
      devices_url: MANAGE_URLS.devices_url,
    },
  },
  { name: 'android-agent with QR code, external', template: 'android-agent.njk', ctx: { agent: { ...AGENT, external: true, qr_src: 'data:image/svg+xml;base64,PHN2Zy8+' } } },
  { name: 'profile-ready', template: 'profile-ready.njk', ctx: { download_url: 'https://portal.example.org/portal/profile/abc', mac: 'aa:bb:cc:dd:ee:ff', user: 'jsmith', minutes: 5, devices_url: MANAGE_URLS.devices_url } },
  {
    name: 'profile-ready, one network next',
    template: 'profile-ready.njk',
    ctx: {
      download_url: 'https://portal.example.org/portal/profile/abc',
      mac: 'aa:bb:cc:dd:ee:ff',
      user: 'jsmith',
      minutes: 5,
      next: { networks: [{ ssid: 'Northwind Staff', asks: 'It asks for your work password once.' }], cutoff_text: '04:00 local time (Europe/Berlin)', morning_text: 'The next morning the phone reconnects by itself.' },
    },
  },
  {
    name: 'profile-ready, two networks next',
    template: 'profile-ready.njk',
    ctx: {
      download_url: 'https://portal.example.org/portal/profile/abc',
      mac: 'aa:bb:cc:dd:ee:ff',
      user: 'jsmith',
      minutes: 5,
      next: {
        networks: [
          { ssid: 'Northwind Staff', asks: 'It asks for your work password once.' },
          { ssid: 'Northwind Secure', asks: 'It asks for nothing.' },
        ],
        cutoff_text: '04:00 UTC',
        morning_text: 'The next morning the Wi-Fi page opens again.',
      },
    },
  },
  { name: 'profile-login', template: 'profile-login.njk', ctx: { ...LOGIN, action: '/portal/profile', owner: 'jsmith' } },
  { name: 'refused, OS too old', template: 'refused.njk', ctx: { code: 'EG_OS_TOO_OLD', message: 'This device runs iOS 15.7; iOS 16 or newer is needed.', mac: 'aa:bb:cc:dd:ee:ff' } },
  { name: 'refused, blocked', template: 'refused.njk', ctx: { code: 'EG_DEVICE_BLOCKED', message: 'This device is blocked.', mac: 'aa:bb:cc:dd:ee:ff' } },
  { name: 'my-devices-login', template: 'my-devices-login.njk', ctx: { action: 'https://portal.example.org/portal/devices/login', csrf: 'csrf-token-123' } },
  { name: 'my-devices-login with error', template: 'my-devices-login.njk', ctx: { action: 'https://portal.example.org/portal/devices/login', csrf: 'csrf-token-123', username: 'jsmith', error: 'Wrong username or password.', invalid: true, notice: 'You are logged out of My devices.' } },
  { name: 'my-devices', template: 'my-devices.njk', ctx: { user: 'jsmith', devices: DEVICES, csrf: 'csrf-token-123', notice: 'The device is unenrolled.' } },
  { name: 'my-devices, none', template: 'my-devices.njk', ctx: { user: 'jsmith', devices: [], csrf: 'csrf-token-123' } },
  { name: 'my-devices, a named device', template: 'my-devices.njk', ctx: { user: 'jsmith', devices: NAMED, csrf: 'csrf-token-123', notice: 'The name is saved.' } },
  {
    name: 'my-devices, a name refused',
    template: 'my-devices.njk',
    ctx: { user: 'jsmith', devices: NAMED, csrf: 'csrf-token-123', error: 'A name can have at most 40 characters.', rename: { mac: 'aa:bb:cc:dd:ee:02', value: 'x'.repeat(41) } },
  },
  { name: 'unenroll-confirm', template: 'unenroll-confirm.njk', ctx: { device: DEVICES[0], csrf: 'csrf-token-123', reasons: ['lost', 'replaced'] } },
  { name: 'unenroll-confirm with error', template: 'unenroll-confirm.njk', ctx: { device: DEVICES[1], csrf: 'csrf-token-123', reasons: ['lost'], error: 'Choose why.' } },
  { name: 'device-limit', template: 'device-limit.njk', ctx: { message: 'You have already enrolled 2 devices, your limit.', limit: 2, devices: DEVICES } },
  { name: 'device-limit, a new private address', template: 'device-limit.njk', ctx: { message: 'You have already enrolled 2 devices, your limit.', limit: 2, devices: DEVICES, address_change: ADDRESS_CHANGE } },
  { name: 'online after enrolling, a new private address', template: 'online.njk', ctx: { ...ONLINE, notice: 'Your device is enrolled.', address_change: ADDRESS_CHANGE } },
  { name: 'my-devices, a new private address', template: 'my-devices.njk', ctx: { user: 'jsmith', devices: DEVICES, csrf: 'csrf-token-123', address_change: ADDRESS_CHANGE } },
  { name: 'error 403', template: 'error.njk', ctx: { status: 403, message: 'This page has expired. Please start again.', retry: true } },
  { name: 'error 404', template: 'error.njk', ctx: { status: 404, message: 'This page does not exist.' } },
  { name: 'error 500', template: 'error.njk', ctx: { status: 500, message: 'Something went wrong.' } },
  { name: 'error 503', template: 'error.njk', ctx: { status: 503, message: 'The directory is unavailable, please try again in a minute.', retry: true } },
  { name: 'walled-garden', template: 'walled-garden.njk', ctx: GARDEN_FULL },
  { name: 'walled-garden, nothing configured', template: 'walled-garden.njk', ctx: gardenPage({}) },
  // portal.terms and portal.branding reach templates as globals (render.ts brandingGlobals); a case's ctx stands in for them.
  { name: 'terms', template: 'terms.njk', ctx: { terms: TERMS, text: [['Use this network for work.', 'No sharing of accounts.'], ['Access is logged.']] } },
  {
    name: 'register with terms of use, not ticked',
    template: 'register.njk',
    ctx: { ...IOS, profile_step: true, terms: TERMS, error: 'Tick the box to accept the terms of use: enrolling needs it.', invalid: false, terms_missing: true },
  },
  { name: 'register an Android phone for a Passpoint profile', template: 'register.njk', ctx: { ...IOS, profile_step: true, platform: 'android', apple: false, passpoint: true } },
  { name: 'register with a logo and an accent colour', template: 'register.njk', ctx: { ...IOS, logo_url: 'https://portal.example.org/portal/logo', brand_style: ':root { --accent: #0f6b3a; }' } },
];

/** A page as the portal renders it (respond.ts render()): in `lang`, with its words from that catalog alone. */
function render(c: Case, env = makeEnv(), lang = 'en'): string {
  const words = WORDS.get(lang)!;
  return env.render(c.template, { language_links: [], ...c.ctx, lang, t: words.html.bind(words) });
}

/** The page and the URLs it built itself by route name. */
function renderCase(c: Case): { html: string; builtUrls: string[] } {
  built.length = 0;
  const html = render(c);
  return { html, builtUrls: [...built] };
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
}

function tags(html: string, name: string): string[] {
  return html.match(new RegExp(`<${name}\\b[^>]*>`, 'g')) ?? [];
}

/** The decoded value of every href, src and action attribute. */
function links(html: string): string[] {
  return [...html.matchAll(/\s(?:href|src|action)="([^"]*)"/g)].map((m) => (m[1] ?? '').replaceAll('&amp;', '&'));
}

describe('views', () => {
  it('has a test case for every page template', () => {
    const pages = readdirSync(VIEWS).filter((f) => f.endsWith('.njk') && f !== 'layout.njk');
    expect(new Set(CASES.map((c) => c.template))).toEqual(new Set(pages));
  });

  it('builds links only by route name: no path written in a template, every name a route', () => {
    const files = [...readdirSync(VIEWS).filter((f) => f.endsWith('.njk')), ...readdirSync(`${VIEWS}partials`).map((f) => `partials/${f}`), ...readdirSync(`${VIEWS}admin`).map((f) => `admin/${f}`)];
    const names: string[] = [];
    for (const f of files) {
      const src = readFileSync(`${VIEWS}${f}`, 'utf8');
      for (const m of src.matchAll(/\s(?:href|src|action)="([^"]*)"/g)) expect(m[1], `${f}: ${m[0]}`).toMatch(/^\{\{[^}]+\}\}$/);
      expect(src, f).not.toMatch(/["'](?:\/portal|\/admin|\/api)\b/);
      names.push(...[...src.matchAll(/\burl\(\s*'([^']*)'/g)].map((m) => m[1]!));
    }
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !isRouteName(n))).toEqual([]);
  });

  it('never marks a value safe, and the layout holds no <script>', () => {
    const files = ['layout.njk', 'partials/style.css', ...readdirSync(VIEWS).filter((f) => f.endsWith('.njk')), ...readdirSync(`${VIEWS}partials`).map((f) => `partials/${f}`)];
    for (const f of files) {
      const src = readFileSync(`${VIEWS}${f}`, 'utf8');
      expect(src, f).not.toMatch(/\|\s*safe\b/);
      expect(src, f).not.toMatch(/<script/i);
      expect(src, f).not.toMatch(/\bstyle="/);
    }
  });

  it('holds no words of its own in an employee page: every text comes from the catalogs (t()), but commands in <code>', () => {
    // The title check below sees only <title>; this sees every template's body. The walled
    // garden is English on purpose (it is for IT), as is the admin console (views/admin).
    const files = [...readdirSync(VIEWS).filter((f) => f.endsWith('.njk') && f !== 'walled-garden.njk'), ...readdirSync(`${VIEWS}partials`).filter((f) => f.endsWith('.njk')).map((f) => `partials/${f}`)];
    const left: string[] = [];
    for (const f of files) {
      const text = readFileSync(`${VIEWS}${f}`, 'utf8')
        .replace(/\{#[\s\S]*?#\}/g, '')
        .replace(/\{%[\s\S]*?%\}/g, '')
        .replace(/\{\{[\s\S]*?\}\}/g, '')
        .replace(/<(style|svg|code)\b[\s\S]*?<\/\1>/g, '')
        .replace(/<[^>]*>/g, '')
        .replace(/&[a-z0-9#]+;/gi, '');
      for (const word of text.match(/[A-Za-z]{2,}/g) ?? []) left.push(`${f}: ${word}`);
    }
    expect(left).toEqual([]);
  });

  describe.each(LANGS.filter((l) => l !== 'en'))('in %s', (lang) => {
    it.each(CASES.map((c) => [c.name, c] as const))('%s: every word from the catalog, under 15 KB', (_, c) => {
      // A key the catalog lacks throws here (Translator.html).
      const html = render(c, makeEnv(), lang);
      expect(html).toMatch(new RegExp(`^<!doctype html>\n<html lang="${lang}">`));
      expect(Buffer.byteLength(html)).toBeLessThan(15 * 1024);
      // Not the English page: at least its title is in this language (the walled garden is English, for IT, but for the layout).
      const title = /<title>([^<]*)<\/title>/.exec(html)![1];
      if (c.template !== 'walled-garden.njk' && c.template !== 'terms.njk' && !(c.ctx as { heading?: string }).heading) expect(title).not.toBe(/<title>([^<]*)<\/title>/.exec(render(c))![1]);
    });
  });

  describe.each(CASES)('$name', (c) => {
    const { html, builtUrls } = renderCase(c);

    it('renders a small, script-free page', () => {
      expect(Buffer.byteLength(html)).toBeLessThan(30 * 1024);
      expect(html).not.toMatch(/<script/i);
      expect(html).not.toMatch(/\son[a-z]+=/i);
    });

    it('has the document basics', () => {
      expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
      expect(html).toContain('<meta charset="utf-8">');
      expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
      expect(html).toContain('<meta name="referrer" content="no-referrer">');
      expect(tags(html, 'style')).toHaveLength(1);
      expect(tags(html, 'main')).toHaveLength(1);
      expect(tags(html, 'h1')).toHaveLength(1);
      expect(html).toMatch(/<title>[^<]+ · Northwind Logistics<\/title>/);
      expect(html).toContain('<p class="org">Northwind Logistics');
    });

    it('labels every visible input', () => {
      const labelled = new Set(tags(html, 'label').map((t) => attr(t, 'for')));
      for (const input of tags(html, 'input')) {
        if (attr(input, 'type') === 'hidden') continue;
        const id = attr(input, 'id');
        expect(id, input).toBeTruthy();
        expect(labelled.has(id), input).toBe(true);
      }
      const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('links only to URLs from the context or built by route name', () => {
      const ctx = c.ctx as Record<string, unknown> & { agent?: { url: string; qr_src?: string } | null };
      const fromContext = Object.entries(ctx).filter(([k, v]) => typeof v === 'string' && /(^action|_url|_action)$/.test(k)).map(([, v]) => v);
      // Links a page lists (one per file): the `url` of each object the context holds, or of each in a list.
      for (const v of Object.values(ctx)) for (const item of Array.isArray(v) ? v : [v]) if (item && typeof item === 'object' && typeof item.url === 'string') fromContext.push(item.url);
      for (const url of builtUrls) expect(url.startsWith('https://portal.example.org/')).toBe(true);
      const allowed = [GLOBALS.start_url, GLOBALS.icon_url, ...fromContext, ...builtUrls, ctx.agent?.url, ctx.agent?.qr_src].filter(Boolean);
      for (const url of links(html)) expect(allowed).toContain(url);
    });
  });

  describe.each(CASES.filter((c) => 'action' in c.ctx))('login form on $name', (c) => {
    const html = render(c);
    const ctx = c.ctx as { action: string; csrf: string; username?: string; error?: string; invalid?: boolean; terms_missing?: boolean; ipad_action?: string };

    it('posts the token, user name and password to the action', () => {
      const forms = tags(html, 'form');
      const form = forms.find((f) => attr(f, 'action') === ctx.action);
      // The only other form a login page may hold is the "this is an iPad" choice.
      expect(forms.filter((f) => f !== form).map((f) => attr(f, 'action'))).toEqual(ctx.ipad_action ? [ctx.ipad_action] : []);
      expect(attr(form!, 'method')).toBe('post');
      expect(attr(form!, 'action')).toBe(ctx.action);
      expect(html).toContain(`<input type="hidden" name="_csrf" value="${ctx.csrf}">`);
      const inputs = tags(html, 'input');
      const username = inputs.find((t) => attr(t, 'name') === 'username')!;
      const password = inputs.find((t) => attr(t, 'name') === 'password')!;
      expect(attr(username, 'autocomplete')).toBe('username');
      expect(attr(username, 'value')).toBe(ctx.username ?? '');
      expect(attr(password, 'autocomplete')).toBe('current-password');
      expect(attr(password, 'type')).toBe('password');
      expect(attr(password, 'value')).toBeUndefined();
      expect(tags(html, 'button').map((t) => attr(t, 'type'))).toEqual(ctx.ipad_action ? ['submit', 'submit'] : ['submit']);
    });

    it('shows an error in a role="alert" element the fields point to, marked invalid only when they are what was wrong', () => {
      const alert = tags(html, 'div').find((t) => attr(t, 'role') === 'alert');
      const fields = tags(html, 'input').filter((t) => attr(t, 'type') !== 'hidden');
      if (!ctx.error) {
        expect(alert).toBeUndefined();
        for (const f of fields) expect(attr(f, 'aria-describedby')).toBeUndefined();
        return;
      }
      expect(html).toContain(ctx.error);
      const id = attr(alert!, 'id');
      expect(id).toBeTruthy();
      for (const f of fields) {
        // The terms box is what was wrong when it was left unticked (terms_missing), the typed fields when invalid.
        const wrong = attr(f, 'id') === 'accept_terms' ? ctx.terms_missing : ctx.invalid;
        if (attr(f, 'id') !== 'accept_terms' || wrong) expect(attr(f, 'aria-describedby')).toBe(id);
        expect(attr(f, 'aria-invalid')).toBe(wrong ? 'true' : undefined);
      }
    });
  });

  it('shows when the session ends in a <time> element', () => {
    const html = render(CASES[0]!);
    expect(html).toContain(`<time datetime="${ONLINE.ends_at_iso}">${ONLINE.ends_at_text}</time>`);
    expect(html).toContain('You are online');
    expect(html).not.toContain('role="status"');
    expect(render(CASES[1]!)).toContain('role="status"');
  });

  it('asks to install nothing before the login, never for full trust in a root, and shows step numbers only with a profile to install', () => {
    const bare = render({ name: 'ios', template: 'register.njk', ctx: IOS });
    const withProfile = render({ name: 'ios', template: 'register.njk', ctx: { ...IOS, profile_step: true } });
    for (const html of [bare, withProfile]) {
      expect(html).not.toContain('Certificate Trust Settings');
      expect(html).not.toContain(URLS.route('portal.ca'));
      expect(html).not.toContain(URLS.route('portal.ca_profile'));
    }
    expect(bare).not.toContain('<span class="step-n">');
    expect(bare).not.toContain('small window');
    expect(withProfile).toContain('<span class="step-n">2</span>Install the Wi-Fi profile');
    expect(withProfile).toContain('it gives you a link to open in Safari');
  });

  it('the manual settings: per network only what its kind asks, the password once, never "Use system certificates" as the CA', () => {
    const android = CASES.find((c) => c.template === 'android-settings.njk')!;
    const html = render(android);
    // PEAP: phase 2 and anonymous identity, the work password; TLS: the user certificate, no phase 2; WPA2: the key.
    const [peap, tls, guest] = html.split('<h3>').slice(1);
    expect(peap).toContain('<dt>Phase 2 authentication</dt>\n<dd class="mono">MSCHAPV2</dd>');
    expect(peap).toContain('<dt>Anonymous identity</dt>');
    expect(peap).toContain('<dd>Your work password</dd>');
    expect(peap).not.toContain('User certificate');
    expect(tls).toContain('<dt>User certificate</dt>\n<dd>the one you named Northwind Logistics device</dd>');
    expect(tls).not.toContain('Phase 2');
    expect(tls).not.toContain('Your work password');
    expect(guest).toContain('<dt>Password</dt>\n<dd class="mono">guest-pass-123</dd>');
    expect(guest).toContain('<dt>Hidden network</dt>');
    expect(guest).not.toContain('EAP method');
    expect(html.match(/<label for="p12-password">Certificate password, shown only here<\/label>/g)).toHaveLength(1);
    expect(html).toContain('Never choose <b>Use system certificates</b>');
    const linux = render(CASES.find((c) => c.name === 'linux-files, EAP-TLS and PEAP')!);
    expect(linux).toContain('<dd>northwind-wifi-identity.p12 (also the private key; its password is above)</dd>');
    expect(linux).toContain('<h3>Northwind Staff</h3>\n<p class="url mono">nmcli connection add');
  });

  it('offers the agent when configured and the support contact when not', () => {
    const on = render({ name: 'a', template: 'android-agent.njk', ctx: { agent: AGENT } });
    expect(on).toContain(`href="${AGENT.url}"`);
    expect(on).toContain(AGENT.sha256);
    expect(on).toContain(AGENT.size_text);
    const off = render({ name: 'a', template: 'android-agent.njk', ctx: { agent: null } });
    expect(off).toContain('not configured yet');
    expect(off).toContain(GLOBALS.support_contact);
    expect(off).not.toContain('<a class="btn"');
  });

  it('says a new private address only "seems", names the earlier entry, and lists the steps; nothing without one', () => {
    for (const name of ['device-limit, a new private address', 'online after enrolling, a new private address', 'my-devices, a new private address']) {
      const html = render(CASES.find((c) => c.name === name)!);
      expect(html).toContain('<h2 id="address-change">This iPhone seems to have a new private address</h2>');
      expect(html).toContain('<b>iPhone</b> (<span class="mono">3e:bb:cc:dd:ee:01</span>), enrolled Mon 23 Nov 2026, 09:12, may be this same iPhone');
      expect(html).toContain('<li>iOS 18 and later: Settings → Wi-Fi → tap ⓘ next to this network → Private Wi-Fi Address → choose Fixed (or Off).</li>');
      // The earlier address in the monospace font, as every MAC on the pages is, in each language.
      for (const lang of LANGS) expect(render(CASES.find((c) => c.name === name)!, makeEnv(), lang), lang).toContain('<b>iPhone</b> (<span class="mono">3e:bb:cc:dd:ee:01</span>)');
    }
    for (const name of ['device-limit', 'online with notice', 'my-devices']) expect(render(CASES.find((c) => c.name === name)!)).not.toContain('address-change');
  });

  it('names each device with a labelled field posting the form token, the name first and the model smaller, escaped', () => {
    const html = render(CASES.find((c) => c.name === 'my-devices, a named device')!);
    expect(html).toContain('<h2>Work &lt;phone&gt; <span class="small muted">iPhone (iOS 17.5)</span></h2>');
    expect(html).toContain('<h2>Pixel 8</h2>');
    const forms = tags(html, 'form').filter((f) => attr(f, 'action') === URLS.route('portal.devices_rename'));
    expect(forms).toHaveLength(2);
    for (const f of forms) expect(attr(f, 'method')).toBe('post');
    expect(html.match(/<input type="hidden" name="_csrf" value="csrf-token-123">/g)).toHaveLength(3);
    expect(html).toContain('<input type="text" id="name-1" name="name" value="Work &lt;phone&gt;" maxlength="40" autocomplete="off">');
    expect(html).toContain('<input type="text" id="name-2" name="name" value="" maxlength="40" autocomplete="off">');
    expect(html).not.toContain('rename-error');
    // Without a form token (the device-limit page) there is nothing to name with.
    expect(render(CASES.find((c) => c.name === 'device-limit')!)).not.toContain('name="name"');
  });

  it('shows a refused name in its field, marked invalid and pointing to the reason', () => {
    const html = render(CASES.find((c) => c.name === 'my-devices, a name refused')!);
    expect(html).toContain('<div class="alert error" role="alert" id="rename-error"><p>A name can have at most 40 characters.</p></div>');
    expect(html).toContain(`<input type="text" id="name-2" name="name" value="${'x'.repeat(41)}" maxlength="40" autocomplete="off" aria-invalid="true" aria-describedby="rename-error">`);
    expect(html).toContain('<input type="text" id="name-1" name="name" value="Work &lt;phone&gt;" maxlength="40" autocomplete="off">');
  });

  it('offers "Try again" on an error page only when asked', () => {
    expect(render(CASES.find((c) => c.name === 'error 403')!)).toContain(`<a class="btn" href="${GLOBALS.start_url}">Try again</a>`);
    expect(render(CASES.find((c) => c.name === 'error 500')!)).not.toContain('Try again');
  });

  it('lists the walled garden within 10 KB, what stays closed apart', () => {
    const html = render({ name: 'w', template: 'walled-garden.njk', ctx: GARDEN_FULL });
    expect(Buffer.byteLength(html)).toBeLessThan(10 * 1024);
    expect(html).toContain('<b>tcp 5223, 443</b> to <code>17.0.0.0/8, 2620:149:a44::/48');
    expect(html).toContain('alt8-mtalk.google.com');
    expect(html).toContain('<code>10.99.0.0/24, fd00:99::/64</code>');
    expect(html).toContain('<h2>APNs legacy binary API (gateway 2195, feedback 2196)</h2>');
    expect(html.slice(html.indexOf('<h2>Not opened</h2>'))).toContain('<li>APNs provider API, tcp 443, 2197: servers sending notifications, never phones.</li>');
    expect(html).not.toContain('role="status"');
    // With the certificate checks on too (the portal certificate's two revocation hosts, the phones' NTP servers).
    const certificateChecks = { enabled: true, revocation_hosts: ['ocsp.digicert.com', 'crl3.digicert.com'] };
    const checks = gardenPage({ ...GARDEN_DOC, walled_garden: { ...GARDEN_DOC.walled_garden, certificate_checks: certificateChecks } });
    const withChecks = render({ name: 'w', template: 'walled-garden.njk', ctx: checks });
    expect(Buffer.byteLength(withChecks)).toBeLessThan(10 * 1024);
    expect(withChecks).toContain('<h2>NTP (time)</h2>\n<p><b>udp 123</b> to <code>time.apple.com, time.android.com, time.windows.com</code>');
    const bare = render({ name: 'w', template: 'walled-garden.njk', ctx: gardenPage({}) });
    expect(Buffer.byteLength(bare)).toBeLessThan(10 * 1024);
    expect(bare).toContain('<div class="alert" role="status"><ul>\n<li>walled_garden.portal_addresses: empty');
    expect(bare).toContain('<b>udp+tcp 53</b> to <code>nothing configured</code>');
  });

  describe('escapes hostile values', () => {
    const XSS = '<img src=x onerror=alert(1)>';
    const QUOTE = '"><svg onload=alert(1)>';
    const env = makeEnv({ org_name: XSS, support_contact: XSS, start_url: QUOTE, icon_url: QUOTE, csp_nonce: QUOTE });
    const hostile: Case[] = [
      { name: 'online', template: 'online.njk', ctx: { user: XSS, mac: XSS, ends_at_text: XSS, ends_at_iso: QUOTE, notice: XSS } },
      { name: 'login', template: 'login.njk', ctx: { action: QUOTE, csrf: QUOTE, username: QUOTE, error: '<script>', mac: XSS, owner: XSS } },
      { name: 'register', template: 'register.njk', ctx: { action: QUOTE, csrf: QUOTE, username: QUOTE, error: '<script>', profile_step: true } },
      { name: 'register with terms', template: 'register.njk', ctx: { action: QUOTE, csrf: QUOTE, username: QUOTE, error: '<script>', terms: { title: XSS, version: QUOTE, url: QUOTE }, terms_missing: true } },
      { name: 'terms', template: 'terms.njk', ctx: { terms: { title: XSS, version: XSS, url: QUOTE }, text: [[XSS, '<script>'], [QUOTE]] } },
      { name: 'android-agent', template: 'android-agent.njk', ctx: { agent: { name: XSS, version: XSS, url: QUOTE, size_text: XSS, sha256: XSS } } },
      { name: 'android-agent with Passpoint', template: 'android-agent.njk', ctx: { agent: null, passpoint_action: QUOTE, csrf: QUOTE } },
      { name: 'passpoint-ready', template: 'passpoint-ready.njk', ctx: { download_url: QUOTE, provider_name: XSS, mac: XSS, user: XSS, minutes: XSS, devices_url: QUOTE } },
      { name: 'unsupported', template: 'unsupported.njk', ctx: { os_name: XSS } },
      { name: 'unidentified', template: 'unidentified.njk', ctx: {} },
      { name: 'error', template: 'error.njk', ctx: { status: 400, message: '<script>', heading: XSS, retry: true } },
      {
        name: 'profile-ready',
        template: 'profile-ready.njk',
        ctx: { download_url: QUOTE, mac: XSS, user: XSS, minutes: XSS, devices_url: QUOTE, next: { networks: [{ ssid: XSS, asks: XSS }, { ssid: XSS, asks: XSS }], cutoff_text: XSS, morning_text: XSS } },
      },
      { name: 'refused', template: 'refused.njk', ctx: { code: XSS, message: '<script>', mac: XSS } },
      { name: 'chromeos-onc', template: 'chromeos-onc.njk', ctx: { download_url: QUOTE, user: XSS, mac: XSS, minutes: XSS, ssids: [XSS], cutoff_text: XSS, morning_text: XSS, devices_url: QUOTE } },
      ...(['linux-files.njk', 'android-settings.njk'] as const).map((template) => ({
        name: template,
        template,
        ctx: {
          user: XSS,
          mac: XSS,
          minutes: XSS,
          ca: { url: QUOTE, filename: XSS },
          identity: { url: QUOTE, filename: XSS, password: XSS },
          networks: [{ ssid: XSS, security: 'eap-tls', hidden: true, psk: XSS, command: XSS, up: XSS, eap: { method: 'TLS', phase2: XSS, identity: XSS, anonymousIdentity: XSS, domain: XSS } }],
          cutoff_text: XSS,
          morning_text: XSS,
          devices_url: QUOTE,
        },
      })),
      { name: 'my-devices', template: 'my-devices.njk', ctx: { user: XSS, devices: [{ mac: XSS, label: XSS, os_text: XSS, enrolled_text: XSS }], csrf: QUOTE, notice: XSS } },
      { name: 'unenroll-confirm', template: 'unenroll-confirm.njk', ctx: { device: { mac: XSS, label: XSS, os_text: XSS, enrolled_text: XSS }, csrf: QUOTE, reasons: [], error: '<script>' } },
      {
        name: 'walled-garden',
        template: 'walled-garden.njk',
        ctx: {
          registration_networks: [XSS],
          entries: [true, false].map((open) => ({ open, service: XSS, ports_text: XSS, to: XSS, why: XSS })),
          warnings: [XSS],
        },
      },
    ];

    it('the logo address and the accent style, escaped in the layout', () => {
      const html = render({ name: 'layout', template: 'walled-garden.njk', ctx: { ...gardenPage({}), logo_url: QUOTE, brand_style: '</style><script>' } }, env);
      expect(tags(html, 'img')).toEqual(['<img class="brand" src="&quot;&gt;&lt;svg onload=alert(1)&gt;" alt="" width="36" height="36">']);
      expect(html).not.toMatch(/<script/i);
      expect(tags(html, 'style')).toHaveLength(1);
      expect(html).toContain('&lt;/style&gt;&lt;script&gt;\n</style>');
    });

    it.each(hostile)('$name', (c) => {
      const html = render(c, env);
      expect(html).not.toMatch(/<img\b/i);
      expect(html).not.toMatch(/<svg onload/i);
      expect(html).not.toMatch(/<script/i);
      expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
      if ('username' in c.ctx) expect(html).toContain('value="&quot;&gt;&lt;svg onload=alert(1)&gt;"');
      if (c.ctx.error || c.ctx.message) expect(html).toContain('&lt;script&gt;');
    });
  });
});
