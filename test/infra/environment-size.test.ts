/**
 * Lambda refuses a function whose environment variables take over 4 KB, at deploy time: the stack estimates
 * each function's environment (an upper bound for values known only at deploy) and refuses it at synth,
 * naming the context key.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { environmentSize, LAMBDA_ENVIRONMENT_LIMIT_BYTES } from '#lib/environment-size.js';
import { StageConfigError } from '#lib/stage-config.js';
import { PRODUCT_SOURCE, type Synthesized, synthService } from './synth.js';

const PRODUCTION = { stage: 'prod', production: true, ...PRODUCT_SOURCE, alarmEmail: 'ops@example.com' };

/** A product with `n` kinds of link, each with the placeholder attributes Notion shows before the unfurl. */
const rules = (n: number) => ({
  domain: 'app.example.com',
  rules: Array.from({ length: n }, (_, i) => ({
    name: `kind${i}`,
    pattern: `^https://app\\.example\\.com/kind${i}/(?<taskId>[A-Za-z0-9-]+)(?:[?#].*)?$`,
    sampleUrls: [`https://app.example.com/kind${i}/1`],
    placeholder: [
      {
        id: 'title',
        name: 'Title',
        type: 'inline',
        inline: { title: { value: `Kind ${i} $<taskId>`, section: 'title' } },
      },
      {
        id: 'dev',
        name: 'Developer Name',
        type: 'inline',
        inline: { plain_text: { value: 'Acme', section: 'secondary' } },
      },
    ],
    resource: `kind${i}:$<taskId>`,
  })),
});

describe('environmentSize', () => {
  it('measures literal values as the JSON Lambda measures', () => {
    const stack = new Stack(new App(), 'Literal');
    const variables = { STAGE: 'dev', UNFURL_RULES: '{"domain":"a.example","rules":[]}' };
    expect(environmentSize(stack, variables).bytes).toBe(JSON.stringify(variables).length);
  });

  it('counts a generated table name as the longest CloudFormation can make: <stack>-<logical id>-<random>', () => {
    const stack = new Stack(new App(), 'NotionLinkPreview-prod');
    const table = new Table(stack, 'Connections', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    const id = stack.resolve(
      (table.node.defaultChild as Table['node']['defaultChild'] & { logicalId: string }).logicalId,
    );
    const realistic = `NotionLinkPreview-prod-${id}-1A2B3C4D5E6F7`;
    const size = environmentSize(stack, { CONNECTIONS_TABLE: table.tableName });
    expect(size.bytes).toBeGreaterThanOrEqual(JSON.stringify({ CONNECTIONS_TABLE: realistic }).length);
    expect(size.bytes).toBeLessThanOrEqual(JSON.stringify({ CONNECTIONS_TABLE: realistic }).length + 2);
  });
});

describe('the stack', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthService({ context: { ...PRODUCTION, unfurlRules: rules(3) } });
  }, 60_000);
  afterAll(() => s?.cleanup());

  it('leaves room in every function for a product with a few kinds of link', () => {
    for (const f of [...Object.values(s.stack.functions), s.stack.worker]) {
      const { bytes } = environmentSize(s.stack, f.environmentVariables());
      expect({ fn: f.handlerName, fits: bytes <= LAMBDA_ENVIRONMENT_LIMIT_BYTES }).toEqual({
        fn: f.handlerName,
        fits: true,
      });
    }
  });

  it('refuses at synth an environment Lambda would refuse at deploy, naming the context key', () => {
    let error: unknown;
    try {
      synthService({ context: { ...PRODUCTION, unfurlRules: rules(12) } }).cleanup();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StageConfigError);
    expect((error as Error).message).toMatch(
      /environment variables would take up to \d+ bytes, over Lambda's limit of 4096/,
    );
    expect((error as Error).message).toContain('UNFURL_RULES');
    expect((error as Error).message).toContain('context "unfurlRules"');
  }, 60_000);
});
