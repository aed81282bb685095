/**
 * What the operator's documents state about the code, checked against the declarations they come
 * from: docs/deployment.md's table of CDK context keys (lib/stage-config.ts and the settings with a
 * context key in lib/settings.ts, with their defaults) and of route throttles (lib/routes.ts),
 * docs/observability.md's metric and alarm tables (the metrics functions/ counts, the alarms of
 * lib/constructs/alarms.ts), the runbook's alarm table, and every `npm run <script> -- --option`
 * the markdown shows (package.json's scripts and each script's declared options); and the local
 * values the docs give: docs/deployment.md's `env.json` for `sam local` and the settings table of
 * local/notion-simulator/README.md (lib/settings.ts, lib/data-model.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CONNECTION_END_REASONS } from '#core/connection-end.js';
import { localResourceName, TABLES } from '#lib/data-model.js';
import { THROTTLE_CLASSES } from '#lib/routes.js';
import { SETTINGS, type SettingDeclaration } from '#lib/settings.js';
import { CONTEXT_KEYS, readStageConfig } from '#lib/stage-config.js';
import { METRIC } from '#shared/observability.js';
import { WARN_EVENTS } from '../../../functions/handlers/update-worker.js';
import { GENERATOR_OPTIONS } from '../../../scripts/cli.js';

const ROOT = new URL('../../../', import.meta.url);
const read = (file: string): string => readFileSync(new URL(file, ROOT), 'utf8');

/** The rows of the markdown table whose header line is `header`, as cells (the header and rule left out). */
const tableRows = (doc: string, header: string): string[][] => {
  const start = doc.indexOf(header);
  if (start < 0) throw new Error(`no table headed "${header}"`);
  const end = doc.indexOf('\n\n', start);
  return doc
    .slice(start, end < 0 ? undefined : end)
    .split('\n')
    .slice(2)
    .filter((row) => row.startsWith('|'))
    .map((row) =>
      row
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
};
const backticked = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);

describe("docs/deployment.md's context keys", () => {
  const rows = tableRows(read('docs/deployment.md'), '| Context key | Default | Meaning |');
  const settings = Object.entries(SETTINGS) as [string, SettingDeclaration][];
  const settingContexts = settings.flatMap(([, s]) => (s.deploy && 'context' in s.deploy ? [s.deploy.context] : []));
  const known = new Set<string>([...Object.values(CONTEXT_KEYS), ...settingContexts]);
  const named = rows.flatMap((row) => backticked(row[0] ?? ''));

  it('lists every context key the app reads: the stage config and every setting with a context key', () => {
    expect([...known].filter((key) => !named.includes(key)).sort()).toEqual([]);
  });

  it('lists no key the app does not read', () => {
    expect(named.filter((key) => !known.has(key))).toEqual([]);
  });

  it("gives each key's default as the code has it", () => {
    // The stage config read from empty context (a development stack), then the setting's own parser.
    const config = readStageConfig(() => undefined) as unknown as Record<string, unknown>;
    const defaultOf = (key: string): unknown => {
      if (config[key] !== undefined) return config[key];
      const setting = settings.find(([, s]) => s.deploy && 'context' in s.deploy && s.deploy.context === key)?.[1];
      const parsed = setting?.parse?.(undefined);
      return parsed?.ok ? parsed.value : undefined;
    };
    const stated: [string, string, unknown][] = [];
    for (const row of rows) {
      const keys = backticked(row[0] ?? '');
      const defaults = (row[1] ?? '').split(/,\s*/);
      if (keys.length !== defaults.length) continue;
      keys.forEach((key, i) => {
        // Only a plain literal (`180`, `dev`); `—`, prose and placeholders (`<stage>`) say no single value.
        const literal = /^`([^`<>]+)`$/.exec(defaults[i] as string)?.[1];
        const actual = defaultOf(key);
        if (literal !== undefined && actual !== undefined) stated.push([key, literal, String(actual)]);
      });
    }
    expect(stated.length).toBeGreaterThanOrEqual(10);
    expect(stated.filter(([, literal, actual]) => literal !== actual)).toEqual([]);
  });

  it('names the throttle of every route class that does not follow apiRateLimit/apiBurstLimit', () => {
    const row = rows.find((r) => (r[0] ?? '').includes('`apiRateLimit`'))?.join(' ') ?? '';
    const missing = Object.entries(THROTTLE_CLASSES)
      .filter(([name]) => name !== 'notion')
      .filter(([name, { rateLimit, burstLimit }]) => {
        const at = row.indexOf(`\`${name}\``);
        // The class's numbers follow its name (`browser` and `changes` 20/40: the first pair after it).
        return at < 0 || /(\d+)\/(\d+)/.exec(row.slice(at))?.slice(1, 3).join('/') !== `${rateLimit}/${burstLimit}`;
      })
      .map(([name, t]) => `${name} ${t.rateLimit}/${t.burstLimit}`);
    expect(missing).toEqual([]);
  });
});

