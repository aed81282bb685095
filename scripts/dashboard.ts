/**
 * npm run dashboard: prints every value to paste into Notion's integration
 * dashboard (External Authorization Setup, Unfurling Domain & Patterns).
 *
 * URLs come from the CDK outputs file when it exists
 * (`npx cdk deploy --outputs-file cdk-outputs.json`), else from the local
 * server: PUBLIC_BASE_URL or PORT when set, else the running `npm start`
 * (local-server.json of its state directory, local/runtime-info.ts), else port 3000.
 * Rules come from UNFURL_RULES, else the demo rules. Exits with status 1,
 * naming the problem, when a rule does not match one of its sample URLs or its
 * placeholder is not a valid attribute list.
 *
 *   npm run dashboard [-- --outputs path/to/cdk-outputs.json] [-- --stack <name>] [-- --json]
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { rulesFromConfig } from '#adapters/config/unfurl-rules.js';
import { validateAttributes } from '#core/unfurl/attributes.js';
import { checkSamples, compilePattern, substituteDeep, type UnfurlIntegration } from '#core/unfurl/rules.js';
import { ENV } from '#lib/env-names.js';
import { isNotionClientIdPlaceholder, NOTION_CREDENTIALS_PLACEHOLDER_MESSAGE } from '#lib/placeholders.js';
import { ROUTES } from '#lib/routes.js';
import { OUTPUTS } from '#lib/stack-outputs.js';
import { DEFAULT_PORT, localDefaults } from '#local/defaults.js';
import { type RuntimeInfo, readRuntimeInfo } from '#local/runtime-info.js';
import { parseConfig } from '#shared/config.js';
import { type CliArgs, isEntryPoint, runCli, UsageError } from './cli.js';
import { pickStackOutputs } from './outputs-file.js';

export interface DashboardValues {
  readonly source: string;
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: string;
  readonly deletedTokenUrl: string;
  readonly unfurlUrl: string;
  readonly integration: UnfurlIntegration;
}

const routePath = (field: string): string => {
  const route = ROUTES.find((r) => r.dashboardField === field);
  if (!route) throw new Error(`no route for the dashboard field "${field}"`);
  return route.path;
};

/**
 * The stack in a CDK outputs file that carries our dashboard outputs: the one named `stack`, else the only
 * one (scripts/outputs-file.ts); a file with several (`cdk deploy --all` of two stages) is refused rather than
 * read at random, and so is one with none.
 */
export const stackOutputs = (
  file: unknown,
  stack?: string,
): { stack: string; outputs: Readonly<Record<string, string>> } =>
  pickStackOutputs(file, [OUTPUTS.authorizeUrl], stack);

const isSet = (value: string | undefined): boolean => value !== undefined && value !== '';

/** True when the environment names the local server itself (PORT or PUBLIC_BASE_URL). */
export const envNamesServer = (env: Readonly<Record<string, string | undefined>>): boolean =>
  isSet(env[ENV.PORT]) || isSet(env[ENV.PUBLIC_BASE_URL]);

/**
 * Builds the values from the environment and, when given, a CDK outputs file's
 * contents; without one, from the running local server (`running`) unless the
 * environment sets PORT or PUBLIC_BASE_URL.
 */
