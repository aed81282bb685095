/**
 * Builds the CDK app: the stage's stack plus the cdk-nag AwsSolutions checks,
 * which run on every synthesis (an unacknowledged finding fails `cdk synth`).
 * `bin/app.ts` and the infra tests both build the app here, so tests check
 * exactly what gets deployed.
 */
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NotionLinkPreviewStack } from './notion-link-preview-stack.js';
import { readPinnedEnvironment, stackName, stageConfigFromContext } from './stage-config.js';

export interface ServiceApp {
  readonly app: App;
  readonly stack: NotionLinkPreviewStack;
}

export { stackName } from './stage-config.js';

/**
 * Target account and region. By default none: the template is environment-agnostic (regions and accounts are
 * `AWS::Region` / `AWS::AccountId` references), whatever the CLI resolved; context `account` / `region` pins them.
 */
export interface TargetEnvironment {
  readonly account?: string | undefined;
  readonly region?: string | undefined;
}

export const createServiceApp = (props: AppProps = {}, target?: TargetEnvironment): ServiceApp => {
  const app = new App(props);
  const config = stageConfigFromContext(app.node);
  const { account, region } = target ?? readPinnedEnvironment((key) => app.node.tryGetContext(key));
  const stack = new NotionLinkPreviewStack(app, stackName(config.stage), {
    config,
    // Environment-agnostic unless pinned: synthesis never looks anything up.
    ...(account || region ? { env: { ...(account ? { account } : {}), ...(region ? { region } : {}) } } : {}),
    tags: { application: 'notion-link-preview', stage: config.stage },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
};
