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
  /**
   * The device model, where the User-Agent names one: "iPhone", "iPad", "iPod touch", or an
   * Android model such as "Pixel 8" (the captive-portal WebView and older Chrome send it;
   * Chrome 110+ sends "K" instead, which names nothing). A label for My devices, never proof.
   */
  readonly model?: string;
}

const RULES: ReadonlyArray<{ test: RegExp; platform: Platform; name: string; version?: RegExp; model?: string }> = [
  // An iPod touch says "iPhone OS": it is tested first.
  { test: /\biPod\b/, platform: 'ios', name: 'iOS', version: /\bOS (\d+(?:_\d+)*)/, model: 'iPod touch' },
  { test: /\biPhone\b/, platform: 'ios', name: 'iOS', version: /\bOS (\d+(?:_\d+)*)/, model: 'iPhone' },
  { test: /\biPad\b/, platform: 'ios', name: 'iPadOS', version: /\bOS (\d+(?:_\d+)*)/, model: 'iPad' },
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
    const model = rule.model ?? (rule.platform === 'android' ? androidModel(ua) : undefined);
    return {
      platform: rule.platform,
      name: rule.name,
      ...(version ? { version } : {}),
      ...(rule.name === 'macOS' ? { maybeIpad: true } : {}),
      ...(model ? { model } : {}),
    };
  }
  return { platform: 'other', name: 'this device' };
}

/** "Android 14; Pixel 8 Build/AP2A…; wv)": the part after the version, up to Build/ or the next ';' or ')'. */
const ANDROID_MODEL = /\bAndroid [\d.]+; ([^;)]+?)(?: Build\/[^;)]*)?[;)]/;
/** Chrome's reduced User-Agent ("Android 10; K") and language tags of old browsers name no model. */
const NOT_A_MODEL = /^(K|wv|[a-z]{2}(-[A-Za-z]{2})?)$/;

/** The Android model a User-Agent names, printable and at most 40 characters; undefined when it names none. */
function androidModel(ua: string): string | undefined {
  const found = ANDROID_MODEL.exec(ua)?.[1]?.trim();
  if (!found || NOT_A_MODEL.test(found) || found.length > 40 || !/^[\x20-\x7e]+$/.test(found)) return undefined;
  return found;
}
