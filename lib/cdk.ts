/**
 * The CDK side of the package (`notion-link-preview/cdk`): the stack as a
 * construct a team instantiates from its own `bin/app.ts`, with its source
 * adapter module, and the helpers to read the stage configuration and load
 * the module.
 *
 *   const app = new App();
 *   const source = await loadSourceAdapterModule(new URL('../src/acme-source.ts', import.meta.url));
 *   new NotionLinkPreviewStack(app, 'AcmeLinkPreviews', {
 *     config: stageConfigFromContext(app.node),
 *     source: { ...source, settings: { ACME_API_URL: 'https://api.acme.example' } },
 *   });
 *
 * docs/connect-your-product.md walks through it. It reaches only the package's dependencies and
 * peer dependencies: this repository's own app (lib/app.ts, with the cdk-nag checks) is not part of it.
 */
export {
  loadSourceAdapterModule,
  type SourceAdapterModule,
} from '../functions/adapters/sources/load-module.js';
export { bundlingRoot } from './constructs/node-function.js';
export type { CustomSourceProps } from './custom-source.js';
export { NotionLinkPreviewStack, type NotionLinkPreviewStackProps } from './notion-link-preview-stack.js';
export {
  readStageConfig,
  type StageConfig,
  StageConfigError,
  stackName,
  stageConfigFromContext,
} from './stage-config.js';
