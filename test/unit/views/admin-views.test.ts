import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import { describe, expect, it } from 'vitest';
import { hourChart, shareBars } from '../../../src/admin/charts.js';
import { addRouteUrls } from '../../../src/portal/render.js';
import { PortalUrls } from '../../../src/portal/urls.js';

/** The admin console's templates: every one rendered, escaped, without script, labelled. */
const VIEWS = fileURLToPath(new URL('../../../views/', import.meta.url));
const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS), { autoescape: true, throwOnUndefined: false });
env.addGlobal('org_name', 'Northwind Logistics');
env.addGlobal('csp_nonce', 'bm9uY2U=');
// Forms and the logout button are built by route name (url()), as in the portal's app.
const urls = new PortalUrls('https://portal.example.org');
addRouteUrls(env, urls);

const XSS = '<img src=x onerror=alert(1)>"\'';
const actor = { name: 'boss', role: 'admin' };
const nav = [{ url: '/admin', label: 'Dashboard', current: true }];
const base = { actor, nav, csrf_logout: 'tok' };
const hours = Array.from({ length: 24 }, (_, i) => ({ hour: new Date(Date.UTC(2026, 10, 26, i)).toISOString(), accepts: i * 3, rejects: i % 4 }));

const CASES: Array<{ template: string; ctx: Record<string, unknown> }> = [
  { template: 'login.njk', ctx: { csrf: 'tok', error: 'Wrong username or password.', username: 'boss' } },
  { template: 'dashboard.njk', ctx: { ...base, sessions_now: 12, devices: 40, accepts: 300, rejects: 20, chart: hourChart(hours, 'UTC'), by_os: shareBars([{ os: 'iOS 17', count: 20 }, { os: 'Android 14', count: 20 }]) } },
  { template: 'devices.njk', ctx: { ...base, q: 'alice', rows: [{ mac: 'aa:bb:cc:dd:ee:ff', owner: 'alice', os: 'ios 17.5', enrolled: '2026-11-26 08:00', session: 'until 2026-11-27 04:00', last_seen: '', blocked: false, revoke_url: '/admin/confirm?action=revoke&mac=aa', unenroll_url: '/admin/confirm?action=unenroll&mac=aa', block_url: '/admin/confirm?action=block&mac=aa' }], blocked: [{ mac: 'aa:bb:cc:dd:ee:01', by: 'help', reason: 'stolen', at: '2026-11-26 08:00', unblock_url: '/admin/confirm?action=unblock&mac=aa' }] } },
  { template: 'sessions.njk', ctx: { ...base, user: 'alice', revoke_user_url: '/admin/confirm?action=revoke-user&user=alice', rows: [{ mac: 'aa:bb:cc:dd:ee:ff', user: 'alice', origin: 'login', started: 's', ends: 'e', revoke_url: '/admin/confirm?action=revoke&mac=aa' }] } },
  { template: 'nas.njk', ctx: { ...base, nas_clients: [{ name: 'wlc-1', address: '10.0.0.0/24', profile: 'cisco-wlc', last_answer: '2026-11-26 08:00', accepts: 5, rejects: 1, drops: 0 }] } },
  { template: 'audit.njk', ctx: { ...base, form: { from: '2026-11-26', to: '', user: '', mac: '', type: 'radius.accepted', outcome: '' }, types: ['radius.accepted', 'radius.rejected'], searched: true, more: true, export_csv_url: '/admin/audit/export?format=csv', export_jsonl_url: '/admin/audit/export?format=jsonl', rows: [{ seq: 1, at: 'a', type: 'radius.accepted', outcome: 'success', user: 'alice', mac: 'aa:bb:cc:dd:ee:ff', nas: 'wlc-1', reason: 'live session', details: '{}' }] } },
  {
    template: 'decisions.njk',
    ctx: {
      ...base,
      form: { outcome: '', nas: 'wlc-1', mac: '', reason: '' },
      window_hours: 24,
      max_rows: 500,
      max_drops: 200,
      more: false,
      time_zone: 'UTC',
      rows: [
        { at_iso: '2026-11-26T08:00:02.000Z', at: '2026-11-26 08:00:02 +00:00', outcome: 'drop', reason: 'bad_message_authenticator', hint: 'wrong shared secret on NAS wlc-1?', nas: 'wlc-1', mac: '', user: '', method: '', attributes: '' },
        { at_iso: '2026-11-26T08:00:01.000Z', at: '2026-11-26 08:00:01 +00:00', outcome: 'accept', reason: 'live session', nas: 'wlc-1', mac: 'aa:bb:cc:dd:ee:fe', user: 'alice', method: 'mab', attributes: 'Session-Timeout=3600, Tunnel-Type=VLAN' },
        { at_iso: '2026-11-26T08:00:00.000Z', at: '2026-11-26 08:00:00 +00:00', outcome: 'reject', reason: 'no session', nas: 'wlc-1', mac: 'aa:bb:cc:dd:ee:ff', user: '', method: 'mab', attributes: '' },
      ],
      show_drops: true,
      mac_searched: false,
      drops: [{ reason: 'bad_message_authenticator', nas: 'wlc-1', hint: 'wrong shared secret on NAS wlc-1?', count: 3 }],
    },
  },
  { template: 'confirm.njk', ctx: { ...base, title: 'End this device’s session', verb: 'End the session', action_name: 'revoke', target_field: 'mac', target: 'aa:bb:cc:dd:ee:ff', needs_reason: true, csrf: 'tok', back_url: '/admin/devices' } },
  { template: 'done.njk', ctx: { ...base, message: 'Done.', back_url: '/admin/devices' } },
];