/** The metric names functions/ counts: the METRIC table, the worker's plain counts and any literal name. */
const countedMetrics = (): Set<string> => {
  const names = new Set<string>(Object.values(METRIC));
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
      d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
    );
  for (const file of walk(new URL('functions', ROOT).pathname)) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/countMetric\(\s*'(\w+)'/g)) names.add(m[1] as string);
    // A map from worker events to plain metric names (functions/handlers/update-worker.ts PLAIN_METRICS).
    const plain = /PLAIN_METRICS[^=]*=\s*\{([^}]*)\}/.exec(src)?.[1];
    if (plain) for (const m of plain.matchAll(/:\s*'(\w+)'/g)) names.add(m[1] as string);
  }
  return names;
};

describe("docs/observability.md's metrics", () => {
  const doc = read('docs/observability.md');
  const rows = tableRows(doc, '| Metric | Dimensions | Counted when |');

  it('names every metric the functions count, and only those', () => {
    const counted = countedMetrics();
    expect(counted.has('Pushed')).toBe(true);
    const named = new Set(rows.flatMap((row) => backticked(row[0] ?? '')));
    expect([...counted].filter((m) => !named.has(m)).sort()).toEqual([]);
    expect([...named].filter((m) => !counted.has(m)).sort()).toEqual([]);
  });

  it('gives ConnectionEnded every reason a connection ends with', () => {
    const row = rows.find((r) => r[0] === '`ConnectionEnded`');
    expect(backticked(row?.[1] ?? '').filter((v) => v !== 'reason')).toEqual([...CONNECTION_END_REASONS]);
  });
});

describe("the worker's log levels in docs/observability.md and the runbook's queries", () => {
  it('observability.md lists the worker events logged at WARN, exactly', () => {
    const row = read('docs/observability.md')
      .split('\n')
      .find((line) => line.startsWith('| worker events |'));
    const warn = /at WARN: ([^;]*);/.exec(row ?? '')?.[1] ?? '';
    expect(backticked(warn).sort()).toEqual([...WARN_EVENTS].sort());
  });

  it("the runbook's Logs Insights queries filter on worker events that are logged at the default level", () => {
    const queried = [...read('docs/runbook.md').matchAll(/filter message (?:=|in) (\[[^\]]*\]|"[^"]*")/g)].flatMap(
      (m) => [...(m[1] as string).matchAll(/"([^"]+)"/g)].map((q) => q[1] as string),
    );
    const workerEvents = queried.filter((q) => /^[a-z_]+$/.test(q));
    expect(workerEvents.length).toBeGreaterThan(0);
    expect(workerEvents.filter((e) => !WARN_EVENTS.has(e))).toEqual([]);
  });
});

