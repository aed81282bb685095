/**
 * Deployment settings, read once from CDK context (`cdk.json` or `-c key=value`)
 * and validated, so the stack itself never touches raw context strings.
 *
 * Nothing here performs a lookup against an AWS account: `cdk synth` works
 * offline and without credentials.
 */
import type { Node } from 'constructs';
import type { SourceAdapterDefinition } from '../functions/adapters/sources/define.js';
import { isLoopbackHttp } from './loopback.js';
import type { FunctionName } from './routes.js';
import { SETTINGS, type SettingDeclaration, settingsDeclaredFor } from './settings.js';

/** Context keys understood by the app (documented in the README). */
export const CONTEXT_KEYS = {
  stage: 'stage',
  production: 'production',
  oidcIssuer: 'oidcIssuer',
  oidcClientId: 'oidcClientId',
  oidcClientSecretArn: 'oidcClientSecretArn',
  cognitoDomainPrefix: 'cognitoDomainPrefix',
  domainName: 'domainName',
  certificateArn: 'certificateArn',
  hostedZoneId: 'hostedZoneId',
  hostedZoneName: 'hostedZoneName',
  keepExecuteApiEndpoint: 'keepExecuteApiEndpoint',
  oauthClientId: 'oauthClientId',
  notionApiBaseUrl: 'notionApiBaseUrl',
  notionVersion: 'notionVersion',
  notionRedirectUris: 'notionRedirectUris',
  notionRateLimitPerMinute: 'notionRateLimitPerMinute',
  sourceAdapter: 'sourceAdapter',
  sourceBaseUrl: 'sourceBaseUrl',
  sourceHttpMapping: 'sourceHttpMapping',
  unfurlRules: 'unfurlRules',
  devName: 'devName',
  logLevel: 'logLevel',
  logRetentionDays: 'logRetentionDays',
  apiRateLimit: 'apiRateLimit',
  apiBurstLimit: 'apiBurstLimit',
  workerMaxConcurrency: 'workerMaxConcurrency',
  unfurlReservedConcurrency: 'unfurlReservedConcurrency',
  workerReservedConcurrency: 'workerReservedConcurrency',
  alarmEmail: 'alarmEmail',
  alarmTopicArn: 'alarmTopicArn',
  account: 'account',
  region: 'region',
} as const;

/** Stack name of a stage: one stack per stage and account/region. */
export const stackName = (stage: string): string => `NotionLinkPreview-${stage}`;

/**
 * Stage names that look like production: without an explicit `production` context value they are refused, so
 * that whether data survives `cdk destroy` is never guessed from a name (ADR 0122).
 */
export const PRODUCTION_LIKE_STAGES: readonly string[] = ['prod', 'production'];

/** Log retention of a production stack when `logRetentionDays` is not given (development: 30). */
export const PRODUCTION_LOG_RETENTION_DAYS = 365;

export interface ExternalOidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  /** ARN of a Secrets Manager secret whose SecretString is the client secret. */
  readonly clientSecretArn: string;
}

export interface CustomDomainSettings {
  readonly domainName: string;
  /** ACM certificate in the stack's region covering `domainName`. */
  readonly certificateArn: string;
  /** The region the certificate is in (from its ARN): it must be the stack's. */
  readonly certificateRegion: string;
  /** A Route 53 hosted zone to create the alias records in (otherwise: point DNS at the output target). */
  readonly hostedZone?: { readonly id: string; readonly name: string };
  /** Keep the execute-api endpoint on (while Notion's dashboard still names it); default off. */
  readonly keepExecuteApiEndpoint: boolean;
}