export const dashboardValues = (
  env: Readonly<Record<string, string | undefined>>,
  outputsFile?: unknown,
  running?: Pick<RuntimeInfo, 'pid' | 'port' | 'publicBaseUrl'>,
  stack?: string,
): DashboardValues => {
  const deployed = outputsFile === undefined ? undefined : stackOutputs(outputsFile, stack);
  if (deployed) {
    const o = deployed.outputs;
    const need = (key: string): string => {
      const v = o[key];
      if (!v) throw new Error(`the outputs of stack ${deployed.stack} lack ${key}`);
      return v;
    };
    const config = parseConfig({ ...env, [ENV.PUBLIC_BASE_URL]: need(OUTPUTS.publicBaseUrl) });
    return {
      source: `stack ${deployed.stack} (cdk-outputs.json)`,
      authorizeUrl: need(OUTPUTS.authorizeUrl),
      tokenUrl: need(OUTPUTS.tokenUrl),
      clientId: need(OUTPUTS.oauthClientId),
      clientSecret: `the value of Secrets Manager secret ${need(OUTPUTS.oauthClientSecretArn)}; print it with:\n    ${o[OUTPUTS.oauthClientSecretCommand] ?? ''}`,
      scopes: 'unfurl',
      deletedTokenUrl: need(OUTPUTS.deletedTokenUrl),
      unfurlUrl: need(OUTPUTS.unfurlUrl),
      integration: rulesFromConfig(config),
    };
  }
  const fromRunning = running !== undefined && !envNamesServer(env) ? running : undefined;
  const port = fromRunning ? fromRunning.port : Number(env[ENV.PORT] || DEFAULT_PORT) || DEFAULT_PORT;
  const defaults = localDefaults(port);
  const merged: Record<string, string | undefined> = {
    ...defaults,
    ...(fromRunning ? { [ENV.PUBLIC_BASE_URL]: fromRunning.publicBaseUrl } : {}),
  };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') merged[k] = v;
  const config = parseConfig(merged);
  const base = config.publicBaseUrl ?? `http://127.0.0.1:${port}`;
  const secretFromEnv = env[ENV.OAUTH_CLIENT_SECRET] !== undefined && env[ENV.OAUTH_CLIENT_SECRET] !== '';
  return {
    source: fromRunning ? `the running local server ${base}, npm start pid ${fromRunning.pid}` : `local server ${base}`,
    authorizeUrl: `${base}${routePath('OAuth Authorize URL')}`,
    tokenUrl: `${base}${routePath('OAuth Token URL')}`,
    clientId: config.oauth.clientId ?? '',
    clientSecret: secretFromEnv
      ? `the value of ${ENV.OAUTH_CLIENT_SECRET} in your environment`
      : `${defaults[ENV.OAUTH_CLIENT_SECRET]} (the local default of ${ENV.OAUTH_CLIENT_SECRET})`,
    scopes: 'unfurl',
    deletedTokenUrl: `${base}${routePath('Deleted Token Callback URL')}`,
    unfurlUrl: `${base}${routePath('Unfurl Callback URL')}`,
    integration: rulesFromConfig(config),
  };
};

/** Everything wrong with the rules: samples that do not match, placeholders that are not valid attribute lists. */
export const ruleProblems = (integration: UnfurlIntegration): string[] => {
  const problems = checkSamples(integration);
  for (const rule of integration.rules) {
    const sample = rule.sampleUrls[0];
    let groups: Record<string, string> = {};
    try {
      groups = { ...(sample ? compilePattern(rule).exec(sample)?.groups : undefined) } as Record<string, string>;
    } catch {
      continue;
    }
    const check = validateAttributes(substituteDeep(rule.placeholder, groups));
    if (!check.ok)
      problems.push(`Rule "${rule.name}": placeholder attributes are not valid: ${check.problems.join('; ')}`);
  }
  return problems;
};

export const renderDashboard = (v: DashboardValues): string => {
  const lines = [
    `Notion integration dashboard values (from ${v.source})`,
    '',
    'External Authorization Setup',
    `  OAuth Authorize URL         ${v.authorizeUrl}`,
    `  OAuth Token URL             ${v.tokenUrl}`,
    `  OAuth Client ID             ${v.clientId}`,
    `  OAuth Client Secret         ${v.clientSecret}`,
    `  OAuth Scopes                ${v.scopes}`,
    `  Deleted Token Callback URL  ${v.deletedTokenUrl}`,
    '',
    'Unfurling Domain & Patterns',
    `  Unfurl Callback URL         ${v.unfurlUrl}`,
    `  Unfurl URL Domain           ${v.integration.domain}`,
  ];
  v.integration.rules.forEach((rule, i) => {
    lines.push(
      '',
      `  Rule ${i + 1}`,
      `    Rule name                 ${rule.name}`,
      `    Sample URLs               ${rule.sampleUrls.join('\n                              ')}`,
      `    Pattern                   ${rule.pattern}`,
      `    Unfurl Regex Attributes (placeholder JSON):`,
      JSON.stringify(rule.placeholder, null, 2)
        .split('\n')
        .map((l) => `      ${l}`)
        .join('\n'),
    );
  });
  return `${lines.join('\n')}\n`;
};

export const CLI = {
  name: 'dashboard',
  usage: ['npm run dashboard -- [--outputs <cdk-outputs.json>] [--json]'],
  description: `Prints every value to paste into Notion's integration dashboard (External Authorization Setup,
Unfurling Domain & Patterns) and checks the unfurl rules as Notion would.

The values come from the CDK outputs file when it exists (npx cdk deploy --outputs-file
cdk-outputs.json); else from the local server: PUBLIC_BASE_URL or PORT when set, else the running
npm start (recorded in its state directory, .local-data/ or LOCAL_DATA_DIR), else
http://127.0.0.1:3000. The rules come from UNFURL_RULES, else the demo rules.`,
  options: {
    outputs: {
      type: 'string',
      value: '<file>',
      description: 'CDK outputs file to read (default cdk-outputs.json when it exists)',
    },
    stack: {
      type: 'string',
      value: '<name>',
      description: 'the stack to read when the outputs file holds several (e.g. NotionLinkPreview-prod)',
    },
    json: { type: 'boolean', description: 'print the values as JSON' },
  },
  examples: [
    'npx cdk deploy -c stage=prod -c production=true --outputs-file cdk-outputs.json && npm run dashboard',
    'npm run dashboard                 # with npm start running: its URLs',
    'npm run dashboard -- --json',
  ],
  notes: [
    'With an outputs file it also reads the Notion credentials secret (your AWS credentials) and says plainly when it still holds the placeholder the stack created.',
    'Exit status: 0 values printed, 1 a rule Notion would refuse, the Notion credentials still the placeholder (or a failure), 2 wrong usage.',
  ],
} as const;

