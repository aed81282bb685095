/**
 * Environment-agnostic by default: without a pinned account or region the
 * template names neither (references to AWS::Region / AWS::AccountId), and the
 * names that must be unique per account or region (the dashboard, the Cognito
 * domain prefix, alarms, the key alias) stay apart across regions and stages;
 * a reserved word in a stage name never reaches Cognito.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { PROJECT_ROOT } from '#lib/constructs/node-function.js';
import { COGNITO_RESERVED_WORDS, cognitoSafe } from '#lib/constructs/upstream-identity.js';
import { readPinnedEnvironment } from '#lib/stage-config.js';
import { type Synthesized, synthService } from './synth.js';

const REGION_LITERAL =
  /\b(?:us|eu|ap|sa|ca|me|af|il|mx|cn)(?:-gov|-iso[a-z]?)?-(?:north|south|east|west|central|northeast|southeast|northwest|southwest)-\d\b/;

const made: Synthesized[] = [];
const synth = (...args: Parameters<typeof synthService>): Synthesized => {
  const s = synthService(...args);
  made.push(s);
  return s;
};
afterAll(() => {
  for (const s of made) s.cleanup();
});

describe('no environment pinned', () => {
  it('the template holds no region and no account literal', () => {
    const json = JSON.stringify(synth().template.toJSON());
    expect(json.match(REGION_LITERAL)?.[0]).toBeUndefined();
    expect(json.match(/\b\d{12}\b/)?.[0]).toBeUndefined();
    expect(json).toContain('"Ref":"AWS::Region"');
  }, 60_000);

  it("cdk.json turns off version reporting, whose metadata condition lists every region's name", () => {
    expect(JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')).versionReporting).toBe(false);
  });

  it('context account / region pin it, and are checked', () => {
    const json = JSON.stringify(synth({ context: { region: 'eu-central-1' } }).template.toJSON());
    expect(json).toContain('eu-central-1');
    expect(readPinnedEnvironment(() => undefined)).toEqual({});
    expect(() => readPinnedEnvironment((k) => (k === 'region' ? 'europe' : undefined))).toThrow(/context "region"/);
    expect(() => readPinnedEnvironment((k) => (k === 'account' ? '12' : undefined))).toThrow(/context "account"/);
  }, 60_000);
});

type Json = unknown;
/** A name as CloudFormation would resolve it in `account` / `region`. */
const resolve = (value: Json, account: string, region: string): string => {
  if (typeof value === 'string') return value;
  const v = value as Record<string, Json>;
  if (v.Ref === 'AWS::Region') return region;
  if (v.Ref === 'AWS::AccountId') return account;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, Json[]];
    return parts.map((p) => resolve(p, account, region)).join(sep);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
};

/** Physical names the stack sets, with the scope in which each must be unique. */
const NAMED: ReadonlyArray<{ type: string; property: string; scope: 'account' | 'region' }> = [
  { type: 'AWS::CloudWatch::Dashboard', property: 'DashboardName', scope: 'account' },
  { type: 'AWS::CloudWatch::Alarm', property: 'AlarmName', scope: 'region' },
  { type: 'AWS::Cognito::UserPoolDomain', property: 'Domain', scope: 'region' },
  { type: 'AWS::KMS::Alias', property: 'AliasName', scope: 'region' },
];

describe('two regions and two stages in one account', () => {
  const account = '111122223333';
  const regions = ['eu-west-1', 'us-east-1'];
  const stages = ['dev', 'aws-cognito-test'];

  it('synthesize without a name that would collide, and Cognito gets no reserved word', () => {
    const seen = new Map<string, string>();
    for (const region of regions) {
      for (const stage of stages) {
        const s = synth({ context: { stage }, target: { account, region } });
        const resources = s.template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
        const where = `${region}/${stage}`;
        const names = [`stack ${region} ${s.stack.stackName}`];
        for (const { type, property, scope } of NAMED) {
          for (const r of Object.values(resources).filter((x) => x.Type === type)) {
            const name = resolve((r.Properties as Record<string, Json>)[property], account, region);
            names.push(`${type} ${scope === 'region' ? region : 'global'} ${name}`);
            if (type === 'AWS::Cognito::UserPoolDomain') {
              expect(name).toMatch(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
              for (const word of COGNITO_RESERVED_WORDS) expect(name).not.toContain(word);
            }
          }
        }
        expect(names.some((n) => n.startsWith('AWS::CloudWatch::Dashboard'))).toBe(true);
        for (const n of names) {
          expect({ name: n, also: seen.get(n) }).toEqual({ name: n, also: undefined });
          seen.set(n, where);
        }
      }
    }
  }, 240_000);

  it('a reserved word is spelled out of reach of Cognito, one character longer', () => {
    expect(cognitoSafe('aws-amazon-cognito')).toBe('a-ws-a-mazon-c-ognito');
    expect(cognitoSafe('awsaws')).toBe('a-wsa-ws');
    expect(cognitoSafe('staging')).toBe('staging');
  });
});

describe('the region in what the stack outputs and wires', () => {
  it('PUBLIC_BASE_URL and the dashboard link follow the deployment region', () => {
    const s = synth();
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: Json }>;
    expect(JSON.stringify(outputs.PublicBaseUrl?.Value)).toContain('AWS::Region');
    expect(JSON.stringify(outputs.DashboardUrl?.Value)).toContain('AWS::Region');
    expect(REGION_LITERAL.test(JSON.stringify(outputs))).toBe(false);
  }, 60_000);
});