const tags = (html: string, name: string) => [...html.matchAll(new RegExp(`<${name}\\b[^>]*>`, 'g'))].map((m) => m[0]);
const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

describe('admin views', () => {
  it('has a case for every admin template', () => {
    const pages = readdirSync(`${VIEWS}admin`).filter((f) => f.endsWith('.njk') && f !== 'layout.njk');
    expect(new Set(CASES.map((c) => c.template))).toEqual(new Set(pages));
  });

  it('never marks a value safe, and holds no script or style attribute', () => {
    for (const f of readdirSync(`${VIEWS}admin`)) {
      const src = readFileSync(`${VIEWS}admin/${f}`, 'utf8');
      expect(src, f).not.toMatch(/\|\s*safe\b/);
      expect(src, f).not.toMatch(/<script/i);
      expect(src, f).not.toMatch(/\bstyle="/);
    }
  });

  describe.each(CASES)('$template', ({ template, ctx }) => {
    const html = env.render(`admin/${template}`, ctx);
    it('is one page with one h1, the nonce on its only style, every input labelled', () => {
      expect(tags(html, 'h1')).toHaveLength(1);
      expect(tags(html, 'style')).toEqual(['<style nonce="bm9uY2U=">']);
      const labelled = new Set(tags(html, 'label').map((t) => attr(t, 'for')));
      for (const input of [...tags(html, 'input'), ...tags(html, 'select')]) {
        if (attr(input, 'type') === 'hidden') continue;
        expect(labelled.has(attr(input, 'id')), input).toBe(true);
      }
    });
    it('escapes what it shows', () => {
      const hostile = JSON.parse(JSON.stringify(ctx, (k, v) => (typeof v === 'string' && !/url|action|csrf|nonce|^role$/.test(k) ? XSS : v)));
      const out = env.render(`admin/${template}`, hostile);
      expect(out).not.toContain('<img src=x');
    });
  });

  it('posts and searches to the routes the console registers, built by name', () => {
    const actions = (template: string) => tags(env.render(`admin/${template}`, CASES.find((c) => c.template === template)!.ctx), 'form').map((f) => attr(f, 'action'));
    expect(actions('login.njk')).toEqual([urls.route('admin.login')]);
    expect(actions('devices.njk')).toEqual([urls.route('admin.logout'), urls.route('admin.devices')]);
    expect(actions('sessions.njk')).toEqual([urls.route('admin.logout'), urls.route('admin.sessions')]);
    expect(actions('audit.njk')).toEqual([urls.route('admin.logout'), urls.route('admin.audit')]);
    expect(actions('confirm.njk')).toEqual([urls.route('admin.logout'), urls.route('admin.action')]);
  });

  it('puts the visit’s token into the logout form of every logged-in page', () => {
    const html = env.render('admin/done.njk', CASES.at(-1)!.ctx);
    const logout = tags(html, 'form').find((f) => attr(f, 'action') === urls.route('admin.logout'));
    expect(logout).toBeDefined();
    expect(html).toContain('<input type="hidden" name="_csrf" value="tok">');
  });
});
