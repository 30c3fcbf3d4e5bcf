import { describe, expect, it } from 'vitest';
import { nextSteps as nextStepsIn } from '../../../src/portal/next-steps.js';
import { wordsIn } from '../../helpers/words.js';

const nextSteps = (config: Parameters<typeof nextStepsIn>[0]) => nextStepsIn(config, wordsIn('en'));

type Security = 'open' | 'wpa2-personal' | 'wpa3-personal' | 'eap-peap' | 'eap-ttls' | 'eap-tls';

function config(securities: Security[], o: { cutoff?: string; zone?: string; nextMorning?: 'renew' | 'daily_login' } = {}) {
  return {
    ios: { wifi: securities.map((security, i) => ({ ssid: `Net ${i}`, security })) },
    session: { daily_cutoff: o.cutoff ?? '04:00', time_zone: o.zone ?? 'Europe/Berlin' },
    eap: { next_morning: o.nextMorning ?? 'renew' },
  } as unknown as Parameters<typeof nextStepsIn>[0];
}

describe('nextSteps: what the page after the profile says', () => {
  it.each<[Security, RegExp]>([
    ['eap-tls', /^It asks for nothing: the profile holds this device’s own certificate\.$/],
    ['eap-ttls', /^It asks for your work password once/],
    ['eap-peap', /^It asks for your work password once/],
    ['wpa2-personal', /^It asks for nothing: the profile holds the network password\.$/],
    ['wpa3-personal', /^It asks for nothing: the profile holds the network password\.$/],
    ['open', /^It asks for nothing\.$/],
  ])('%s: %s', (security, asks) => {
    const [network] = nextSteps(config([security])).networks;
    expect(network!.ssid).toBe('Net 0');
    expect(network!.asks).toMatch(asks);
  });

  it('names every network, in the configured order', () => {
    expect(nextSteps(config(['eap-ttls', 'eap-tls'])).networks.map((n) => n.ssid)).toEqual(['Net 0', 'Net 1']);
  });

  it('gives the cut-off as the configured local time and zone', () => {
    expect(nextSteps(config(['open'], { cutoff: '03:30', zone: 'America/New_York' })).cutoff_text).toBe('03:30 local time (America/New_York)');
    expect(nextSteps(config(['open'], { zone: 'UTC' })).cutoff_text).toBe('04:00 UTC');
  });

  it.each<[Security[], 'renew' | 'daily_login', RegExp]>([
    [['eap-tls'], 'renew', /reconnects by itself, as long as you may still use the Wi-Fi/],
    [['eap-tls'], 'daily_login', /Wi-Fi page opens again/],
    [['eap-ttls'], 'renew', /reconnects by itself with the password it remembers/],
    [['eap-ttls', 'eap-peap'], 'daily_login', /reconnects by itself with the password it remembers/],
    [['eap-ttls', 'eap-tls'], 'renew', /Wi-Fi page opens again/],
    [['wpa2-personal'], 'renew', /Wi-Fi page opens again: log in with your work password/],
    [['open'], 'renew', /Wi-Fi page opens again/],
  ])('the next morning on %j with next_morning %s', (securities, nextMorning, text) => {
    expect(nextSteps(config(securities, { nextMorning })).morning_text).toMatch(text);
  });

  it("speaks the page's language, with the device as the text calls it", () => {
    const de = wordsIn('de');
    const steps = nextStepsIn(config(['eap-tls'], { nextMorning: 'renew' }), de, 'mac');
    expect(steps.networks[0]!.asks).toBe('Es fragt nach nichts: Das Profil enthält das eigene Zertifikat dieses Geräts.');
    expect(steps.cutoff_text).toBe('04:00 Uhr Ortszeit (Europe/Berlin)');
    expect(steps.morning_text).toMatch(/^Am nächsten Morgen verbindet sich der Mac von selbst/);
    expect(nextStepsIn(config(['open'], { zone: 'UTC' }), wordsIn('fr')).cutoff_text).toBe('04:00 UTC');
  });
});
