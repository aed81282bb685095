/**
 * What a source adapter module of a team's own imports: `notion-link-preview`
 * and `notion-link-preview/source` (package.json `exports`) are this module.
 *
 *   import { attr, defineSourceAdapter, sourceGet } from 'notion-link-preview/source';
 *   export default defineSourceAdapter({ name: 'acme', description: '…', settings: { … }, create: … });
 *
 * The built-in adapters in this directory are written the same way
 * (docs/connect-your-product.md, path 3).
 */
export {
  type FetchFunction,
  outcomeForStatus,
  type PreviewModel,
  type ResolveContext,
  type ResolveOutcome,
  readJson,
  type SourceAdapter,
  SourceUnavailableError,
  type UpstreamCredentials,
  type UserIdentity,
} from '#core/sources/source-adapter.js';
export { attr, hexColor, type Rgb, type UnfurlAttribute } from '#core/unfurl/attributes.js';
export type { RuleMatch } from '#core/unfurl/rules.js';
export { ConfigError } from '#shared/errors.js';
export {
  type AdapterSetting,
  defineSourceAdapter,
  type SourceAdapterDefinition,
  type SourceAdapterEnvironment,
  type SourceAdapterNeeds,
} from './define.js';
export { type SourceAnswer, type SourceGet, sourceGet } from './http-get.js';
