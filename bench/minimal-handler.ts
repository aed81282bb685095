/**
 * The baseline the handlers are compared with: the least a bearer-protected
 * Lambda on this stack can do. One jose verify of an HS256 JWT, then one
 * DynamoDB GetItem (DocumentClient, consistent read) of the connection the
 * token names. No middleware, no validation library, no logging.
 *
 * Bundled exactly like the service's handlers (bench/build.ts), and like them it
 * builds its client when it loads (composition at init, ADR 0112). Settings:
 * BENCH_MINIMAL_SECRET (HS256 secret), BENCH_MINIMAL_ISSUER, CONNECTIONS_TABLE,
 * DYNAMODB_ENDPOINT (optional) and the usual AWS_REGION / credentials.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { jwtVerify } from 'jose';

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
  };
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
  return { statusCode: 200, body: JSON.stringify({ connection: connectionId }) };
};
