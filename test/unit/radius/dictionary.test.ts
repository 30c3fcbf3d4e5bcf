import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { DICTIONARY_DIR, loadDictionaries, parseDictionary } from '../../../src/radius/dictionary.js';
import { decodeAttributes } from '../../../src/radius/packet.js';
import { requestedMac } from '../../../src/radius/policy.js';
import { radiusLib } from '../../../src/radius/radius-lib.js';
import { A, attr, macAuthRequest } from './radius-bytes.js';

/** A Vendor-Specific attribute (RFC 2865 §5.26) holding one vendor sub-attribute, built by hand. */
function vsa(vendor: number, type: number, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value) : value;
  const body = Buffer.alloc(4 + 2 + v.length);
  body.writeUInt32BE(vendor, 0);
  body[4] = type;
  body[5] = v.length + 2;
  v.copy(body, 6);
  return attr(26, body);
}

describe('loadDictionaries (radius-dictionaries/)', () => {
  it('loads every file even after the package has already read its dictionaries (it reads lazily, once)', () => {
    // First use of the package, as a packet would do it: from here on it ignores add_dictionary until reloaded.
    radiusLib.encode({ code: 'Access-Accept', secret: 'x'.repeat(16), attributes: [['Session-Timeout', 1]] });
    const loaded = loadDictionaries(DICTIONARY_DIR);
    expect(loaded.files.map((f) => f.slice(f.lastIndexOf('/') + 1))).toEqual([
      'dictionary.airespace',
      'dictionary.aruba',
      'dictionary.cisco',
      'dictionary.coovachilli',
      'dictionary.microsoft',
      'dictionary.mikrotik',
      'dictionary.ruckus',
      'dictionary.ubiquiti',
      'dictionary.wispr',
    ]);
    expect(loaded.vendors).toBe(9);
    const packet = radiusLib.encode({
      code: 'Access-Accept',
      secret: 'x'.repeat(16),
      attributes: [['Vendor-Specific', 9, [['Cisco-AVPair', 'url-redirect-acl=A']]]],
    });
    expect(radiusLib.decode_without_secret({ packet }).attributes).toEqual({ 'Vendor-Specific': { 'Cisco-AVPair': 'url-redirect-acl=A' } });
  });

  it('knows the vendor numbers and the attribute numbers the policy relies on', () => {
    loadDictionaries(DICTIONARY_DIR);
    const id = (name: string, vendor: number) => Number(radiusLib.attr_name_to_id(name, vendor));
    expect([radiusLib.vendor_name_to_id('Cisco'), id('Cisco-AVPair', 9)]).toEqual(['9', 1]);
    expect([radiusLib.vendor_name_to_id('Airespace'), id('Airespace-ACL-Name', 14179)]).toEqual(['14179', 6]);
    expect([radiusLib.vendor_name_to_id('Aruba'), id('Aruba-User-Role', 14823), id('Aruba-Captive-Portal-URL', 14823)]).toEqual(['14823', 1, 43]);
    expect([radiusLib.vendor_name_to_id('WISPr'), id('WISPr-Redirection-URL', 14122), id('WISPr-Bandwidth-Max-Up', 14122), id('WISPr-Bandwidth-Max-Down', 14122), id('WISPr-Session-Terminate-Time', 14122)]).toEqual(['14122', 4, 7, 8, 9]);
    expect([radiusLib.vendor_name_to_id('CoovaChilli'), id('CoovaChilli-Max-Input-Octets', 14559), id('CoovaChilli-Max-Total-Octets', 14559)]).toEqual(['14559', 1, 3]);
    expect([radiusLib.vendor_name_to_id('Mikrotik'), id('Mikrotik-Wireless-VLANID', 14988)]).toEqual(['14988', 26]);
    expect([radiusLib.vendor_name_to_id('Ruckus'), radiusLib.vendor_name_to_id('Ubiquiti'), radiusLib.vendor_name_to_id('Microsoft')]).toEqual(['25053', '41112', '311']);
    // RFC 5176 comes with the package.
    expect(Number(radiusLib.attr_name_to_id('Error-Cause'))).toBe(101);
  });

  it('loading again (a restart in the same process) changes nothing', () => {
    const first = loadDictionaries(DICTIONARY_DIR);
    expect(loadDictionaries(DICTIONARY_DIR)).toEqual(first);
  });

  it('defines nothing the bundled RFC dictionaries define (no shared vendor, name or number)', async () => {
    const bundled = join(dirname(createRequire(import.meta.url).resolve('radius/package.json')), 'dictionaries');
    const texts = await Promise.all((await readdir(bundled)).map((f) => readFile(join(bundled, f), 'latin1')));
    const bundledVendors = new Set(texts.flatMap((t) => [...t.matchAll(/^VENDOR\s+(\S+)\s+(\d+)/gm)].flatMap((m) => [m[1]!, m[2]!])));
    const bundledStandard = new Set(
      texts.flatMap((t) => t.split(/^BEGIN-VENDOR[\s\S]*?^END-VENDOR.*$/m).join('\n').match(/^ATTRIBUTE\s+\S+\s+\d+/gm) ?? []).flatMap((l) => l.split(/\s+/).slice(1, 3)),
    );
    expect([bundledVendors.has('ADSL-Forum'), bundledStandard.has('User-Name'), bundledStandard.has('101')]).toEqual([true, true, true]);
    for (const file of (await readdir(DICTIONARY_DIR)).filter((f) => f.startsWith('dictionary.'))) {
      const parsed = parseDictionary(await readFile(join(DICTIONARY_DIR, file), 'utf8'), file);
      for (const v of parsed.vendors) expect([bundledVendors.has(v.name), bundledVendors.has(String(v.id))]).toEqual([false, false]);
      for (const a of parsed.attributes.filter((x) => !x.vendor)) expect([bundledStandard.has(a.name), bundledStandard.has(String(a.id))]).toEqual([false, false]);
    }
  });
});

