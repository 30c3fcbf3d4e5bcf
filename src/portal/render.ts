import nunjucks from 'nunjucks';

/** The template environment: templates only from views/, HTML autoescaped, undefined values caught in tests. */
export function createRenderer(viewsDir: string, globals: Readonly<Record<string, unknown>>): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(viewsDir, { noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  for (const [name, value] of Object.entries(globals)) env.addGlobal(name, value);
  return env;
}
