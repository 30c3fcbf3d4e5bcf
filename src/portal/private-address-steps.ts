import type { Platform } from '../devices/device.js';
import { compareVersions } from '../devices/policy.js';
import type { Translator } from './languages/languages.js';

/**
 * What to set so that a device keeps one private Wi-Fi address for this network, for the
 * OS version its User-Agent names where that is known. The facts (see docs/portal.md):
 * - iOS and iPadOS 18 and later offer Off, Fixed and Rotating under Settings → Wi-Fi → ⓘ →
 *   Private Wi-Fi Address; Fixed keeps one address for the network.
 * - iOS 14 to 17 have only an on/off switch there; on keeps one address per network. It
 *   changes when the device forgets the network or its network settings are reset, and from
 *   iOS 15 when it has not joined the network for six weeks.
 * - Android 10 and later keep one randomised address per network by default (persistent
 *   randomisation); the network's Privacy setting chooses it or the device's own MAC. From
 *   Android 12 the developer option "Wi-Fi non-persistent MAC randomization" gives a new
 *   address at a new connection once the old one is a day old.
 * Returns one line per case, each saying which versions it is for unless the version is known,
 * in the page's words (private_address.* in views/locales).
 */
export function privateAddressSteps(platform: Platform, osVersion: string | undefined, words: Pick<Translator, 'text'>): readonly string[] {
  switch (platform) {
    case 'ios': {
      const fixed = words.text('private_address.ios_fixed');
      const onOff = words.text('private_address.ios_on_off');
      const known = osVersion !== undefined && /^\d+(\.\d+)*$/.test(osVersion) ? osVersion : undefined;
      // iPadOS shows a desktop Safari User-Agent, with no iOS version in it.
      if (known === undefined) return [words.text('private_address.ios_18_and_later', { step: fixed }), words.text('private_address.ios_14_to_17', { step: onOff })];
      return [compareVersions(known, '18') >= 0 ? fixed : onOff];
    }
    case 'android':
      // Not by version: Chrome 110+ reports "Android 10; K" whatever the phone runs, so a
      // version from a User-Agent cannot tell Android 10 from 15. Each line says where it applies.
      return [words.text('private_address.android_privacy'), words.text('private_address.android_developer')];
    case 'macos':
    case 'windows':
    case 'chromeos':
    case 'linux':
    case 'other':
      return [words.text('private_address.other')];
  }
}
