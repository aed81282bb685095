/**
 * The baseline the handlers are compared with: the least a bearer-protected
 * Lambda on this stack can do. One jose verify of an HS256 JWT, then one
 * DynamoDB GetItem (DocumentClient, consistent read) of the connection the
 * token names. No middleware, no validation library, no logging.
 *
 * With BENCH_MINIMAL_SOURCE_URL set it is the floor of an unfurl (ADR 0140):
 * after the read, which authorizes, one GET of that URL with a service
 * assertion (an EdDSA JWT for the connection's subject, kept for half its
 * 60-second lifetime, as the service keeps its own), its JSON body returned.
 * Settings of that step: BENCH_MINIMAL_ASSERTION_KEY (PKCS#8 PEM),
 * BENCH_MINIMAL_ASSERTION_KID, BENCH_MINIMAL_ASSERTION_AUDIENCE,
 * BENCH_MINIMAL_ASSERTION_ISSUER.
 *
 * Bundled exactly like the service's handlers (bench/build.ts), and like them it
 * builds its client when it loads (composition at init, ADR 0112). Settings:
 * BENCH_MINIMAL_SECRET (HS256 secret), BENCH_MINIMAL_ISSUER, CONNECTIONS_TABLE,
 * DYNAMODB_ENDPOINT (optional) and the usual AWS_REGION / credentials.
 */

import { createPrivateKey, type KeyObject } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { jwtVerify, SignJWT } from 'jose';

interface MinimalEvent {
  readonly headers?: Readonly<Record<string, string | undefined>>;
}
interface MinimalResult {
  readonly statusCode: number;
  readonly body: string;
}

const init = () => {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  const client = new DynamoDBClient(endpoint ? { endpoint } : {});
  return {
    doc: DynamoDBDocumentClient.from(client),
    key: new TextEncoder().encode(process.env.BENCH_MINIMAL_SECRET ?? ''),
    issuer: process.env.BENCH_MINIMAL_ISSUER ?? '',
    table: process.env.CONNECTIONS_TABLE ?? '',
    source: process.env.BENCH_MINIMAL_SOURCE_URL
      ? {
          url: process.env.BENCH_MINIMAL_SOURCE_URL,
          key: createPrivateKey(process.env.BENCH_MINIMAL_ASSERTION_KEY ?? ''),
          kid: process.env.BENCH_MINIMAL_ASSERTION_KID ?? '',
          audience: process.env.BENCH_MINIMAL_ASSERTION_AUDIENCE ?? '',
          issuer: process.env.BENCH_MINIMAL_ASSERTION_ISSUER ?? '',
        }
      : undefined,
  };
};

const assertions = new Map<string, { token: string; renewAt: number }>();
const assertionFor = async (
  source: { readonly key: KeyObject; readonly kid: string; readonly audience: string; readonly issuer: string },
  subject: string,
): Promise<string> => {
  const hit = assertions.get(subject);
  const now = Date.now();
  if (hit && hit.renewAt > now) return hit.token;
  const iat = Math.floor(now / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: source.kid, typ: 'JWT' })
    .setIssuer(source.issuer)
    .setSubject(subject)
    .setAudience(source.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 60)
    .sign(source.key);
  assertions.set(subject, { token, renewAt: now + 30_000 });
  return token;
};

const state = init();

export const handler = async (event: MinimalEvent): Promise<MinimalResult> => {
  const s = state;
  const authorization = event.headers?.authorization ?? '';
  const token = authorization.startsWith('Bearer ') ? authorization.slice(7) : '';
  let connectionId: unknown;
  try {
    const { payload } = await jwtVerify(token, s.key, { issuer: s.issuer, audience: s.issuer, algorithms: ['HS256'] });
    connectionId = payload.cid;
  } catch {
    return { statusCode: 401, body: '{"error":"invalid_token"}' };
  }
  if (typeof connectionId !== 'string') return { statusCode: 401, body: '{"error":"invalid_token"}' };
  const out = await s.doc.send(
    new GetCommand({ TableName: s.table, Key: { pk: `connection#${connectionId}` }, ConsistentRead: true }),
  );
  if (out.Item?.status !== 'active') return { statusCode: 401, body: '{"error":"invalid_token"}' };
  if (!s.source) return { statusCode: 200, body: JSON.stringify({ connection: connectionId }) };
  const assertion = await assertionFor(s.source, String(out.Item.subject));
  const answer = await fetch(s.source.url, {
    headers: { accept: 'application/json', authorization: `Bearer ${assertion}` },
    redirect: 'manual',
  });
  if (answer.status !== 200) return { statusCode: 502, body: '{"error":"source"}' };
  return { statusCode: 200, body: JSON.stringify({ connection: connectionId, task: await answer.json() }) };
};
