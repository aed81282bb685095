/**
 * Values the stack writes into a secret until the operator stores the real one,
 * and how the service recognizes them. Data only: imported by the stack, the
 * functions (the authorize flow refuses to start on a placeholder) and the scripts.
 */
import { OUTPUTS } from './stack-outputs.js';

/** Placeholder written into the Notion credentials secret until the operator stores the real pair. */
export const NOTION_CLIENT_ID_PLACEHOLDER = 'replace-with-the-notion-integration-oauth-client-id';

/** True when a Notion client id is still the stack's placeholder. */
export const isNotionClientIdPlaceholder = (clientId: string | undefined): boolean =>
  clientId?.trim() === NOTION_CLIENT_ID_PLACEHOLDER;

/** What is missing, said plainly (page, log, script). */
export const NOTION_CREDENTIALS_PLACEHOLDER_MESSAGE = `The Notion integration's OAuth credentials are not set up: the secret ${OUTPUTS.notionCredentialsSecretArn} still holds the placeholder the stack created. Store the integration's client id and secret there as {"clientId","clientSecret"} (docs/deployment.md, section 4).`;
