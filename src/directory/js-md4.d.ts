/** js-md4 ships no types; the one call the NT hash needs. */
declare module 'js-md4' {
  const md4: {
    /** MD4 of the bytes, as 16 octets. */
    arrayBuffer(message: ArrayBuffer | Uint8Array | string): ArrayBuffer;
  };
  export default md4;
}