describe('unknown attributes in requests are skipped, not fatal', () => {
  beforeAll(() => {
    loadDictionaries(DICTIONARY_DIR);
  });

  it('an unknown vendor, an unknown attribute of a known vendor and an unknown standard attribute', () => {
    const raw = macAuthRequest({
      secret: 'dictionary-test-secret-01',
      userName: 'aa-bb-cc-dd-ee-f0',
      extra: [
        vsa(99_999, 1, 'from a vendor nobody knows'),
        vsa(9, 200, 'a Cisco attribute we have no name for'),
        vsa(9, 1, 'audit-session-id=0A0B0C0D'),
        attr(192, Buffer.from([1, 2, 3])),
        attr(A.CallingStationId, 'AA-BB-CC-DD-EE-F0'),
      ],
    });
    const attrs = decodeAttributes(raw, raw.length);
    expect(attrs).toMatchObject({ 'User-Name': 'aa-bb-cc-dd-ee-f0', 'Calling-Station-Id': 'AA-BB-CC-DD-EE-F0', 'Vendor-Specific': { 'Cisco-AVPair': 'audit-session-id=0A0B0C0D' } });
    expect(Object.keys(attrs!['Vendor-Specific'] as object)).toEqual(['Cisco-AVPair']);
    expect(requestedMac(attrs!)).toEqual({ mac: 'aa:bb:cc:dd:ee:f0' });
  });
});

describe('parseDictionary: every line is checked, errors name the file and line', () => {
  const bad = (text: string) => () => parseDictionary(text, 'dictionary.test');
  const good = 'VENDOR Example 64999\nBEGIN-VENDOR Example\n';

  it.each([
    ['integer64 (the package would mangle it)', `${good}ATTRIBUTE Example-Rate 1 integer64\nEND-VENDOR Example\n`, /dictionary\.test:3: Example-Rate: type "integer64" is not supported/],
    ['tlv', `${good}ATTRIBUTE Example-Tlv 1 tlv\nEND-VENDOR Example\n`, /:3: .*type "tlv"/],
    ['encrypt=2 (would be sent in clear)', `${good}ATTRIBUTE Example-Key 1 octets encrypt=2\nEND-VENDOR Example\n`, /:3: Example-Key: flag "encrypt=2" is not supported/],
    ['$INCLUDE', '$INCLUDE dictionary.other\n', /:1: "\$INCLUDE" is not read by the radius package/],
    ['ALIAS (FreeRADIUS 4)', 'ALIAS UBNT Vendor-Specific.UBNT\n', /:1: "ALIAS" is not read/],
    ['an unclosed vendor block', `${good}ATTRIBUTE Example-A 1 string\n`, /:2: BEGIN-VENDOR Example is never closed/],
    ['a mismatched END-VENDOR', `${good}END-VENDOR Other\n`, /:3: END-VENDOR Example expected/],
    ['BEGIN-VENDOR of an undeclared vendor', 'BEGIN-VENDOR Nobody\n', /:1: vendor Nobody is not declared/],
    ['a duplicate number', `${good}ATTRIBUTE Example-A 1 string\nATTRIBUTE Example-B 1 string\nEND-VENDOR Example\n`, /:4: Example-B 1 clashes with Example-A 1 \(dictionary\.test:3\)/],
    ['a duplicate name', `${good}ATTRIBUTE Example-A 1 string\nATTRIBUTE Example-A 2 string\nEND-VENDOR Example\n`, /:4: Example-A 2 clashes/],
    ['a number over 255', `${good}ATTRIBUTE Example-A 256 string\nEND-VENDOR Example\n`, /:3: Example-A: "256" is not an attribute number/],
    ['a hexadecimal number (the package reads decimal only)', `${good}ATTRIBUTE Example-A 0x1 string\nEND-VENDOR Example\n`, /:3: Example-A: "0x1"/],
    ['a vendor number over 24 bits', 'VENDOR Example 16777216\n', /:1: "16777216" is not a vendor number/],
    ['a VALUE for an unknown attribute', `${good}VALUE Example-A On 1\nEND-VENDOR Example\n`, /:3: VALUE for Example-A: define the attribute earlier/],
    ['a VALUE for a string attribute', `${good}ATTRIBUTE Example-A 1 string\nVALUE Example-A On 1\nEND-VENDOR Example\n`, /:4: VALUE for Example-A: only integer attributes/],
    ['non-ASCII outside comments', `${good}ATTRIBUTE Example-Größe 1 string\nEND-VENDOR Example\n`, /:3: only printable ASCII/],
    ['a missing type', `${good}ATTRIBUTE Example-A 1\nEND-VENDOR Example\n`, /:3: ATTRIBUTE takes a name, a decimal number, a type/],
  ])('refuses %s', (_what, text, message) => {
    expect(bad(text)).toThrow(ConfigError);
    expect(bad(text)).toThrow(message);
  });

  it('accepts comments, blank lines, tags, VALUEs and standard attributes', () => {
    const parsed = parseDictionary(
      '# a comment\n\nVENDOR Example 64999 # trailing comment\nBEGIN-VENDOR Example\nATTRIBUTE Example-Mode 1 integer has_tag\nVALUE Example-Mode On 1\nEND-VENDOR Example\r\nATTRIBUTE Example-Standard 230 string\n',
      'dictionary.test',
    );
    expect(parsed.vendors).toEqual([{ name: 'Example', id: 64999, at: 'dictionary.test:3' }]);
    expect(parsed.attributes.map((a) => [a.vendor?.name, a.name, a.id, a.type])).toEqual([
      ['Example', 'Example-Mode', 1, 'integer'],
      [undefined, 'Example-Standard', 230, 'string'],
    ]);
  });
});

