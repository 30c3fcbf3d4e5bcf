import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { radiusLib } from './radius-lib.js';
import { forgetDecodedForms } from './packet.js';

/**
 * Vendor dictionaries (radius-dictionaries/) for the `radius` package. The package reads
 * dictionaries lazily, once, and skips any line it does not understand without a word,
 * so each file is checked here line by line first, and then the package is made to
 * re-read everything (a dictionary added after its first use would otherwise be ignored).
 */

/** radius-dictionaries/ at the top of the checkout: the same relative place from src/ and dist/. */
export const DICTIONARY_DIR = fileURLToPath(new URL('../../radius-dictionaries/', import.meta.url));

/** The types the package encodes and decodes; anything else (integer64, tlv, byte …) would be mangled. */
const TYPES: ReadonlySet<string> = new Set(['string', 'octets', 'integer', 'ipaddr', 'date']);
/** The flags it implements: RFC 2868 tags and RFC 2865 §5.2 (User-Password) hiding. Not encrypt=2. */
const FLAGS: ReadonlySet<string> = new Set(['has_tag', 'encrypt=1']);
const NAME = /^[A-Za-z][A-Za-z0-9._-]*$/;
const DECIMAL = /^[0-9]+$/;

export interface DictionaryVendor {
  readonly name: string;
  readonly id: number;
  /** file:line, for messages. */
  readonly at: string;
}

export interface DictionaryAttribute {
  /** Absent for a standard (non-vendor) attribute. */
  readonly vendor?: DictionaryVendor;
  readonly name: string;
  readonly id: number;
  readonly type: string;
  readonly at: string;
}

export interface ParsedDictionary {
  readonly vendors: readonly DictionaryVendor[];
  readonly attributes: readonly DictionaryAttribute[];
}

/** What loadDictionaries read, for the start-up log line. */
export interface LoadedDictionaries {
  readonly files: readonly string[];
  readonly vendors: number;
  readonly attributes: number;
}

/**
 * One dictionary file, checked against what the `radius` package actually reads.
 * `knownVendor` resolves vendors declared elsewhere (an earlier file, the bundled ones).
 * Pure; throws a ConfigError naming the file and line.
 */
export function parseDictionary(text: string, file: string, knownVendor: (name: string) => DictionaryVendor | undefined = () => undefined): ParsedDictionary {
  const vendors: DictionaryVendor[] = [];
  const attributes: DictionaryAttribute[] = [];
  let open: { vendor: DictionaryVendor; at: string } | undefined;
  const fail = (line: number, message: string): never => {
    throw new ConfigError(`radius dictionary ${file}:${line}: ${message}`);
  };
  const vendorNamed = (name: string) => vendors.find((v) => v.name === name) ?? knownVendor(name);

  text.split('\n').forEach((raw, index) => {
    const n = index + 1;
    // The package strips from the first '#' (even inside a value) and reads the file as ASCII.
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    if (/[^\x20-\x7e\t]/.test(line)) fail(n, 'only printable ASCII is read correctly outside comments');
    const [keyword, ...args] = line.split(/\s+/) as [string, ...string[]];
    const at = `${file}:${n}`;
    switch (keyword) {
      case 'VENDOR': {
        const [name, id] = args;
        if (args.length !== 2 || !name || !id) return fail(n, 'VENDOR takes a name and a decimal number (format= options are not supported)');
        if (!NAME.test(name)) return fail(n, `"${name}" is not a vendor name`);
        // RFC 2865 §5.26: the high-order octet of the Vendor-Id is 0 (the package refuses other packets).
        if (!DECIMAL.test(id) || Number(id) < 1 || Number(id) > 0xffffff) return fail(n, `"${id}" is not a vendor number (1 to 16777215)`);
        const earlier = vendorNamed(name);
        if (earlier && earlier.id !== Number(id)) return fail(n, `vendor ${name} is already ${earlier.id} (${earlier.at})`);
        const sameId = vendors.find((v) => v.id === Number(id));
        if (sameId && sameId.name !== name) return fail(n, `vendor number ${id} is already ${sameId.name} (${sameId.at})`);
        if (!vendors.some((v) => v.name === name)) vendors.push({ name, id: Number(id), at });
        return;
      }
      case 'BEGIN-VENDOR': {
        if (args.length !== 1) return fail(n, 'BEGIN-VENDOR takes one vendor name');
        if (open) return fail(n, `BEGIN-VENDOR inside BEGIN-VENDOR ${open.vendor.name} (${open.at})`);
        const vendor = vendorNamed(args[0]!);
        if (!vendor) return fail(n, `vendor ${args[0]} is not declared: put a VENDOR line first`);
        open = { vendor, at };
        return;
      }
      case 'END-VENDOR': {
        if (!open) return fail(n, 'END-VENDOR without BEGIN-VENDOR');
        if (args.length !== 1 || args[0] !== open.vendor.name) return fail(n, `END-VENDOR ${open.vendor.name} expected`);
        open = undefined;
        return;
      }
      case 'ATTRIBUTE': {
        const [name, id, type, flags] = args;
        if (args.length < 3 || args.length > 4 || !name || !id || !type) return fail(n, 'ATTRIBUTE takes a name, a decimal number, a type and optional flags');
        if (!NAME.test(name)) return fail(n, `"${name}" is not an attribute name`);
        if (!DECIMAL.test(id) || Number(id) < 1 || Number(id) > 255) return fail(n, `${name}: "${id}" is not an attribute number from 1 to 255`);
        if (!TYPES.has(type)) return fail(n, `${name}: type "${type}" is not supported by the radius package (use ${[...TYPES].join(', ')})`);
        for (const flag of flags?.split(',') ?? []) {
          if (!FLAGS.has(flag)) return fail(n, `${name}: flag "${flag}" is not supported by the radius package (use ${[...FLAGS].join(', ')})`);
        }
        const vendor = open?.vendor;
        const same = attributes.find((a) => a.vendor?.id === vendor?.id && (a.name === name || a.id === Number(id)));
        if (same) return fail(n, `${name} ${id} clashes with ${same.name} ${same.id} (${same.at})`);
        attributes.push({ ...(vendor ? { vendor } : {}), name, id: Number(id), type, at });
        return;
      }
      case 'VALUE': {
        const [attribute, name, value] = args;
        if (args.length !== 3 || !attribute || !name || !value) return fail(n, 'VALUE takes an attribute name, a value name and a decimal number');
        const target = attributes.find((a) => a.name === attribute && a.vendor?.id === open?.vendor.id);
        if (!target) return fail(n, `VALUE for ${attribute}: define the attribute earlier in this file (and in the same vendor block)`);
        if (target.type !== 'integer') return fail(n, `VALUE for ${attribute}: only integer attributes have named values`);
        if (!NAME.test(name) || !DECIMAL.test(value)) return fail(n, `VALUE ${attribute} ${name} ${value}: a name and a decimal number expected`);
        return;
      }
      default:
        return fail(n, `"${keyword}" is not read by the radius package (only VENDOR, BEGIN-VENDOR, END-VENDOR, ATTRIBUTE, VALUE)`);
    }
  });
  if (open) fail(Number(open.at.slice(open.at.lastIndexOf(':') + 1)), `BEGIN-VENDOR ${open.vendor.name} is never closed with END-VENDOR`);
  return { vendors, attributes };
}