export interface StageConfig {
  readonly stage: string;
  readonly production: boolean;
  /** Set: use this issuer as the upstream login. Unset: the stack creates a Cognito user pool. */
  readonly externalOidc?: ExternalOidcSettings;
  readonly cognitoDomainPrefix?: string;
  readonly customDomain?: CustomDomainSettings;
  /** The OAuth client id typed into Notion's dashboard (not a secret). */
  readonly oauthClientId: string;
  readonly notionApiBaseUrl: string;
  readonly notionVersion?: string;
  readonly notionRedirectUris?: string;
  readonly notionRateLimitPerMinute: number;
  readonly sourceAdapter?: string;
  readonly sourceBaseUrl?: string;
  /** JSON mapping of the generic HTTP JSON source adapter. */
  readonly sourceHttpMapping?: string;
  /** JSON: which URLs unfurl and how (see UNFURL_RULES). */
  readonly unfurlRules?: string;
  readonly devName?: string;
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  readonly logRetentionDays: number;
  readonly apiRateLimit: number;
  readonly apiBurstLimit: number;
  readonly workerMaxConcurrency: number;
  /** Concurrency reserved for the unfurl function (Notion's unfurls keep capacity; also its ceiling). */
  readonly unfurlReservedConcurrency?: number;
  /** Concurrency reserved for the update worker (at least workerMaxConcurrency). */
  readonly workerReservedConcurrency?: number;
  readonly alarmEmail?: string;
  /** An existing SNS topic the alarms notify (instead of, or besides, the topic `alarmEmail` creates). */
  readonly alarmTopicArn?: string;
  /**
   * Settings taken from CDK context whose key is none of the fields above (a setting declared with a
   * `context` in lib/settings.ts and nothing more): by context key, each checked at synth with the parser the
   * function parses it with.
   */
  readonly contextSettings: Readonly<Record<string, string>>;
}

export class StageConfigError extends Error {
  override readonly name = 'StageConfigError';
}

type ContextReader = (key: string) => unknown;

const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;
const SECRET_ARN_PATTERN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const TOPIC_ARN_PATTERN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const CERT_ARN_PATTERN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;
const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
/** Retention values CloudWatch Logs accepts. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const text = (read: ContextReader, key: string): string | undefined => {
  const v = read(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
    throw new StageConfigError(`context "${key}" must be a string`);
  }
  const s = String(v).trim();
  return s === '' ? undefined : s;
};

const integer = (read: ContextReader, key: string, fallback: number, min: number, max: number): number => {
  const s = text(read, key);
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new StageConfigError(`context "${key}" must be an integer between ${min} and ${max}, got "${s}"`);
  }
  return n;
};

/** A JSON setting: given as a JSON string (`-c key='{…}'`) or as an object in cdk.json; passed on as text. */
const jsonText = (read: ContextReader, key: string): string | undefined => {
  const v = read(key);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'object') return JSON.stringify(v);
  const s = String(v);
  try {
    JSON.parse(s);
  } catch (error) {
    // The cdk command line keeps only the first line of a `-c key=value`: a pretty-printed file given as
    // `-c key="$(cat file.json)"` arrives cut after its first line.
    throw new StageConfigError(
      `context "${key}" must be JSON (${(error as Error).message}); a -c value keeps only its first line: give the JSON on one line (-c ${key}="$(tr -d '\\n' < file.json)") or as an object in cdk.context.json`,
    );
  }
  return s;
};

const flag = (read: ContextReader, key: string): boolean | undefined => {
  const v = read(key);
  if (v === undefined || v === null || v === '') return undefined;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new StageConfigError(`context "${key}" must be true or false, got "${String(v)}"`);
};

const httpsUrl = (key: string, value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new StageConfigError(`context "${key}" must be an absolute URL, got "${value}"`);
  }
  if (parsed.protocol !== 'https:') throw new StageConfigError(`context "${key}" must use https, got "${value}"`);
  return value.replace(/\/+$/, '');
};

/**
 * notionRedirectUris of a deployed stack: each must use https, or http on a loopback host (the local
 * simulator's callback). An authorization code sent to a plain-http address crosses the network in clear
 * (RFC 6749 §3.1.2.1, RFC 9700 §2.1); the shape of each entry is NOTION_REDIRECT_URIS's own check.
 */
const redirectUris = (key: string, value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  for (const entry of value.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new StageConfigError(`context "${key}" must list absolute URLs, got "${entry}"`);
    }
    if (url.protocol !== 'https:' && !isLoopbackHttp(url))
      throw new StageConfigError(
        `context "${key}" must list https URLs (http only on a loopback host): an authorization code would cross the network in clear to "${entry}"`,
      );
  }
  return value;
};

