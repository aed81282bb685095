/**
 * A source adapter of the team's own, in the stack: the team's `bin/app.ts`
 * names the module (its entry file and declaration, from
 * `loadSourceAdapterModule`), the values of its settings, the secrets and the
 * grants it declares; the stack bundles the module into the functions that
 * call the source (lib/functions.ts `callsSource`) through a generated entry
 * that registers it before the handler composes.
 *
 * Nothing of the team's is written into this package: the generated entries
 * live in the team's `node_modules/.cache/notion-link-preview/`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { SourceAdapterDefinition } from '../functions/adapters/sources/define.js';
import { type NodeFunction, PROJECT_ROOT, type SecretRef } from './constructs/node-function.js';
import type { EnvName } from './env-names.js';
import type { FunctionName } from './routes.js';
import { SETTINGS } from './settings.js';
import { adapterEnvironment, type StageConfig, StageConfigError } from './stage-config.js';

export interface CustomSourceProps {
  /** The adapter module: its file (absolute path) and declaration, as `loadSourceAdapterModule` returns them. */
  readonly entry: string;
  readonly definition: SourceAdapterDefinition;
  /** Values of its settings (those with a CDK context key may come from context instead; these win). */
  readonly settings?: Readonly<Record<string, string>>;
  /** The secret of each setting its declaration lists in `needs.secrets`: a secret, or its complete ARN. */
  readonly secrets?: Readonly<Record<string, SecretRef | string>>;
  /** The resources (ARNs) of each grant its declaration lists in `needs.grants`. */
  readonly grants?: Readonly<Record<string, readonly string[]>>;
}

/** The stage config with SOURCE_ADAPTER naming the custom adapter (context may name it too, but nothing else). */
export const withCustomSource = (config: StageConfig, source: CustomSourceProps): StageConfig => {
  const name = source.definition.name;
  if (config.sourceAdapter !== undefined && config.sourceAdapter !== name) {
    throw new StageConfigError(
      `context "sourceAdapter" is "${config.sourceAdapter}" but the stack's source module declares "${name}"`,
    );
  }
  if (!existsSync(source.entry)) throw new StageConfigError(`source adapter module not found: ${source.entry}`);
  return { ...config, sourceAdapter: name };
};

/** Checks the props against the declaration: every setting known, every required one, secret and grant given. */
export const checkCustomSource = (source: CustomSourceProps, read: (key: string) => unknown): void => {
  const { definition } = source;
  const own = definition.settings ?? {};
  const secretNames: readonly string[] = definition.needs?.secrets ?? [];
  const grantNames = Object.keys(definition.needs?.grants ?? {});
  const where = `source adapter "${definition.name}"`;
  for (const name of Object.keys(source.settings ?? {})) {
    if (!Object.hasOwn(own, name)) throw new StageConfigError(`${where} declares no setting ${name}`);
    if (secretNames.includes(name)) throw new StageConfigError(`${where}: ${name} is a secret; give it in "secrets"`);
  }
  for (const name of Object.keys(own)) {
    if (Object.hasOwn(SETTINGS, name)) throw new StageConfigError(`${where}: ${name} is a setting of the service`);
  }
  const fromContext = adapterEnvironment(definition, read);
  for (const [name, setting] of Object.entries(own)) {
    if (!setting.required || secretNames.includes(name)) continue;
    if (source.settings?.[name] === undefined && fromContext[name] === undefined) {
      throw new StageConfigError(
        `${where} needs setting ${name}${setting.context ? ` (context "${setting.context}")` : ''}`,
      );
    }
  }
  for (const name of secretNames) {
    if (!Object.hasOwn(own, name)) throw new StageConfigError(`${where}: needs.secrets names no setting ${name}`);
    if (!source.secrets?.[name]) throw new StageConfigError(`${where} needs the secret of ${name} in "secrets"`);
  }
  for (const name of Object.keys(source.secrets ?? {})) {
    if (!secretNames.includes(name)) throw new StageConfigError(`${where} declares no secret ${name}`);
  }
  for (const name of grantNames) {
    if (!source.grants?.[name]?.length) throw new StageConfigError(`${where} needs the resources of grant "${name}"`);
  }
  for (const name of Object.keys(source.grants ?? {})) {
    if (!grantNames.includes(name)) throw new StageConfigError(`${where} declares no grant "${name}"`);
  }
};

/** Gives a function that calls the source the adapter's settings, secrets and grants. */
export const bindCustomSource = (f: NodeFunction, source: CustomSourceProps): void => {
  f.setEnvironment((source.settings ?? {}) as Partial<Record<EnvName, string>>);
  for (const [name, secret] of Object.entries(source.secrets ?? {})) {
    f.bindSecret(name as EnvName, typeof secret === 'string' ? { secretArn: secret, secretFullArn: secret } : secret);
  }
  for (const [name, grant] of Object.entries(source.definition.needs?.grants ?? {})) {
    f.executionRole.addToPrincipalPolicy(
      new PolicyStatement({ actions: [...grant.actions], resources: [...(source.grants?.[name] ?? [])] }),
    );
  }
};

const writeIfChanged = (file: string, text: string): void => {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  writeFileSync(file, text);
};

/**
 * The entry module of `handlerName` with the team's adapter registered first (ES modules evaluate their
 * imports in order, so the registration runs before the handler composes at init). Written under
 * `<projectRoot>/node_modules/.cache/notion-link-preview/` (esbuild bundles only what is under the project root).
 */
export const customSourceEntry = (projectRoot: string, handlerName: FunctionName, adapterEntry: string): string => {
  const dir = path.join(projectRoot, 'node_modules', '.cache', 'notion-link-preview', 'entries');
  mkdirSync(dir, { recursive: true });
  const tag = createHash('sha256').update(adapterEntry).digest('hex').slice(0, 10);
  const file = (...parts: string[]) => JSON.stringify(path.join(PROJECT_ROOT, ...parts));
  const register = `register-${tag}.ts`;
  writeIfChanged(
    path.join(dir, register),
    [
      '// Generated by notion-link-preview (lib/custom-source.ts): registers the source adapter module below.',
      `import { sourceAdapterOfModule } from ${file('functions', 'adapters', 'sources', 'define.ts')};`,
      `import { registerSourceAdapter } from ${file('functions', 'adapters', 'sources', 'registry.ts')};`,
      `import * as adapterModule from ${JSON.stringify(adapterEntry)};`,
      `registerSourceAdapter(sourceAdapterOfModule(adapterModule, ${JSON.stringify(path.basename(adapterEntry))}));`,
      '',
    ].join('\n'),
  );
  const entry = path.join(dir, `${handlerName}-${tag}.ts`);
  writeIfChanged(
    entry,
    [
      `// Generated by notion-link-preview (lib/custom-source.ts): the ${handlerName} function with the team's source adapter.`,
      `import './${register}';`,
      `export { handler } from ${file('functions', `${handlerName}.ts`)};`,
      '',
    ].join('\n'),
  );
  return entry;
};
