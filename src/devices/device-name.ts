/** The longest name a person may give a device, in characters (code points). */
export const MAX_DEVICE_NAME = 40;

/**
 * C0 and C1 controls (line breaks and tabs included), and the bidirectional overrides and
 * isolates, which would make a name display differently from what it is ("Trojan Source").
 */
const REFUSED = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/u;

/** What a person typed, each refused character a space: to show a refused name back in its field. */
export function withoutRefusedCharacters(typed: string): string {
  return typed.replace(new RegExp(REFUSED.source, 'gu'), ' ');
}

/** Why a name is refused, for a page to say it in its language. */
export type DeviceNameProblem = 'missing' | 'control' | 'too_long';

/**
 * A name as a person typed it, checked: trimmed and NFC-normalised, at most MAX_DEVICE_NAME
 * characters, no control characters. An empty name means "no name" (the model shows again).
 * The name is shown only through autoescaped templates.
 */
export function parseDeviceName(input: unknown): { readonly name: string | undefined } | { readonly problem: string; readonly reason: DeviceNameProblem } {
  if (typeof input !== 'string') return { problem: 'Type a name for the device.', reason: 'missing' };
  const name = input.normalize('NFC').trim();
  if (REFUSED.test(name)) return { problem: 'A name cannot contain line breaks, tabs or other control characters.', reason: 'control' };
  if ([...name].length > MAX_DEVICE_NAME) return { problem: `A name can have at most ${MAX_DEVICE_NAME} characters.`, reason: 'too_long' };
  return { name: name === '' ? undefined : name };
}
