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
   * With `maybeIpad`: the iPadOS version, should this be an iPad: Safari's own version
   * ("Version/17.5"), which on iPadOS is the system's (Safari ships with it). Undefined when
   * the browser is not Safari or names no version.
   */
  readonly ipadVersion?: string;
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
  // Chrome 110+ sends "Android 10; K" whatever the phone runs: that 10 is no version (the
  // lookahead leaves it unknown, so a minimum version cannot be passed with it).
  { test: /\bAndroid\b/, platform: 'android', name: 'Android', version: /\bAndroid (\d+(?:\.\d+)*)(?![\d.]|; K\))/ },
  // No versions for the desktops: Safari and Chrome say "Mac OS X 10_15_7" on every macOS
  // since 11, and Windows 11 says "Windows NT 10.0" like Windows 10.
  { test: /\bCrOS\b/, platform: 'chromeos', name: 'ChromeOS' },
  { test: /\bWindows\b/, platform: 'windows', name: 'Windows' },
  { test: /\bMacintosh\b/, platform: 'macos', name: 'macOS' },
  { test: /\bLinux\b/, platform: 'linux', name: 'Linux' },
];

/** Safari's version in a desktop Safari User-Agent; other browsers (which also say "Safari/") name theirs differently. */
const SAFARI_VERSION = /\bVersion\/(\d+(?:\.\d+)*) (?:Mobile\/\S+ )?Safari\//;
const NOT_SAFARI = /\b(?:Chrome|Chromium|CriOS|FxiOS|Firefox|Edg|EdgiOS|OPR)\//;

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
      ...(rule.platform === 'macos' ? ipad(ua) : {}),
      ...(model ? { model } : {}),
    };
  }
  return { platform: 'other', name: 'this device' };
}

/** A Mac User-Agent may be an iPad's: the flag, and the iPadOS version Safari's version gives. */
function ipad(ua: string): { maybeIpad: true; ipadVersion?: string } {
  const version = NOT_SAFARI.test(ua) ? undefined : SAFARI_VERSION.exec(ua)?.[1];
  return { maybeIpad: true, ...(version ? { ipadVersion: version } : {}) };
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