/** Reads and validates every deployment setting from a context reader. */
export const readStageConfig = (read: ContextReader): StageConfig => {
  const k = CONTEXT_KEYS;
  const stage = text(read, k.stage) ?? 'dev';
  if (!STAGE_PATTERN.test(stage)) {
    throw new StageConfigError(`context "stage" must match ${STAGE_PATTERN} (lower-case, ≤ 20 chars), got "${stage}"`);
  }

  const issuer = httpsUrl(k.oidcIssuer, text(read, k.oidcIssuer));
  const clientId = text(read, k.oidcClientId);
  const clientSecretArn = text(read, k.oidcClientSecretArn);
  const oidcGiven = [issuer, clientId, clientSecretArn].filter((v) => v !== undefined).length;
  if (oidcGiven !== 0 && oidcGiven !== 3) {
    throw new StageConfigError('an external OIDC issuer needs all of oidcIssuer, oidcClientId and oidcClientSecretArn');
  }
  if (clientSecretArn !== undefined && !SECRET_ARN_PATTERN.test(clientSecretArn)) {
    throw new StageConfigError(
      `context "oidcClientSecretArn" must be a Secrets Manager secret ARN, got "${clientSecretArn}"`,
    );
  }

  const domainName = text(read, k.domainName);
  const certificateArn = text(read, k.certificateArn);
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new StageConfigError('a custom domain needs both domainName and certificateArn');
  }
  if (
    domainName !== undefined &&
    !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domainName)
  ) {
    throw new StageConfigError(`context "domainName" must be a lower-case DNS name, got "${domainName}"`);
  }
  if (certificateArn !== undefined && !CERT_ARN_PATTERN.test(certificateArn)) {
    throw new StageConfigError(`context "certificateArn" must be an ACM certificate ARN, got "${certificateArn}"`);
  }

  const hostedZoneId = text(read, k.hostedZoneId);
  const hostedZoneName = text(read, k.hostedZoneName)?.replace(/\.$/, '');
  if ((hostedZoneId === undefined) !== (hostedZoneName === undefined)) {
    throw new StageConfigError('a hosted zone needs both hostedZoneId and hostedZoneName');
  }
  if (hostedZoneId !== undefined && domainName === undefined) {
    throw new StageConfigError('context "hostedZoneId" needs a custom domain (domainName and certificateArn)');
  }
  if (hostedZoneId !== undefined && !/^Z[A-Z0-9]{1,31}$/.test(hostedZoneId)) {
    throw new StageConfigError(`context "hostedZoneId" must be a Route 53 hosted zone id, got "${hostedZoneId}"`);
  }
  if (
    hostedZoneName !== undefined &&
    domainName !== undefined &&
    domainName !== hostedZoneName &&
    !domainName.endsWith(`.${hostedZoneName}`)
  ) {
    throw new StageConfigError(`context "hostedZoneName": ${domainName} is not in the zone ${hostedZoneName}`);
  }
  const keepExecuteApiEndpoint = flag(read, k.keepExecuteApiEndpoint) ?? false;

  const cognitoDomainPrefix = text(read, k.cognitoDomainPrefix);
  if (cognitoDomainPrefix !== undefined && !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(cognitoDomainPrefix)) {
    throw new StageConfigError(`context "cognitoDomainPrefix" must be lower-case letters, digits and hyphens`);
  }
  if (cognitoDomainPrefix !== undefined && /aws|amazon|cognito/.test(cognitoDomainPrefix)) {
    throw new StageConfigError('context "cognitoDomainPrefix" may not contain "aws", "amazon" or "cognito"');
  }

  const logLevel = (text(read, k.logLevel) ?? 'INFO').toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new StageConfigError(`context "logLevel" must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const production = flag(read, k.production);
  if (production === undefined && PRODUCTION_LIKE_STAGES.includes(stage)) {
    throw new StageConfigError(
      `context "production" must be given for stage "${stage}": true keeps and protects the data (the production defaults), false makes a disposable stack`,
    );
  }
  const logRetentionDays = integer(read, k.logRetentionDays, production ? PRODUCTION_LOG_RETENTION_DAYS : 30, 1, 3653);
  if (!RETENTION_DAYS.includes(logRetentionDays)) {
    throw new StageConfigError(`context "logRetentionDays" must be one of ${RETENTION_DAYS.join(', ')}`);
  }

  const alarmEmail = text(read, k.alarmEmail);
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
    throw new StageConfigError(`context "alarmEmail" must be an e-mail address`);
  }

  const workerMaxConcurrency = integer(read, k.workerMaxConcurrency, 5, 2, 1000);
  const optionalInteger = (key: string, min: number, max: number): number | undefined =>
    text(read, key) === undefined ? undefined : integer(read, key, 0, min, max);
  const unfurlReservedConcurrency = optionalInteger(k.unfurlReservedConcurrency, 1, 1000);
  const workerReservedConcurrency = optionalInteger(k.workerReservedConcurrency, 2, 1000);
  if (workerReservedConcurrency !== undefined && workerReservedConcurrency < workerMaxConcurrency) {
    throw new StageConfigError(
      `context "workerReservedConcurrency" (${workerReservedConcurrency}) must be at least workerMaxConcurrency (${workerMaxConcurrency}): the queue's poller would be throttled`,
    );
  }

  const alarmTopicArn = text(read, k.alarmTopicArn);
  if (alarmTopicArn !== undefined && !TOPIC_ARN_PATTERN.test(alarmTopicArn)) {
    throw new StageConfigError(`context "alarmTopicArn" must be an SNS topic ARN, got "${alarmTopicArn}"`);
  }

  const sourceAdapter = text(read, k.sourceAdapter);
  const unfurlRules = jsonText(read, k.unfurlRules);
  if (production) {
    // A production stack serves a real product and someone hears of its alarms. Every missing piece is named at
    // once, so one edit of cdk.context.json fixes them all.
    const missing: string[] = [];
    if (sourceAdapter === undefined || sourceAdapter === 'demo') {
      missing.push('context "sourceAdapter": the adapter of a real product (http or your own), not the demo');
    }
    if (unfurlRules === undefined) {
      missing.push('context "unfurlRules": its own rules, not the demo rules');
    } else {
      const rules = (JSON.parse(unfurlRules) as { rules?: unknown } | null)?.rules;
      if (!Array.isArray(rules) || rules.length === 0) missing.push('context "unfurlRules": at least one rule');
    }
    if (alarmEmail === undefined && alarmTopicArn === undefined) {
      missing.push(
        'context "alarmEmail" or "alarmTopicArn": an alarm target (an e-mail address or an existing SNS topic)',
      );
    }
    if (missing.length > 0) {
      throw new StageConfigError(
        `a production stack needs ${missing.join('; ')} (see docs/deployment.md, "Choose the settings")`,
      );
    }
  }

  const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
    (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

  return {
    stage,
    production: production === true,
    ...(issuer !== undefined && clientId !== undefined && clientSecretArn !== undefined
      ? { externalOidc: { issuer, clientId, clientSecretArn } }
      : {}),
    ...optional('cognitoDomainPrefix', cognitoDomainPrefix),
    ...(domainName !== undefined && certificateArn !== undefined
      ? {
          customDomain: {
            domainName,
            certificateArn,
            certificateRegion: certificateArn.split(':')[3] as string,
            ...(hostedZoneId !== undefined && hostedZoneName !== undefined
              ? { hostedZone: { id: hostedZoneId, name: hostedZoneName } }
              : {}),
            keepExecuteApiEndpoint,
          },
        }
      : {}),
    oauthClientId: text(read, k.oauthClientId) ?? 'notion-link-preview',
    notionApiBaseUrl: httpsUrl(k.notionApiBaseUrl, text(read, k.notionApiBaseUrl)) ?? 'https://api.notion.com',
    ...optional('notionVersion', text(read, k.notionVersion)),
    ...optional('notionRedirectUris', redirectUris(k.notionRedirectUris, text(read, k.notionRedirectUris))),
    notionRateLimitPerMinute: integer(read, k.notionRateLimitPerMinute, 180, 1, 6000),
    ...optional('sourceAdapter', sourceAdapter),
    ...optional('sourceBaseUrl', httpsUrl(k.sourceBaseUrl, text(read, k.sourceBaseUrl))),
    ...optional('sourceHttpMapping', jsonText(read, k.sourceHttpMapping)),
    ...optional('unfurlRules', unfurlRules),
    ...optional('devName', text(read, k.devName)),
    logLevel: logLevel as StageConfig['logLevel'],
    logRetentionDays,
    apiRateLimit: integer(read, k.apiRateLimit, 50, 1, 10_000),
    apiBurstLimit: integer(read, k.apiBurstLimit, 100, 1, 5_000),
    workerMaxConcurrency,
    ...optional('unfurlReservedConcurrency', unfurlReservedConcurrency),
    ...optional('workerReservedConcurrency', workerReservedConcurrency),
    ...optional('alarmEmail', alarmEmail),
    ...optional('alarmTopicArn', alarmTopicArn),
    contextSettings: declaredContextSettings(read),
  };
};

