/**
 * Renders the documents that repeat a declaration of lib/ for people: from
 * lib/settings.ts, `.env.example` and the settings table of the README
 * (between its `settings-table` markers); from lib/routes.ts, the README's
 * route table (between its `routes-table` markers).
 *
 *   npm run settings                 # prints .env.example
 *   npm run settings -- --write      # rewrites .env.example and the README's tables
 *   npm run settings -- --check      # exits 1 when one is out of date
 *
 * test/unit/settings/registry.test.ts fails while one is stale.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUILT_IN_SOURCES } from '#adapters/sources/registry.js';
import { HANDLERS, ROUTES, routeKey, WORKER_HANDLER } from '#lib/routes.js';
import { SETTING_GROUPS, SETTINGS, type SettingDeclaration } from '#lib/settings.js';
import { type CliArgs, type CliSpec, GENERATOR_OPTIONS, isEntryPoint, runCli, runGenerator } from './cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const ENV_EXAMPLE_FILE = `${ROOT}.env.example`;
export const README_FILE = `${ROOT}README.md`;
export const REFRESH_COMMAND = 'npm run settings -- --write';
const LOCAL_BASE = 'http://127.0.0.1:3000';
export const TABLE_START = '<!-- settings-table: generated from lib/settings.ts by `npm run settings -- --write` -->';
export const TABLE_END = '<!-- /settings-table -->';
export const ROUTES_START = '<!-- routes-table: generated from lib/routes.ts by `npm run settings -- --write` -->';
export const ROUTES_END = '<!-- /routes-table -->';

const declared = (): [string, SettingDeclaration][] => Object.entries(SETTINGS) as [string, SettingDeclaration][];

/** What `.env.example` shows: the local default, else `shown`, else the default the parser gives. */
export const shownValue = (setting: SettingDeclaration, baseUrl = LOCAL_BASE): string => {
  const { local, shown, parse } = setting;
  if (local !== undefined && local !== 'emulator') return typeof local === 'function' ? local(baseUrl) : local;
  if (shown !== undefined) return typeof shown === 'function' ? shown(baseUrl) : shown;
  if (parse && local !== 'emulator') {
    const parsed = parse(undefined);
    if (parsed.ok && parsed.value !== undefined && !Array.isArray(parsed.value)) return String(parsed.value);
  }
  return '';
};

const HEADER = `# Settings of notion-link-preview: every environment variable it reads, generated from lib/settings.ts
# (refresh with: ${REFRESH_COMMAND}).
#
# Copy this file to .env (git ignores it) and uncomment the lines you want to change. Every
# setting below is commented out, so a plain copy changes nothing: \`npm start\` then runs on its
# local defaults (lib/settings.ts, applied by local/defaults.ts), which are the values shown. Lines
# marked "optional" have no local default. A deployed function reads none of this: it gets only what
# the CDK stack sets. The local secrets are public on purpose: never reuse them outside 127.0.0.1.
# Values that contain 3000 follow PORT when left unset.
`;

/** `.env.example`: one section per group, each setting commented out under its description. */
export const renderEnvExample = (): string => {
  const out = [HEADER];
  for (const [group, title] of Object.entries(SETTING_GROUPS)) {
    const members = declared().filter(([, s]) => s.group === group);
    if (members.length === 0) continue;
    out.push(`# --- ${title} ---\n`);
    for (const [name, s] of members) out.push(`# ${s.description}\n# ${name}=${shownValue(s)}`);
    out.push('');
  }
  for (const source of BUILT_IN_SOURCES) {
    const own = Object.entries(source.settings ?? {});
    if (own.length === 0) continue;
    out.push(`# --- Source adapter "${source.name}" (SOURCE_ADAPTER=${source.name}) ---\n`);
    for (const [name, s] of own) out.push(`# ${s.description}\n# ${name}=${s.secret ? '' : (s.example ?? '')}`);
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
};

const cell = (text: string): string => text.replaceAll('|', '\\|');

/** The README's table: a row per setting (the simulator's in one row), with its local default and meaning. */
export const renderReadmeTable = (): string => {
  const rows = ['| Variable | Local default | Meaning |', '|---|---|---|'];
  for (const [name, s] of declared()) {
    if (s.group === 'simulator') continue;
    const value = shownValue(s);
    const shown =
      s.local === 'emulator'
        ? 'set by the embedded emulators'
        : s.secret && value !== ''
          ? 'a local value'
          : value === ''
            ? '—'
            : `\`${cell(value)}\``;
    const context = s.deploy && 'context' in s.deploy ? `CDK context \`${s.deploy.context}\`.` : '';
    const notes = [s.localOnly ? 'Local only.' : '', s.aws ?? '', context].filter((n) => n !== '').join(' ');
    rows.push(`| \`${name}\` | ${shown} | ${cell(s.description)}${notes ? ` ${notes}` : ''} |`);
  }
  for (const source of BUILT_IN_SOURCES) {
    for (const [name, s] of Object.entries(source.settings ?? {})) {
      const where = `Source adapter \`${source.name}\` only${s.context ? `; CDK context \`${s.context}\`` : ''}.`;
      rows.push(`| \`${name}\` | — | ${cell(s.description)} ${where} |`);
    }
  }
  rows.push(
    "| `NOTION_SIM_*` | see [the simulator's README](local/notion-simulator/README.md) | The Notion simulator: rate limits, fault injection (529, 503, slow, blocked), and which of the undocumented request shapes it sends (all listed in `.env.example`). |",
  );
  return rows.join('\n');
};

/** The README's route table: a row per route of lib/routes.ts, then the worker. */
export const renderRoutesTable = (): string => {
  const rows = ['| Method and path | Handler | Notion dashboard field |', '|---|---|---|'];
  for (const route of ROUTES) {
    const field = route.dashboardField ?? route.note ?? `— ${HANDLERS[route.handler].description}`;
    rows.push(`| \`${routeKey(route)}\` | \`functions/${route.handler}.ts\` | ${cell(field)} |`);
  }
  rows.push(`| (SQS) | \`functions/${WORKER_HANDLER}.ts\` | — pushes \`PATCH /v1/external/object\` |`);
  return rows.join('\n');
};

const between = (text: string, start: string, end: string, body: string): string => {
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} markers`);
  return `${text.slice(0, from + start.length)}\n${body}\n${text.slice(to)}`;
};

/** The README with its settings and route tables replaced by the rendered ones. */
export const renderReadme = (readme: string): string =>
  between(between(readme, TABLE_START, TABLE_END, renderReadmeTable()), ROUTES_START, ROUTES_END, renderRoutesTable());

const CLI = {
  name: 'settings',
  usage: ['npm run settings -- [--write | --check]'],
  description:
    "Renders .env.example and the README's settings table from lib/settings.ts, the one declaration of every\nsetting, and the README's route table from lib/routes.ts. Without an option it prints .env.example; it\nwrites files only with --write.",
  options: GENERATOR_OPTIONS,
  notes: ['Exit status: 0 done (or up to date), 1 out of date or failed, 2 wrong usage.'],
} as const satisfies CliSpec;

const main = ({ values }: CliArgs<typeof CLI.options>): number =>
  runGenerator(
    values,
    [
      { path: ENV_EXAMPLE_FILE, label: '.env.example', render: renderEnvExample },
      {
        path: README_FILE,
        label: 'the settings and route tables of README.md',
        render: () => renderReadme(readFileSync(README_FILE, 'utf8')),
      },
    ],
    REFRESH_COMMAND,
  );

if (isEntryPoint(import.meta.url)) process.exitCode = await runCli(CLI, process.argv.slice(2), main);
