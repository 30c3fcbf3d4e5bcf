import type Keyv from 'keyv';
import type { StoredEntry } from './state-store.js';

/**
 * keyv's stored form of an entry (`{ value, expires }` as JSON, with its ':' escape for
 * strings that begin with ':' and for Buffers), read and written as the namespace's own
 * Keyv does: both stores and store migrate use it.
 */

/** A string value that begins with ':' in keyv's JSON (see storedValueNow). */
const MAY_HOLD_ESCAPED = /[:,[]":/;

/** keyv's stored text ({ value, expires } as JSON) read back as keyv.get would give its value. */
export function storedValueNow(keyv: Keyv, raw: string): unknown {
  // keyv's deserializer revives strings that begin with ':' (its escape for such strings
  // and for Buffers) with a reviver that triples the cost of the parse; keyv writes JSON
  // without spaces, so a text where no string value can begin with ':' has none of
  // :": [": ,": and plain JSON.parse reads it the same.
  const data: unknown = MAY_HOLD_ESCAPED.test(raw) ? keyv.deserialize!(raw) : JSON.parse(raw);
  if (data instanceof Promise) throw new Error('readNow needs a synchronous deserializer');
  return (data as { value?: unknown } | undefined)?.value;
}

/**
 * The sessions among purged entries (their stored text), as keyv reads them (its ':'
 * escape undone), for the audit trail's session.expired; an entry that does not read
 * is deleted all the same and left out. Both stores' purges use it.
 */
export function storedSessions(keyv: Keyv, raws: readonly string[]): unknown[] {
  const out: unknown[] = [];
  for (const raw of raws) {
    try {
      const value = storedValueNow(keyv, raw);
      if (value !== undefined) out.push(value);
    } catch {
      // not something keyv wrote: nothing to hand over
    }
  }
  return out;
}

/** An entry from keyv's stored form ({ value, expires }, read by the namespace's own Keyv). */
export async function storedEntry(keyv: Keyv, key: string, raw: string): Promise<StoredEntry> {
  const data = await keyv.deserializeData<unknown>(raw);
  return { key, value: data?.value, expiresAt: typeof data?.expires === 'number' ? data.expires : null };
}

/** keyv's stored form of an entry, written by the namespace's own Keyv as keyv.set() would. */
export async function storedForm(keyv: Keyv, entry: StoredEntry): Promise<string> {
  return (await keyv.serializeData({ value: entry.value, ...(entry.expiresAt === null ? {} : { expires: entry.expiresAt }) })) as string;
}
