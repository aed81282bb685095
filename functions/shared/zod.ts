/**
 * The zod every runtime module uses: `zod/mini` (functional, tree-shakable)
 * with the English messages of full zod. Full `zod` puts about 440 KB into
 * every handler bundle; this costs a few KB (docs/adr/0080-small-bundles.md).
 *
 * Import it as `import * as z from '#shared/zod.js'` (not from 'zod' or
 * 'zod/mini'), so the locale is configured before any schema parses. Local
 * tooling outside `functions/` may keep full zod: it is never bundled.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

// A re-export, not a namespace object, so the bundler keeps only what is used.
export * from 'zod/mini';
