import type { Platform } from '../devices/device.js';

/** What the portal can tell about a device from its User-Agent. */
export interface DetectedOs {
  readonly platform: Platform;
  /** A name for pages ("iOS", "Android", "Windows" ...). */
  readonly name: string;
  /** Dotted version when the User-Agent carries one. */
  readonly version?: string;
  /** iPadOS 13+ Safari asks for desktop pages and says "Macintosh": such a visitor may be an iPad. */
  readonly maybeIpad?: boolean;
}

const RULES: ReadonlyArray<{ test: RegExp; platform: Platform; name: string; version?: RegExp }> = [
  { test: /\b(iPhone|iPod)\b/, platform: 'ios', name: 'iOS', version: /\bOS (\d+(?:_\d+)*)/ },
  { test: /\biPad\b/, platform: 'ios', name: 'iPadOS', version: /\bOS (\d+(?:_\d+)*)/ },
  // Apple's captive-portal assistant before it opens its sheet.
  { test: /^CaptiveNetworkSupport/, platform: 'ios', name: 'iOS' },
  { test: /\bAndroid\b/, platform: 'android', name: 'Android', version: /\bAndroid (\d+(?:\.\d+)*)/ },
  { test: /\bCrOS\b/, platform: 'other', name: 'ChromeOS' },
  { test: /\bWindows\b/, platform: 'other', name: 'Windows' },
  { test: /\bMacintosh\b/, platform: 'other', name: 'macOS' },
  { test: /\bLinux\b/, platform: 'other', name: 'Linux' },
];

/** The platform and OS version a User-Agent claims (a claim, not proof: it only picks which page to show). */
export function detectOs(userAgent: string | undefined): DetectedOs {
  const ua = (userAgent ?? '').slice(0, 512);
  for (const rule of RULES) {
    if (!rule.test.test(ua)) continue;
    const version = rule.version?.exec(ua)?.[1]?.replace(/_/g, '.');
    return {
      platform: rule.platform,
      name: rule.name,
      ...(version ? { version } : {}),
      ...(rule.name === 'macOS' ? { maybeIpad: true } : {}),
    };
  }
  return { platform: 'other', name: 'this device' };
}