describe('the alarms in docs/observability.md and docs/runbook.md', () => {
  // `${prefix}-dlq-not-empty`, `${prefix}-${name}-errors`: the part after the stage's prefix, placeholders named.
  const source = read('lib/constructs/alarms.ts');
  const alarms = [...source.matchAll(/alarmName:\s*`\$\{prefix\}-([^`]+)`/g)].map((m) =>
    (m[1] as string).replace(/\$\{name\}/, '<function>').replace(/\$\{id\.toLowerCase\(\)\}/, '<table>'),
  );

  it('reads the alarm names of lib/constructs/alarms.ts', () => {
    expect(alarms).toEqual(expect.arrayContaining(['dlq-not-empty', '<function>-errors', '<table>-table-throttles']));
    expect(alarms.every((a) => !a.includes('$'))).toBe(true);
  });

  it('observability.md lists every alarm, and only those', () => {
    const rows = tableRows(read('docs/observability.md'), '| Alarm (`notion-link-preview-<stage>-…`) |');
    expect(rows.map((row) => backticked(row[0] ?? '')[0]).sort()).toEqual([...alarms].sort());
  });

  it('the runbook\'s "An alarm fired" table says where to look for every alarm', () => {
    const rows = tableRows(read('docs/runbook.md'), '| Alarm | Look at |');
    const named = rows.map((row) => (backticked(row[0] ?? '')[0] ?? '').replace(/^…-/, ''));
    expect(named.sort()).toEqual([...alarms].sort());
  });
});

describe('the region of the `aws` commands the docs give', () => {
  it('every document with aws CLI commands that names AWS_REGION names AWS_DEFAULT_REGION too (AWS CLI v1 reads only that)', () => {
    const docs = readdirSync(new URL('docs', ROOT))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`);
    const withCli = docs.filter((file) => /^\s*(?:\S+=\S+\s+)?aws [a-z]/m.test(read(file)));
    expect(withCli).toEqual(expect.arrayContaining(['docs/runbook.md', 'docs/deployment.md']));
    const missing = withCli.filter(
      (file) => read(file).includes('`AWS_REGION`') && !read(file).includes('`AWS_DEFAULT_REGION`'),
    );
    expect(missing).toEqual([]);
  });
});

