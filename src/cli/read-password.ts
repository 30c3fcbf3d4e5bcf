import { createInterface } from 'node:readline';

/**
 * Reads a password for the command line, never echoing it: from a terminal with echo off
 * (raw mode; Enter ends it, Backspace deletes, Ctrl-C or Ctrl-D gives up), else the first
 * line of stdin, which is how scripts and tests give it. The prompt goes to stderr so that
 * stdout stays the report. Resolves with undefined when nothing was given.
 */
export function readPassword(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string | undefined> {
  if (!input.isTTY) return firstLine(input);
  // Echo off before the prompt shows: what is typed (or pasted) the moment it appears must not
  // reach the screen, as it did when the prompt came first and the process was slow to go on.
  input.setRawMode(true);
  output.write(prompt);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve) => {
    let value = '';
    const finish = (result: string | undefined): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      resolve(result);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish(value);
        if (ch === '\u0003' || ch === '\u0004') return finish(undefined);
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    input.on('data', onData);
  });
}

function firstLine(input: NodeJS.ReadableStream): Promise<string | undefined> {
  return new Promise((resolve) => {
    const lines = createInterface({ input, crlfDelay: Infinity, terminal: false });
    let line: string | undefined;
    lines.once('line', (l) => {
      line = l;
      lines.close();
    });
    lines.once('close', () => resolve(line));
  });
}
