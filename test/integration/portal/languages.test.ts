import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../../../src/cli/commands/check-config.js';
import { editConfig, startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { call as httpCall, formOf, type CallOptions, type Reply } from '../../helpers/http.js';
import { radclient } from '../../helpers/radclient.js';

/**
 * The employee pages in the visitor's language, over real HTTP against a real gateway:
 * Accept-Language, the ?lang= choice and its cookie, and an admin's folder of catalogs
 * (portal.languages.dir) that changes a German text and adds Dutch.
 */

let t: TestGateway;

function call(method: string, path: string, o: CallOptions = {}): Promise<Reply> {
  return httpCall(t.httpUrl, method, path, { ip: '10.31.0.9', ...o });
}

const langOf = (r: Reply) => /^<!doctype html>\n<html lang="([^"]+)">/.exec(r.body)?.[1];
const cookieOf = (r: Reply, name: string) => ([] as string[]).concat(r.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${name}=`));

beforeAll(async () => {
  t = await startTestGateway({
    configure: (doc) => {
      doc.portal.trust_proxy = true;
      doc.portal.languages = { dir: 'languages' };
    },
    beforeStart: async (dir) => {
      await mkdir(join(dir, 'languages'));
      await writeFile(join(dir, 'languages', 'de.yaml'), 'layout:\n  staff_wifi: WLAN für das <b>Personal</b>\n');
      await writeFile(join(dir, 'languages', 'nl.yaml'), 'language:\n  name: Nederlands\nunidentified:\n  heading: We konden dit apparaat niet herkennen\n');
    },
  });
});
afterAll(async () => {
  await t?.close();
});

describe('the language of a page', () => {
  it.each([
    ['de', 'de', 'Wir konnten dieses Gerät nicht erkennen'],
    ['de-AT,de;q=0.9', 'de', 'Wir konnten dieses Gerät nicht erkennen'],
    ['fr-CA', 'fr', "Nous n'avons pas pu reconnaître cet appareil"],
    ['en;q=0.2, es;q=0.8', 'es', 'No hemos podido reconocer este dispositivo'],
    ['xx', 'en', 'We could not recognise this device'],
    ['', 'en', 'We could not recognise this device'],
  ])('Accept-Language %j: %s', async (language, lang, heading) => {
    const r = await call('GET', '/portal', { language });
    expect(r.status).toBe(200);
    expect(langOf(r)).toBe(lang);
    expect(r.headers['content-language']).toBe(lang);
    expect(r.headers.vary).toMatch(/Accept-Language/);
    expect(r.headers.vary).toMatch(/Cookie/);
    expect(r.body).toContain(`<h1>${heading.replaceAll("'", '&#39;')}</h1>`);
    // Nothing chosen, nothing remembered.
    expect(cookieOf(r, 'eg_lang')).toBeUndefined();
  });

  it('?lang= switches the page and is remembered for the portal, over Accept-Language', async () => {
    const chosen = await call('GET', '/portal?lang=es', { language: 'de' });
    expect(langOf(chosen)).toBe('es');
    const cookie = cookieOf(chosen, 'eg_lang')!;
    expect(cookie).toMatch(/^eg_lang=es; path=\/portal; expires=[^;]+; samesite=lax; httponly$/);
    const next = await call('GET', '/portal', { language: 'de', cookie: cookie.split(';')[0]! });
    expect(langOf(next)).toBe('es');
    expect(next.body).toContain('<h1>No hemos podido reconocer este dispositivo</h1>');
  });

  it.each(['DE', 'de-DE', 'De'])('?lang=%s chooses German as Accept-Language would (tags are case-insensitive), and remembers it as de', async (asked) => {
    const r = await call('GET', `/portal?lang=${asked}`, { language: 'fr' });
    expect(langOf(r)).toBe('de');
    expect(r.headers['content-language']).toBe('de');
    expect(r.body).toContain('<h1>Wir konnten dieses Gerät nicht erkennen</h1>');
    expect(cookieOf(r, 'eg_lang')).toMatch(/^eg_lang=de;/);
  });

  it('a ?lang= or a cookie for a language not offered is ignored', async () => {
    const r = await call('GET', '/portal?lang=zz', { language: 'fr', cookie: 'eg_lang=<x>' });
    expect(langOf(r)).toBe('fr');
    expect(cookieOf(r, 'eg_lang')).toBeUndefined();
  });

  it('links the same page, its query kept, in every offered language, each named in itself', async () => {
    const r = await call('GET', '/portal?res=notyet&lang=fr');
    const nav = /<nav class="small" aria-label="Langue">(.*)<\/nav>/.exec(r.body)![1]!;
    expect(nav).toContain('<b lang="fr" aria-current="true">Français</b>');
    expect(nav).toContain(`<a href="${t.baseUrl}/portal?res=notyet&amp;lang=de" lang="de" hreflang="de">Deutsch</a>`);
    expect(nav).toContain('>English</a>');
    expect(nav).toContain('>Español</a>');
    expect(nav).toContain('>Nederlands</a>');
  });

  it('a 404 for a path that names another host is a page in the language, without links away', async () => {
    const r = await call('GET', '//evil.example/x', { language: 'de' });
    expect(r.status).toBe(404);
    expect(langOf(r)).toBe('de');
    expect(r.body).toContain('<h1>Seite nicht gefunden</h1>');
    expect(r.body).not.toContain('evil.example');
    expect(r.body).not.toContain('aria-label="Sprache"');
  });

  it('a form answered in the language, its refusal too, without the switcher (a POST cannot be linked again)', async () => {
    const mac = '00:31:00:00:00:01';
    const ip = '10.31.0.1';
    const lease = await radclient(t.gateway.ports.acct, 'acct', TEST_NAS_SECRET, ['Acct-Status-Type = Start', 'Acct-Session-Id = "lang-1"', `Calling-Station-Id = "${mac}"`, `Framed-IP-Address = ${ip}`]);
    expect(lease.reply).toBe('Accounting-Response');
    const page = await call('GET', '/portal', { ip, language: 'fr' });
    expect(page.body).toContain('<h1>Configurer cet iPhone ou iPad</h1>');
    const form = formOf(page);
    const refused = await call('POST', new URL(form.action).pathname, { ip, language: 'fr', cookie: form.cookie, form: { _csrf: form.csrf, username: 'employee', password: 'wrong' } });
    expect(refused.status).toBe(401);
    expect(langOf(refused)).toBe('fr');
    expect(refused.body).toContain('<label for="username">Nom d&#39;utilisateur</label>');
    // The refusal itself too: built in code, worded by the catalog.
    expect(refused.body).toContain('<p>Nom d&#39;utilisateur ou mot de passe incorrect.</p>');
    const empty = await call('POST', new URL(form.action).pathname, { ip, language: 'es', cookie: form.cookie, form: { _csrf: form.csrf, username: '', password: '' } });
    expect(empty.status).toBe(400);
    expect(empty.body).toContain('<p>Escriba su nombre de usuario y su contraseña.</p>');
    expect(refused.body).not.toContain('aria-label="Langue"');
  });
  it('a form past the body limit is a 413 page in the language, not a failure of ours', async () => {
    const before = t.logs.events().filter((l) => l.event === 'portal.error').length;
    const r = await call('POST', '/portal/login', { language: 'de', form: { _csrf: 'x', username: 'employee', password: 'p', accept_terms: 'a'.repeat(20_000) } });
    expect(r.status).toBe(413);
    expect(langOf(r)).toBe('de');
    expect(r.body).toContain('Das gesendete Formular war zu groß.');
    expect(t.logs.events().filter((l) => l.event === 'portal.error').length).toBe(before);
  });
});

describe("an admin's catalogs (portal.languages.dir)", () => {
  it('change a shipped text, bold kept and the rest escaped as always', async () => {
    const r = await call('GET', '/portal', { language: 'de' });
    expect(r.body).toContain('<span>WLAN für das <b>Personal</b></span>');
    expect(r.body).toContain('<h1>Wir konnten dieses Gerät nicht erkennen</h1>');
  });

  it('add a language, English where its file says nothing', async () => {
    const r = await call('GET', '/portal', { language: 'nl-BE' });
    expect(langOf(r)).toBe('nl');
    expect(r.body).toContain('<h1>We konden dit apparaat niet herkennen</h1>');
    expect(r.body).toContain('Disconnect from this Wi-Fi network, then connect to it again.');
  });

  it("check-config warns of the added language's missing keys, and refuses a key no page uses and an unknown placeholder, naming file and key", async () => {
    const ok = await checkConfig(t.configFile);
    expect(ok.problems).toEqual([]);
    expect(ok.warnings).toContainEqual(expect.stringMatching(/^portal\.languages\.dir: .*\/languages\/nl\.yaml: \d+ keys missing, shown in English: /));
    await mkdir(join(t.dir, 'bad-languages'));
    const bad = join(t.dir, 'bad-languages', 'fr.yaml');
    await writeFile(bad, 'login:\n  titre: Connexion\n  title: "Bonjour {prenom}"\n');
    await editConfig(t.configFile, (doc) => void (doc.portal.languages = { dir: 'bad-languages' }));
    const refused = await checkConfig(t.configFile);
    expect(refused.problems).toEqual([
      `portal.languages.dir: ${bad}: login.titre: no page uses this key (the keys are those of the shipped en.yaml)`,
      `portal.languages.dir: ${bad}: login.title: placeholder {prenom} is not given here (the page gives none)`,
    ]);
  });
});