describe('loadDictionaries refuses a bad folder before the package sees it', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enrollgate-dict-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function folder(files: Record<string, string>): Promise<string> {
    const d = await mkdtemp(join(dir, 'case-'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(d, name), text);
    return d;
  }

  it('a missing folder, and a folder without dictionary.* files', async () => {
    expect(() => loadDictionaries(join(dir, 'nope'))).toThrow(/radius dictionaries: cannot read .*nope \(ENOENT\)/);
    expect(() => loadDictionaries(join(dir))).toThrow(ConfigError);
    const d = await folder({ 'README.md': 'VENDOR is mentioned here but this file is not read\n' });
    expect(() => loadDictionaries(d)).toThrow(/no dictionary\.\* files in/);
  });

  it('names the file with the problem', async () => {
    const d = await folder({ 'dictionary.a': 'VENDOR A 64001\n', 'dictionary.b': 'VENDOR B 64002\nBEGIN-VENDOR B\nATTRIBUTE B-X 1 integer64\nEND-VENDOR B\n' });
    expect(() => loadDictionaries(d)).toThrow(new RegExp(`radius dictionary ${join(d, 'dictionary.b')}:3: B-X: type "integer64"`));
  });

  it('a name or number the bundled RFC dictionaries already use differently', async () => {
    const name = await folder({ 'dictionary.x': 'ATTRIBUTE User-Name 230 string\n' });
    expect(() => loadDictionaries(name)).toThrow(/dictionary\.x:1: User-Name is already attribute 1 of the standard attributes/);
    const id = await folder({ 'dictionary.x': 'ATTRIBUTE My-Name 1 string\n' });
    expect(() => loadDictionaries(id)).toThrow(/dictionary\.x:1: attribute 1 of the standard attributes is already User-Name/);
    const vendor = await folder({ 'dictionary.x': 'VENDOR ADSL-Forum 1234\n' });
    expect(() => loadDictionaries(vendor)).toThrow(/dictionary\.x:1: vendor ADSL-Forum is already 3561/);
  });

  it('two files that disagree about a vendor or an attribute', async () => {
    const vendors = await folder({ 'dictionary.a': 'VENDOR A 64001\n', 'dictionary.b': 'VENDOR B 64001\n' });
    expect(() => loadDictionaries(vendors)).toThrow(/dictionary\.b:1: vendor number 64001 is already A \(.*dictionary\.a:1\)/);
    const attrs = await folder({
      'dictionary.a': 'VENDOR A 64001\nBEGIN-VENDOR A\nATTRIBUTE A-X 1 string\nEND-VENDOR A\n',
      'dictionary.b': 'BEGIN-VENDOR A\nATTRIBUTE A-Y 1 string\nEND-VENDOR A\n',
    });
    expect(() => loadDictionaries(attrs)).toThrow(/dictionary\.b:2: A-Y 1 clashes with A-X 1 \(.*dictionary\.a:3\)/);
  });
});