describe('`npm run` command lines in the markdown', () => {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  const markdown = [
    'README.md',
    'CONTRIBUTING.md',
    'CHANGELOG.md',
    'bench/README.md',
    'local/notion-simulator/README.md',
    ...readdirSync(new URL('docs', ROOT))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
    ...readdirSync(new URL('docs/adr', ROOT)).map((f) => `docs/adr/${f}`),
  ].filter((f) => existsSync(new URL(f, ROOT)));
  /** Each `npm run <script>` (or `npm start`) with what follows it on its line, up to a backtick, pipe or `#`. */
  const uses = markdown.flatMap((file) =>
    read(file)
      .split('\n')
      .flatMap((line, i) =>
        [...line.matchAll(/npm (?:run (?:-s )?([\w:-]+)|(start))((?: [^`|#;&]*)?)/g)].map((m) => ({
          where: `${file}:${i + 1}`,
          script: (m[1] ?? m[2]) as string,
          rest: m[3] ?? '',
        })),
      ),
  );

  it('name scripts of package.json', () => {
    expect(uses.length).toBeGreaterThan(100);
    expect(uses.filter((u) => !(u.script in pkg.scripts)).map((u) => `${u.where}: npm run ${u.script}`)).toEqual([]);
  });

  it('`npm test -- <path>` and `npm run test:<tier> -- <path>` name a path of the repository', () => {
    // jest given a path that matches no test file runs nothing and exits 1 ("No tests found").
    const paths = markdown.flatMap((file) =>
      read(file)
        .split('\n')
        .flatMap((line, i) =>
          [
            ...line.matchAll(
              /npm (?:test|run test:[a-z]+) -- ((?:test|functions|lib|local|scripts|bench)\/[^\s`|#;]*)/g,
            ),
          ].map((m) => ({ where: `${file}:${i + 1}`, path: m[1] as string })),
        ),
    );
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((p) => !existsSync(new URL(p.path, ROOT))).map((p) => `${p.where}: ${p.path}`)).toEqual([]);
  });

  it('give a script of scripts/cli.ts only options it declares', async () => {
    const modules: Record<string, string> = {
      connections: 'scripts/connections.ts',
      dashboard: 'scripts/dashboard.ts',
      deliveries: 'scripts/deliveries.ts',
      events: 'scripts/events.ts',
      load: 'scripts/load.ts',
      redrive: 'scripts/redrive.ts',
      smoke: 'scripts/smoke.ts',
      bench: 'bench/run.ts',
    };
    const options: Record<string, Set<string>> = {
      settings: new Set(Object.keys(GENERATOR_OPTIONS)),
      'schema:change-event': new Set(Object.keys(GENERATOR_OPTIONS)),
      start: new Set(['fresh']),
    };
    for (const [script, path] of Object.entries(modules)) {
      const { CLI } = (await import(`../../../${path}`)) as {
        CLI: { options: Record<string, { short?: string }> };
      };
      options[script] = new Set([
        ...Object.keys(CLI.options),
        ...Object.values(CLI.options).flatMap((o) => o.short ?? []),
      ]);
    }
    const wrong: string[] = [];
    let checked = 0;
    for (const { where, script, rest } of uses) {
      const declared = options[script];
      if (!declared) continue;
      for (const m of rest.matchAll(/(?:^|[\s[])--?([a-z][\w-]*)/g)) {
        checked++;
        const name = m[1] as string;
        if (name !== 'help' && name !== 'h' && !declared.has(name))
          wrong.push(`${where}: npm run ${script}: --${name}`);
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(wrong).toEqual([]);
  });
});

/** A setting's value under `npm start` when it is one fixed text (not built from the base URL, not an emulator's). */
const localValue = (setting: SettingDeclaration | undefined): string | undefined => {
  const value = setting?.local ?? setting?.shown;
  return typeof value === 'string' && value !== 'emulator' ? value : undefined;
};

describe('local values the docs give', () => {
  const settings = SETTINGS as Readonly<Record<string, SettingDeclaration>>;

  it("docs/deployment.md's env.json for sam local names settings, with npm start's values and table names", () => {
    const doc = read('docs/deployment.md');
    const at = doc.indexOf('"Parameters": {\n    "STAGE"');
    const block = doc.slice(doc.lastIndexOf('```json', at) + '```json'.length, doc.indexOf('```', at));
    const parameters = (JSON.parse(block) as { Parameters: Record<string, string> }).Parameters;
    const tables = Object.fromEntries(TABLES.map((t) => [t.envName, localResourceName(t.id)]));
    const wrong = Object.entries(parameters).flatMap(([name, value]) => {
      if (name.startsWith('AWS_')) return [];
      if (!(name in settings)) return [`${name}: not a setting`];
      const expected = tables[name] ?? localValue(settings[name]);
      return expected !== undefined && value !== expected ? [`${name}: ${value}, npm start uses ${expected}`] : [];
    });
    expect(Object.keys(parameters).length).toBeGreaterThan(10);
    expect(wrong).toEqual([]);
  });

  it("local/notion-simulator/README.md's settings table lists every NOTION_SIM_ setting with its default", () => {
    const rows = tableRows(read('local/notion-simulator/README.md'), '| Variable ');
    const documented = new Map(rows.map((row) => [backticked(row[0] ?? '')[0], row[1] ?? '']));
    const wrong = Object.entries(settings)
      .filter(([name]) => name.startsWith('NOTION_SIM_'))
      .flatMap(([name, setting]) => {
        const cell = documented.get(name);
        if (cell === undefined) return [`${name}: missing`];
        const value = localValue(setting);
        return value !== undefined && backticked(cell)[0] !== value
          ? [`${name}: ${cell}, the default is ${value}`]
          : [];
      });
    expect(documented.size).toBeGreaterThan(10);
    expect(wrong).toEqual([]);
    expect([...documented.keys()].filter((name) => !(name !== undefined && name in settings))).toEqual([]);
  });
});
