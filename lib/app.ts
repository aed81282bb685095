/**
 * Builds the CDK app: the stage's stack plus the cdk-nag AwsSolutions checks,
 * which run on every synthesis (an unacknowledged finding fails `cdk synth`).
 * `bin/app.ts` and the infra tests both build the app here, so tests check
 * exactly what gets deployed.
 */
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NotionLinkPreviewStack } from './notion-link-preview-stack.js';
import { stageConfigFromContext } from './stage-config.js';

export interface ServiceApp {
  readonly app: App;
  readonly stack: NotionLinkPreviewStack;
}

/** Stack name of a stage: one stack per stage and account/region. */
export const stackName = (stage: string): string => `NotionLinkPreview-${stage}`;

/** Target account and region; by default what the CDK CLI resolved (none offline). */
export interface TargetEnvironment {
  readonly account?: string | undefined;
  readonly region?: string | undefined;
}

export const createServiceApp = (
  props: AppProps = {},
  target: TargetEnvironment = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
): ServiceApp => {
  const app = new App(props);
  const config = stageConfigFromContext(app.node);
  const { account, region } = target;
  const stack = new NotionLinkPreviewStack(app, stackName(config.stage), {
    config,
    // Environment-agnostic unless the CLI knows the target: synthesis never looks anything up.
    ...(account || region ? { env: { ...(account ? { account } : {}), ...(region ? { region } : {}) } } : {}),
    tags: { application: 'notion-link-preview', stage: config.stage },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
};