/** Reads a Secrets Manager secret's string with the caller's AWS credentials. */
export type SecretReader = (arn: string) => Promise<string>;

const readSecretWithSdk: SecretReader = async (arn) => {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  // The region is the secret's own (its ARN's fourth field).
  const region = arn.split(':')[3];
  const client = new SecretsManagerClient(region ? { region } : {});
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    return out.SecretString ?? '';
  } finally {
    client.destroy();
  }
};

/**
 * Whether the deployed Notion credentials secret still holds the stack's placeholder: `placeholder`, `set`,
 * or `unknown` with the reason it could not be read (no credentials, no permission).
 */
export const notionCredentialsState = async (
  outputs: Readonly<Record<string, string>>,
  readSecret: SecretReader,
): Promise<{ state: 'placeholder' | 'set' } | { state: 'unknown'; reason: string }> => {
  const arn = outputs[OUTPUTS.notionCredentialsSecretArn];
  if (!arn) return { state: 'unknown', reason: `no output ${OUTPUTS.notionCredentialsSecretArn}` };
  try {
    const value = JSON.parse(await readSecret(arn)) as { clientId?: unknown };
    return isNotionClientIdPlaceholder(typeof value.clientId === 'string' ? value.clientId : undefined)
      ? { state: 'placeholder' }
      : { state: 'set' };
  } catch (error) {
    return { state: 'unknown', reason: (error as Error).message.split('\n')[0] ?? 'unreadable' };
  }
};

export const main = async (
  { values }: CliArgs<typeof CLI.options>,
  env: Readonly<Record<string, string | undefined>>,
  running: () => RuntimeInfo | undefined = readRuntimeInfo,
  readSecret: SecretReader = readSecretWithSdk,
): Promise<number> => {
  if (values.outputs === '') throw new UsageError('--outputs needs a file');
  const outputsPath = resolve(values.outputs ?? 'cdk-outputs.json');
  if (values.outputs !== undefined && !existsSync(outputsPath))
    throw new UsageError(`no outputs file ${values.outputs}`);
  let outputsFile: unknown;
  if (existsSync(outputsPath)) {
    try {
      outputsFile = JSON.parse(readFileSync(outputsPath, 'utf8')) as unknown;
    } catch (error) {
      throw new Error(`${outputsPath} is not JSON: ${(error as Error).message}`);
    }
  }
  const server = outputsFile === undefined && !envNamesServer(env) ? running() : undefined;
  if (outputsFile === undefined && !envNamesServer(env) && !server) {
    process.stderr.write(
      `dashboard: no cdk-outputs.json and no running npm start found: the values for http://127.0.0.1:${DEFAULT_PORT}\n`,
    );
  }
  const dashboard = dashboardValues(env, outputsFile, server, values.stack);
  process.stdout.write(values.json ? `${JSON.stringify(dashboard, null, 2)}\n` : renderDashboard(dashboard));
  const problems = ruleProblems(dashboard.integration);
  if (problems.length > 0) {
    process.stderr.write(
      `\nThe unfurl rules are not valid; Notion would refuse them:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    return 1;
  }
  // A deployed stack: is the Notion credentials secret still the placeholder? (Read with your AWS credentials.)
  const deployed = outputsFile === undefined ? undefined : stackOutputs(outputsFile, values.stack);
  if (deployed) {
    const credentials = await notionCredentialsState(deployed.outputs, readSecret);
    if (credentials.state === 'placeholder') {
      process.stderr.write(`\nNot set up yet: ${NOTION_CREDENTIALS_PLACEHOLDER_MESSAGE}\n`);
      return 1;
    }
    if (credentials.state === 'unknown') {
      process.stderr.write(
        `\ndashboard: could not check the Notion credentials secret (${credentials.reason}); make sure it holds your integration's client id and secret\n`,
      );
    }
  }
  return 0;
};

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await runCli(CLI, process.argv.slice(2), (args) => main(args, process.env));
}