/**
 * The values of the settings taken from CDK context that the stage config has no field of its own for, by
 * context key; a value the setting's parser refuses stops the synth naming the key and the variable.
 */
const declaredContextSettings = (read: ContextReader): Record<string, string> => {
  const known: ReadonlySet<string> = new Set(Object.values(CONTEXT_KEYS));
  const values: Record<string, string> = {};
  for (const [name, setting] of Object.entries(SETTINGS) as [string, SettingDeclaration][]) {
    const deploy = setting.deploy;
    if (!deploy || !('context' in deploy) || known.has(deploy.context)) continue;
    const value = text(read, deploy.context);
    if (value === undefined) continue;
    const parsed = setting.parse?.(value);
    if (parsed && !parsed.ok) {
      const reason = parsed.problems.map((p) => (p.at === undefined ? p.message : `${p.at}: ${p.message}`)).join('; ');
      throw new StageConfigError(`context "${deploy.context}" (${name}): ${reason}, got "${value}"`);
    }
    values[deploy.context] = value;
  }
  return values;
};

/** An account and region the user pinned with context `account` / `region`; empty: environment-agnostic. */
export const readPinnedEnvironment = (read: ContextReader): { account?: string; region?: string } => {
  const account = text(read, CONTEXT_KEYS.account);
  const region = text(read, CONTEXT_KEYS.region);
  if (account !== undefined && !/^\d{12}$/.test(account)) {
    throw new StageConfigError(`context "account" must be a 12-digit AWS account id, got "${account}"`);
  }
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new StageConfigError(`context "region" must be an AWS region like eu-west-1, got "${region}"`);
  }
  return { ...(account ? { account } : {}), ...(region ? { region } : {}) };
};

