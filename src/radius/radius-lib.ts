import { createRequire } from 'node:module';

/**
 * A typed view of the parts of the `radius` package we use: attribute encoding and
 * decoding and dictionaries. Its own authenticator checks are unsafe (they compare
 * digests as UTF-8 strings, see docs/dependencies.md), so packet.ts verifies
 * everything on raw bytes and calls only the functions below.
 */
export type AttributeValue = string | number | Buffer | AttributeTuple[];
export type AttributeTuple = [string | number, ...unknown[]];

export interface DecodedPacket {
  code: string;
  identifier: number;
  length: number;
  authenticator: Buffer;
  attributes: Record<string, unknown>;
  raw_attributes: Array<[number, Buffer]>;
}

interface RadiusLib {
  decode_without_secret(args: { packet: Buffer }): DecodedPacket;
  encode(args: {
    code: string;
    secret: string;
    identifier?: number;
    authenticator?: Buffer;
    attributes: AttributeTuple[];
    add_message_authenticator?: boolean;
  }): Buffer;
  add_dictionary(path: string): void;
  unload_dictionaries(): void;
  /** Reads every added dictionary now (otherwise done lazily on first use, and only once). */
  load_dictionaries(): void;
  /** Ids come back as the decimal strings of the dictionary files; no vendor = standard attributes. */
  attr_name_to_id(name: string, vendorId?: number): string | undefined;
  attr_id_to_name(id: number, vendorId?: number): string | undefined;
  vendor_name_to_id(name: string): string | undefined;
}

const require = createRequire(import.meta.url);
export const radiusLib = require('radius') as RadiusLib;
