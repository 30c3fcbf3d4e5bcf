import { describe, expect, it } from 'vitest';
import { DevicePolicy } from '../../../../src/devices/policy.js';
import { ENROLLABLE_PLATFORMS, type Platform } from '../../../../src/devices/device.js';
import { parseMac } from '../../../../src/mac.js';
import { BadInputError, GatewayError, DeviceLimitReachedError, DirectoryUnavailableError, InvalidCredentialsError, TooManyAttemptsError } from '../../../../src/errors.js';
import { dateTimeText, endsAtText, refusalText } from '../../../../src/portal/languages/page-text.js';
import { wordsIn } from '../../../helpers/words.js';

describe('refusalText', () => {
  it('says a refusal in the page language, with its numbers', () => {
    expect(refusalText(wordsIn('de'), new InvalidCredentialsError())).toBe('Benutzername oder Passwort ist falsch.');
    expect(refusalText(wordsIn('fr'), new TooManyAttemptsError(1))).toBe('Trop de mots de passe incorrects. Réessayez dans 1 seconde.');
    expect(refusalText(wordsIn('es'), new TooManyAttemptsError(600))).toBe('Demasiadas contraseñas incorrectas. Vuelva a intentarlo dentro de 10 minutos.');
    expect(refusalText(wordsIn('de'), new DeviceLimitReachedError(1))).toMatch(/^Sie haben bereits 1 Gerät registriert/);
    expect(refusalText(wordsIn('de'), new DirectoryUnavailableError(undefined, { retryAfterSeconds: 5 }))).toMatch(/in 5 Sekunden erneut\.$/);
    expect(refusalText(wordsIn('de'), new DirectoryUnavailableError())).toMatch(/in einer Minute erneut\.$/);
  });

  it('keeps the English of an error the catalogs do not word', () => {
    expect(refusalText(wordsIn('de'), new BadInputError('The MAC address is not valid.'))).toBe('The MAC address is not valid.');
  });

  it('says in English what the error itself says for a page', () => {
    for (const err of [new InvalidCredentialsError(), new TooManyAttemptsError(90), new TooManyAttemptsError(1), new DeviceLimitReachedError(3), new DeviceLimitReachedError(1), new DirectoryUnavailableError(), new DirectoryUnavailableError(undefined, { retryAfterSeconds: 1 })]) expect(refusalText(wordsIn('en'), err)).toBe(err.publicMessage);
  });
});

describe("the device policy's refusals", () => {
  const everyPlatform = Object.fromEntries(ENROLLABLE_PLATFORMS.map((p) => [p, true])) as Record<(typeof ENROLLABLE_PLATFORMS)[number], boolean>;
  const policy = (platforms: Partial<typeof everyPlatform>) =>
    new DevicePolicy({ device_limit: 3, group_limits: [], platforms: { ...everyPlatform, ...platforms }, min_os_version: { ios: '17.0', android: '14' }, randomised_macs: 'refuse' });
  const refusal = (check: () => void): GatewayError => {
    try {
      check();
    } catch (err) {
      return err as GatewayError;
    }
    throw new Error('not refused');
  };
  const PLATFORMS: Platform[] = [...ENROLLABLE_PLATFORMS, 'other'];
  const refusals = [
    ...PLATFORMS.map((p) => refusal(() => policy({ ios: false, macos: false, android: false, windows: false, chromeos: false, linux: false, [p]: false }).checkPlatform(p))),
    ...PLATFORMS.map((p) => refusal(() => policy(p === 'other' ? {} : { [p]: false }).checkPlatform(p))),
    ...(['ios', 'android'] as const).flatMap((p) => [refusal(() => policy({}).checkOs(p, '12.1')), refusal(() => policy({}).checkOs(p, undefined))]),
    ...PLATFORMS.map((p) => refusal(() => policy({}).checkMac(parseMac('3e:00:00:00:00:01')!, p))),
  ];

  it('in English are word for word what the policy says', () => {
    expect(refusals).toHaveLength(25);
    for (const err of refusals) expect(refusalText(wordsIn('en'), err)).toBe(err.message);
  });

  it('in German, with the versions and the platforms that may enroll', () => {
    const de = wordsIn('de');
    expect(refusalText(de, refusal(() => policy({}).checkOs('ios', '12.1')))).toBe('Auf diesem Gerät läuft iOS 12.1; dieses WLAN braucht iOS 17.0 oder neuer. Aktualisieren Sie es unter Einstellungen → Allgemein → Softwareupdate.');
    expect(refusalText(de, refusal(() => policy({ android: false }).checkPlatform('android')))).toBe('Dieses WLAN ist nicht für Android-Geräte freigegeben. Es ist freigegeben für: iPhone und iPad, Mac, Windows, Chromebook, Linux.');
    expect(refusalText(de, refusal(() => policy({}).checkMac(parseMac('3e:00:00:00:00:01')!, 'ios')))).toMatch(/^Dieses Gerät verwendet in diesem Netzwerk eine private .* Private WLAN-Adresse ausschalten/);
  });
});

describe('dates', () => {
  const zone = 'Europe/Berlin';
  const now = new Date('2026-11-23T10:00:00Z');

  it("a moment in a list: the language's own format, in the gateway's zone", () => {
    const at = new Date('2026-11-23T08:12:00Z');
    expect(dateTimeText(wordsIn('en'), at, zone)).toBe('Mon, 23 Nov 2026, 09:12');
    expect(dateTimeText(wordsIn('de'), at, zone)).toBe('Mo., 23. Nov. 2026, 09:12');
    expect(dateTimeText(wordsIn('fr'), at, zone)).toBe('lun. 23 nov. 2026, 09:12');
  });

  it('when a session ends: today, tomorrow or the weekday, counted in the zone', () => {
    expect(endsAtText(wordsIn('en'), new Date('2026-11-24T03:00:00Z'), now, zone)).toBe('04:00 tomorrow (Tue 24 Nov, Europe/Berlin)');
    expect(endsAtText(wordsIn('de'), new Date('2026-11-24T03:00:00Z'), now, zone)).toBe('morgen um 04:00 Uhr (Di., 24. Nov., Europe/Berlin)');
    expect(endsAtText(wordsIn('fr'), new Date('2026-11-23T22:30:00Z'), now, zone)).toBe('aujourd’hui à 23:30 (lun. 23 nov., Europe/Berlin)'.replace('’', "'"));
    expect(endsAtText(wordsIn('es'), new Date('2026-11-26T03:00:00Z'), now, zone)).toBe('el jueves a las 04:00 (jue, 26 nov, Europe/Berlin)');
  });
});
