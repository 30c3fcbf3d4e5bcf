import { stringify } from 'yaml';
import { z } from 'zod';
import { configSchema } from './schema.js';

interface JsonSchema {
  description?: string;
  default?: unknown;
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
}

type Values = { [key: string]: unknown };

// Quote what a YAML 1.1 reader (PyYAML, Ansible, older tools) would take for something
// else: unquoted, `daily_cutoff: 04:00` is the string "04:00" in YAML 1.2 but 240 in 1.1.
const YAML_1_1_SAFE = { version: '1.1' } as const;

/**
 * The commented example config that `init` writes: every key of the schema with
 * its description and default, and the values init chose (`values`) in place of
 * the defaults. Sections without a default (LDAP, the Android agent) are written
 * commented out, ready to fill in.
 */
export function exampleConfig(values: Values, header: string): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const lines = [...header.split('\n').map((l) => (l ? `# ${l}` : '#')), ''];
  renderObject(schema, values, 0, false, lines);
  return `${lines.join('\n')}\n`;
}

function hint(s: JsonSchema): string {
  if (s.enum) return s.enum.map(String).join(' | ');
  if (s.anyOf) return s.anyOf.map(hint).join(' | ');
  if (s.type === 'object' && s.properties) return `{ ${Object.keys(s.properties).join(' | ')}: ... }`;
  return `<${s.type ?? 'value'}>`;
}

function renderObject(schema: JsonSchema, values: Values | undefined, depth: number, commented: boolean, out: string[]): void {
  const pad = '  '.repeat(depth);
  const c = commented ? '# ' : '';
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const value = values?.[key];
    if (prop.description) out.push(`${pad}# ${prop.description}`);
    if (prop.type === 'object' && prop.properties) {
      // An optional section with no default stays commented out unless a value is given.
      const off = commented || (value === undefined && prop.default === undefined);
      out.push(`${pad}${off ? '# ' : ''}${key}:`);
      renderObject(prop, value as Values | undefined, depth + 1, off, out);
      continue;
    }
    const shown = value ?? prop.default;
    if (shown === undefined) {
      out.push(`${pad}# ${key}: ${hint(prop)}`);
      continue;
    }
    if (Array.isArray(shown) && shown.length > 0) {
      out.push(`${pad}${c}${key}:`);
      const body = stringify(shown, { indent: 2, ...YAML_1_1_SAFE }).trimEnd().split('\n');
      for (const l of body) out.push(`${pad}${c}  ${l}`);
      continue;
    }
    const scalar = stringify(shown, { lineWidth: 0, ...YAML_1_1_SAFE }).trimEnd();
    out.push(`${pad}${c}${key}: ${scalar}${prop.enum ? `  # ${prop.enum.join(' | ')}` : ''}`);
  }
}