/** Reads the stage configuration from a construct node's context. */
export const stageConfigFromContext = (node: Node): StageConfig => readStageConfig((key) => node.tryGetContext(key));

/**
 * The environment a function gets from CDK context: every setting lib/settings.ts declares for that function
 * with a context key, valued from the stage config's field of the same name (unset fields are left out).
 */
export const contextEnvironment = (config: StageConfig, fn: FunctionName): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [name, deploy] of settingsDeclaredFor(fn)) {
    if (!('context' in deploy)) continue;
    const value = Object.hasOwn(config, deploy.context)
      ? (config as unknown as Record<string, unknown>)[deploy.context]
      : config.contextSettings[deploy.context];
    if (value !== undefined) env[name] = String(value);
  }
  return env;
};

/**
 * The environment a function gets from the stack's own wiring: every setting lib/settings.ts marks as wired
 * for that function, valued from `values` (a declared setting without a value fails the synth by name).
 */
export const wiringEnvironment = (
  values: Readonly<Partial<Record<string, string>>>,
  fn: FunctionName,
): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [name, deploy] of settingsDeclaredFor(fn)) {
    if (!('wiring' in deploy)) continue;
    const value = values[name];
    if (value === undefined) throw new StageConfigError(`the stack has no value for ${name}, which ${fn} needs`);
    env[name] = value;
  }
  return env;
};

/** The environment of a source adapter's own settings: each one with a CDK context key, from that key. */
export const adapterEnvironment = (
  adapter: Pick<SourceAdapterDefinition, 'settings'>,
  read: (key: string) => unknown,
): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const [name, setting] of Object.entries(adapter.settings ?? {})) {
    if (!setting.context) continue;
    const value = read(setting.context);
    if (value !== undefined && value !== null && String(value).trim() !== '') env[name] = String(value);
  }
  return env;
};
