import { describe, expect, it } from 'vitest';
import { routerSecret } from '../../../src/cli/commands/init.js';

/** The shared secret `init` writes: never one a command line would take for an option. */
describe('routerSecret', () => {
  it('draws again while the secret would begin with "-"', () => {
    // 0xf8 encodes as "-" in base64url (62 << 2), 0xfb… as "-" too; then a secret beginning with "A".
    const draws = [Buffer.alloc(24, 0xf8), Buffer.alloc(24, 0xfb), Buffer.alloc(24, 0x00)];
    let drawn = 0;
    const secret = routerSecret((size) => {
      expect(size).toBe(24);
      return draws[drawn++]!;
    });
    expect(drawn).toBe(3);
    expect(secret).toBe('A'.repeat(32));
  });

  it("32 characters of base64url from the system's random source", () => {
    for (let i = 0; i < 200; i++) expect(routerSecret()).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{31}$/);
  });
});
