import { describe, expect, it } from 'vitest';
import { privateAddressSteps as stepsIn } from '../../../src/portal/private-address-steps.js';
import { wordsIn } from '../../helpers/words.js';

const privateAddressSteps = (platform: Parameters<typeof stepsIn>[0], version: string | undefined) => stepsIn(platform, version, wordsIn('en'));

describe('privateAddressSteps: what to set so that the private address stays the same', () => {
  it('iOS 18 and later: Fixed (or Off) in the Private Wi-Fi Address menu, and no version label', () => {
    for (const v of ['18', '18.1', '26.0']) {
      const [step, ...more] = privateAddressSteps('ios', v);
      expect(more).toEqual([]);
      expect(step).toMatch(/^Settings → Wi-Fi → tap ⓘ next to this network → Private Wi-Fi Address → choose Fixed \(or Off\)\./);
    }
  });

  it('iOS 14 to 17: the on/off switch (on keeps one address per network), no Fixed or Rotating', () => {
    for (const v of ['14.0', '17.5']) {
      const [step, ...more] = privateAddressSteps('ios', v);
      expect(more).toEqual([]);
      expect(step).toContain('leave Private Wi-Fi Address on (one address for this network)');
      expect(step).not.toMatch(/Fixed|Rotating/);
    }
  });

  it('iOS of unknown version (iPadOS, desktop User-Agent): both, each labelled with its versions', () => {
    for (const v of [undefined, 'beta']) {
      const steps = privateAddressSteps('ios', v);
      expect(steps).toHaveLength(2);
      expect(steps[0]).toMatch(/^iOS 18 and later: .*Fixed/);
      expect(steps[1]).toMatch(/^iOS 14 to 17: .*Private Wi-Fi Address on/);
    }
  });

  it('Android: the same for every version (Chrome always says "Android 10"), the Android 12 developer option labelled', () => {
    expect(privateAddressSteps('android', '10')).toEqual(privateAddressSteps('android', '14'));
    expect(privateAddressSteps('android', undefined)).toEqual(privateAddressSteps('android', '10'));
    const [privacy, developer] = privateAddressSteps('android', '10');
    expect(privacy).toContain('Privacy → choose Use randomized MAC (one address for this network) or Use device MAC');
    expect(developer).toMatch(/^Android 12 and later: .*Wi-Fi non-persistent MAC randomization is off/);
  });

  it('another OS: in general words', () => {
    expect(privateAddressSteps('other', undefined)).toEqual(["In this network's Wi-Fi settings, choose a private address that stays the same for this network, or the device's own address."]);
  });

  it('in the page language: German with the names iOS shows in German', () => {
    const [later, earlier] = stepsIn('ios', undefined, wordsIn('de'));
    expect(later).toMatch(/^iOS 18 und neuer: Einstellungen → WLAN → .*Private WLAN-Adresse → Fest/);
    expect(earlier).toMatch(/^iOS 14 bis 17: /);
    expect(stepsIn('other', undefined, wordsIn('fr'))).toHaveLength(1);
  });
});
