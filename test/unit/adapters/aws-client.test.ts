import { Readable } from 'node:stream';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from '@jest/globals';
import { leanAwsClient, SDK_LOGGER_MIDDLEWARE } from '#adapters/aws-client.js';
import { createDynamoDbClient } from '#adapters/dynamo/client.js';
import { createSqsClient } from '#adapters/sqs/update-queue.js';

interface SentRequest {
  readonly headers: Record<string, string>;
}

/**
 * A DynamoDB client that sends nothing: its request handler keeps each signed
 * request and answers `{}`. Credentials come from a provider that hands out a
 * new access key on each call, as rotated credentials would.
 */
const recordingClient = () => {
  const sent: SentRequest[] = [];
  let issued = 0;
  const client = new DynamoDBClient({
    region: 'eu-west-1',
    endpoint: 'http://127.0.0.1:1',
    credentials: async () => {
      issued += 1;
      // Close to expiry: the SDK's provider cache asks again before each use.
      return {
        accessKeyId: `AKIDROTATED${issued}`,
        secretAccessKey: `secret-${issued}`,
        expiration: new Date(Date.now() + 60_000),
      };
    },
    requestHandler: {
      handle: async (request: SentRequest) => {
        sent.push(request);
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/x-amz-json-1.0' },
            body: Readable.from([Buffer.from('{}')]),
          },
        };
      },
    } as never,
  });
  return { client, sent };
};

const names = (client: { middlewareStack: { identify(): string[] } }) => client.middlewareStack.identify().join(' ');
const getItem = () => new GetItemCommand({ TableName: 'connections', Key: { pk: { S: 'a' } } });

describe('leanAwsClient', () => {
  it('removes the SDK logger middleware, which the SDK installs by that name', () => {
    const plain = new DynamoDBClient({ region: 'eu-west-1' });
    expect(names(plain)).toContain(SDK_LOGGER_MIDDLEWARE);
    expect(names(leanAwsClient(new DynamoDBClient({ region: 'eu-west-1' })))).not.toContain(SDK_LOGGER_MIDDLEWARE);
    expect(names(createDynamoDbClient({ endpoints: { dynamodb: undefined, sqs: undefined } }))).not.toContain(
      SDK_LOGGER_MIDDLEWARE,
    );
    expect(names(createSqsClient({ endpoints: { dynamodb: undefined, sqs: undefined } }))).not.toContain(
      SDK_LOGGER_MIDDLEWARE,
    );
    expect(names(new SQSClient({ region: 'eu-west-1' }))).toContain(SDK_LOGGER_MIDDLEWARE);
  });

  it('builds the signer once per auth scheme, where the SDK builds one per request', async () => {
    const scheme = { name: 'sigv4', signingName: 'dynamodb', signingRegion: 'eu-west-1', properties: {} };
    const plain = new DynamoDBClient({ region: 'eu-west-1' });
    expect(await plain.config.signer(scheme)).not.toBe(await plain.config.signer(scheme));

    const lean = leanAwsClient(new DynamoDBClient({ region: 'eu-west-1' }));
    const first = await lean.config.signer(scheme);
    expect(await lean.config.signer({ ...scheme })).toBe(first);
    expect(await lean.config.signer({ ...scheme, signingRegion: 'us-east-1' })).not.toBe(first);
    expect(await lean.config.signer()).toBe(await lean.config.signer());
  });

  it('does not remember a signer that failed to build', async () => {
    let calls = 0;
    const client = leanAwsClient({
      middlewareStack: { remove: () => true },
      config: {
        signer: async () => {
          calls += 1;
          if (calls === 1) throw new Error('region not resolved yet');
          return { calls };
        },
      },
    });
    await expect(client.config.signer()).rejects.toThrow('region not resolved yet');
    await expect(client.config.signer()).resolves.toEqual({ calls: 2 });
    await expect(client.config.signer()).resolves.toEqual({ calls: 2 });
  });

  it('still signs each request with the credentials of that moment, as a plain client does', async () => {
    const plain = recordingClient();
    await plain.client.send(getItem());
    await plain.client.send(getItem());
    expect(new Set(plain.sent.map((r) => r.headers.authorization?.slice(0, 40))).size).toBe(2);

    const { client, sent } = recordingClient();
    leanAwsClient(client);
    await client.send(getItem());
    await client.send(getItem());
    expect(sent).toHaveLength(2);
    const credentialOf = (r: SentRequest) => /Credential=([^/]+)\//.exec(r.headers.authorization ?? '')?.[1];
    // The provider is asked again for each signature: the memoised signer keeps the provider, not its answer.
    expect(new Set(sent.map(credentialOf)).size).toBe(2);
    for (const r of sent) {
      expect(r.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDROTATED\d+\/\d{8}\/eu-west-1\/dynamodb\/aws4_request/,
      );
      expect(r.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    }
  });
});
