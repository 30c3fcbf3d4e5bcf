/**
 * The order both stores list keys in: by UTF-8 bytes, which is SQLite's BINARY
 * collation of the primary key and code-point order. JavaScript's `<` compares
 * UTF-16 code units, which puts characters above U+FFFF (surrogate pairs) before
 * U+E000–U+FFFF; a resumed copy must agree with SQLite on what "after" means.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const surrogateX = x >= 0xd800 && x <= 0xdfff;
    const surrogateY = y >= 0xd800 && y <= 0xdfff;
    if (surrogateX !== surrogateY) return surrogateX ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
