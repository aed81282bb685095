/**
 * Renders a subscription for the update worker exactly as the unfurl callback
 * would for the same user: the uri goes through the unfurl rules, the source
 * adapter resolves it with the subscriber's identity and upstream credentials,
 * and the shared attribute builder produces the list (title and dev always).
 */
import type { Clock, Connection } from '#core/ports.js';
import type { SourceAdapter, UpstreamCredentials } from '#core/sources/source-adapter.js';
import { renderResource } from '#core/unfurl/render.js';
import { matchUri, type UnfurlIntegration } from '#core/unfurl/rules.js';
import { ERROR_MESSAGES } from '#core/unfurl/unfurl.js';
import { UPSTREAM_LOGIN_REQUIRED } from './decide-push.js';
import type { Renderer } from './ports.js';

export interface SourceRendererOptions {
  readonly integration: UnfurlIntegration;
  readonly adapter: SourceAdapter;
  /** The subscriber's upstream credentials, kept valid (the unfurl's wiring: docs/adr/0127). */
  readonly credentialsFor: (connection: Connection) => UpstreamCredentials;
  readonly clock: Clock;
  /** DEV_NAME */
  readonly devName: string;
  /** Deadline of one source call (UNFURL_DEADLINE_MS). */
  readonly deadlineMs: number;
}

export const sourceRenderer = (options: SourceRendererOptions): Renderer => ({
  async render({ connection, subscription }) {
    const match = matchUri(options.integration, subscription.uri);
    // The rules changed since the link was previewed: nothing serves this uri any more.
    if (!match) return { kind: 'error', ...ERROR_MESSAGES.no_rule };
    const result = await renderResource(
      options.adapter,
      match,
      { subject: connection.subject, displayName: connection.displayName, connectionId: connection.id },
      options.credentialsFor(connection),
      { devName: options.devName, deadlineMs: options.deadlineMs, clock: options.clock },
    );
    switch (result.outcome) {
      case 'found':
        return { kind: 'attributes', attributes: result.attributes };
      case 'not_found':
      case 'gone':
      case 'forbidden':
        // The same error operation the unfurl callback answers with: nothing about the resource leaks.
        return { kind: 'error', ...ERROR_MESSAGES[result.outcome] };
      case 'needs_auth':
        // A background push does not replace a preview because the subscriber's upstream login lapsed.
        return { kind: 'skip', reason: UPSTREAM_LOGIN_REQUIRED };
    }
  },
});

/** The resource key of a previewed uri, or undefined when no rule matches. */
export const resourceOfUri =
  (integration: UnfurlIntegration) =>
  (uri: string): string | undefined =>
    matchUri(integration, uri)?.resourceKey;