/**
 * Files already handed to the package. It keeps its list of dictionary locations for the
 * whole process and cannot drop one, so this list mirrors it: adding a file twice would
 * only make it read twice.
 */
const added = new Set<string>();

/**
 * Checks every `dictionary.*` file in `dir`, makes the `radius` package read them, and
 * verifies it did. Call once at start, before the first packet; calling again (a restart
 * in the same process) re-checks and changes nothing. Throws a ConfigError naming the file.
 */
export function loadDictionaries(dir: string): LoadedDictionaries {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.startsWith('dictionary.')).sort();
  } catch (err) {
    throw new ConfigError(`radius dictionaries: cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, [], { cause: err });
  }
  if (names.length === 0) throw new ConfigError(`radius dictionaries: no dictionary.* files in ${dir}`);
  const files = names.map((name) => resolve(join(dir, name)));

  // What the package knows already: its bundled RFC dictionaries (and ours, on a restart).
  libraryCall('the bundled dictionaries', () => radiusLib.load_dictionaries());
  const vendors = new Map<string, DictionaryVendor>();
  const knownVendor = (name: string): DictionaryVendor | undefined => {
    const mine = vendors.get(name);
    if (mine) return mine;
    const id = radiusLib.vendor_name_to_id(name);
    return id === undefined ? undefined : { name, id: Number(id), at: 'the radius package' };
  };
  const attributes: DictionaryAttribute[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`radius dictionary ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, [], { cause: err });
    }
    const parsed = parseDictionary(text, file, knownVendor);
    for (const v of parsed.vendors) {
      const sameId = [...vendors.values()].find((o) => o.id === v.id && o.name !== v.name);
      if (sameId) throw new ConfigError(`radius dictionary ${v.at}: vendor number ${v.id} is already ${sameId.name} (${sameId.at})`);
      if (!vendors.has(v.name)) vendors.set(v.name, v);
    }
    for (const a of parsed.attributes) {
      const clash = attributes.find((o) => o.vendor?.id === a.vendor?.id && (o.name === a.name || o.id === a.id));
      if (clash) throw new ConfigError(`radius dictionary ${a.at}: ${a.name} ${a.id} clashes with ${clash.name} ${clash.id} (${clash.at})`);
      checkAgainstLibrary(a);
      attributes.push(a);
    }
  }

  for (const file of files) {
    if (!added.has(file)) radiusLib.add_dictionary(file);
    added.add(file);
  }
  // Forget what was read so far and read again with our files, whether or not a packet was already encoded.
  radiusLib.unload_dictionaries();
  libraryCall('the dictionaries', () => radiusLib.load_dictionaries());
  forgetDecodedForms();
  for (const a of attributes) {
    if (Number(radiusLib.attr_name_to_id(a.name, a.vendor?.id)) !== a.id) {
      throw new ConfigError(`radius dictionary ${a.at}: the radius package did not load ${a.name}`);
    }
  }
  return { files, vendors: vendors.size, attributes: attributes.length };
}

/** A name or number the package already gives to a different attribute would make encoding ambiguous. */
function checkAgainstLibrary(a: DictionaryAttribute): void {
  const where = a.vendor ? `vendor ${a.vendor.name} (${a.vendor.id})` : 'the standard attributes';
  const id = radiusLib.attr_name_to_id(a.name, a.vendor?.id);
  if (id != null && Number(id) !== a.id) {
    throw new ConfigError(`radius dictionary ${a.at}: ${a.name} is already attribute ${id} of ${where} in the radius package's dictionaries`);
  }
  const name = radiusLib.attr_id_to_name(a.id, a.vendor?.id);
  if (name != null && name !== a.name) {
    throw new ConfigError(`radius dictionary ${a.at}: attribute ${a.id} of ${where} is already ${name} in the radius package's dictionaries`);
  }
}

function libraryCall(what: string, call: () => void): void {
  try {
    call();
  } catch (err) {
    throw new ConfigError(`radius dictionaries: the radius package could not read ${what} (${(err as Error).message})`, [], { cause: err });
  }
}
