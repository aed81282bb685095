/**
 * The consent step as a browser goes through it, for tests that drive the authorize handler
 * directly: the value of a hidden field of the consent page, and the whole round trip up to
 * Notion's redirect_uri.
 */
import type { Context } from 'aws-lambda';
import { PENDING_COOKIE } from '../../functions/handlers/oauth-authorize.js';
import { CLIENT_ID, NOTION_REDIRECT } from '../unit/oauth/fakes.js';
import { httpEvent } from './factories.js';

export type HandlerResult = {
  statusCode: number;
  headers?: Record<string, unknown>;
  body?: string;
  cookies?: string[];
};

/** The value of hidden field `name` of a consent page, its character references decoded. */
export const hiddenField = (html: string, name: string): string =>
  (new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? '').replace(/&#(\d+);/g, (_m, n: string) =>
    String.fromCharCode(Number(n)),
  );

/**
 * Authorize (with Notion's code `notionCode`), the upstream login (FakeUpstream accepts the code "ok"),
 * and "allow" on the consent page: the answer to the consent, a redirect to Notion with our code.
 */
export const allowThroughHandler = async (
  handler: (event: ReturnType<typeof httpEvent>, context: Context) => Promise<unknown>,
  notionCode = 'notion-code',
): Promise<HandlerResult> => {
  const call = async (input: Parameters<typeof httpEvent>[0]) =>
    (await handler(httpEvent(input), {} as Context)) as HandlerResult;
  const start = await call({
    path: '/oauth/authorize',
    query: { client_id: CLIENT_ID, redirect_uri: NOTION_REDIRECT, response_type: 'code', code: notionCode },
  });
  const cookie = start.cookies?.map((k) => k.split(';')[0] ?? '').find((k) => k.startsWith(`${PENDING_COOKIE}=`));
  const upstreamState = new URL(String(start.headers?.location)).searchParams.get('state') ?? '';
  const page = await call({
    path: '/oauth/callback',
    query: { code: 'ok', state: upstreamState },
    cookies: [cookie ?? ''],
  });
  return call({
    method: 'POST',
    path: '/oauth/consent',
    cookies: [cookie ?? ''],
    form: {
      pending: hiddenField(page.body ?? '', 'pending'),
      csrf: hiddenField(page.body ?? '', 'csrf'),
      decision: 'allow',
    },
  });
};
