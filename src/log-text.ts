/**
 * Log lines for a person at a terminal: the same records as the JSON lines, written as
 * `12:04:31.207 INFO  message  key=value …`. logger.ts chooses this form only when stdout
 * is a terminal; anything else (systemd, a pipe, a file) gets the JSON lines.
 */

/** pino's numeric levels, as the names a person reads. */
const LEVELS: Record<number, { name: string; colour: string }> = {
  10: { name: 'TRACE', colour: '90' },
  20: { name: 'DEBUG', colour: '90' },
  30: { name: 'INFO', colour: '32' },
  40: { name: 'WARN', colour: '33' },
  50: { name: 'ERROR', colour: '31' },
  60: { name: 'FATAL', colour: '1;31' },
};

/**
 * Members a terminal line leaves out: the time, level and message are its first three
 * columns; `service` is the same on every line; `event` repeats the message in a form
 * for machines (the JSON lines keep it).
 */
const SHOWN_APART = new Set(['time', 'level', 'msg', 'service', 'event', 'err']);

/**
 * A value as the terminal shows it. Log values can come from the network (a User-Name, a
 * router's attribute): anything with a space, a quote or a control character is written as
 * a JSON string, so an escape sequence in it is shown as \u001b, never run by the terminal.
 */
function shown(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"\\=\u0000-\u001f\u007f-\u009f]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** `key=value` pairs, nested objects flattened to dotted keys (ports.http=8080). */
function pairs(record: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (prefix === '' && SHOWN_APART.has(key)) continue;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) out.push(...pairs(value as Record<string, unknown>, `${prefix}${key}.`));
    else out.push(`${prefix}${key}=${shown(value)}`);
  }
  return out;
}

/** Local time of day with milliseconds: a person at the terminal reads their own clock. */
function timeOfDay(iso: unknown): string {
  const t = typeof iso === 'string' ? new Date(iso) : new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())}.${String(t.getMilliseconds()).padStart(3, '0')}`;
}

/** One pino record (parsed JSON) as one terminal line, or several when it carries an error's stack. */
export function textLine(record: Record<string, unknown>, o: { colours: boolean }): string {
  const level = LEVELS[record.level as number] ?? { name: String(record.level), colour: '0' };
  const paint = (codes: string, text: string) => (o.colours ? `\u001b[${codes}m${text}\u001b[0m` : text);
  const message = typeof record.msg === 'string' ? record.msg.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?') : '';
  const err = record.err as { type?: string; message?: string; code?: string; stack?: string } | undefined;
  const fields = [...(err ? [`err=${shown(`${err.type ?? 'Error'}: ${err.message ?? ''}${err.code ? ` (${err.code})` : ''}`)}`] : []), ...pairs(record)];
  let line = `${paint('90', timeOfDay(record.time))} ${paint(level.colour, level.name.padEnd(5))} ${message}`;
  if (fields.length > 0) line += `  ${paint('90', fields.join(' '))}`;
  // The stack only where someone has to act on it: an error or worse.
  if (err?.stack && (record.level as number) >= 50) {
    const frames = err.stack.split('\n').slice(1).map((f) => `    ${f.trim().replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')}`);
    if (frames.length > 0) line += `\n${frames.join('\n')}`;
  }
  return `${line}\n`;
}

/**
 * A pino destination that writes each record as a terminal line to `out`. pino hands it
 * one serialised record per write; a line that is not JSON (never expected) goes out as it came.
 */
export function textDestination(out: NodeJS.WritableStream & { hasColors?: () => boolean }): { write(json: string): void } {
  // hasColors() follows NO_COLOR, FORCE_COLOR and the terminal's TERM.
  const colours = out.hasColors?.() === true;
  return {
    write(json: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(json) as Record<string, unknown>;
      } catch {
        out.write(json);
        return;
      }
      out.write(textLine(record, { colours }));
    },
  };
}
