/**
 * A text as lines of at most `width` characters, the first starting with `prefix`
 * and the others with `next` (a word longer than the width gets a line of its own):
 * firewall files and the table stay readable in a terminal.
 */
export function commentLines(text: string, prefix: string, width = 96, next = prefix): string[] {
  const lines: string[] = [];
  let line = '';
  const lead = () => (lines.length === 0 ? prefix : next);
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && lead().length + line.length + 1 + word.length > width) {
      lines.push(lead() + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(lead() + line);
  return lines;
}
