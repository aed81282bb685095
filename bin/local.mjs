#!/usr/bin/env node
// `npx notion-link-preview-local [--fresh]` in a team's repository: the local system of the installed package
// (its TypeScript sources, loaded with tsx), with the settings of the environment and of `.env` in the
// current directory, e.g. SOURCE_ADAPTER_MODULE=./src/acme-source.ts (docs/connect-your-product.md).
import '../scripts/require-node.mjs';
import { register } from 'tsx/esm/api';

register();
const { runFromCommandLine } = await import('../local/start.ts');
await runFromCommandLine();
