/**
 * Lambda refuses a function whose environment variables take more than 4 KB (measured as the JSON of the
 * variables), at deploy time, after a green synth: the stack estimates each function's environment here and
 * refuses at synth what the deploy would refuse (lib/notion-link-preview-stack.ts).
 *
 * Values known at synth count as they are. A value known only at deploy (a table name, a queue URL, a secret
 * or key ARN, the API's URL, Cognito's issuer) counts as the longest value of its kind: names CloudFormation
 * generates are `<stack>-<logical id>-<random>`, regions and partitions as long as any, so the estimate is
 * an upper bound and the deploy never gets a larger environment than the one checked.
 */
import { CfnResource, type Stack, Token } from 'aws-cdk-lib';

/** Lambda's limit on a function's environment variables, in bytes of their JSON. */
export const LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096;

/** The longest value of each pseudo parameter (regions such as `ap-southeast-7`, `us-isob-east-1`). */
const PSEUDO: Readonly<Record<string, number>> = {
  'AWS::Region': 16,
  'AWS::AccountId': 12,
  'AWS::Partition': 13,
  'AWS::URLSuffix': 16,
};
/** A reference of an unknown kind. */
const UNKNOWN = 256;
/** CloudFormation's random suffix of a generated name (with its hyphen). */
const SUFFIX = 14;

type Intrinsic = string | number | boolean | null | readonly Intrinsic[] | { readonly [key: string]: Intrinsic };

/** An upper bound of the length of the value a reference resolves to, by the type of the resource it names. */
const referenceBound = (stack: Stack, type: string | undefined, logicalId: string, attribute?: string): number => {
  const region = PSEUDO['AWS::Region'] as number;
  const account = PSEUDO['AWS::AccountId'] as number;
  const arn = (service: string, resource: number): number =>
    'arn:'.length + (PSEUDO['AWS::Partition'] as number) + service.length + 2 + region + 1 + account + 1 + resource;
  const generatedName = (max: number): number =>
    Math.min(max, (Token.isUnresolved(stack.stackName) ? 128 : stack.stackName.length) + 1 + logicalId.length + SUFFIX);
  const queueName = generatedName(80);
  switch (`${type} ${attribute ?? 'Ref'}`) {
    case 'AWS::DynamoDB::Table Ref':
      return generatedName(255);
    case 'AWS::SQS::Queue Ref':
      return 'https://sqs.'.length + region + 1 + (PSEUDO['AWS::URLSuffix'] as number) + 1 + account + 1 + queueName;
    case 'AWS::SQS::Queue Arn':
      return arn('sqs', queueName);
    case 'AWS::SecretsManager::Secret Ref':
      // arn:…:secret:<generated name>-<6 random characters>
      return arn('secretsmanager', 'secret:'.length + logicalId.length + SUFFIX + 7);
    case 'AWS::KMS::Key Ref':
      return 36;
    case 'AWS::KMS::Key Arn':
      return arn('kms', 'key/'.length + 36);
    case 'AWS::ApiGatewayV2::Api Ref':
      return 10;
    case 'AWS::Cognito::UserPool Ref':
      return region + 1 + 9;
    case 'AWS::Cognito::UserPool ProviderURL':
      return 'https://cognito-idp.'.length + region + 1 + (PSEUDO['AWS::URLSuffix'] as number) + 1 + region + 1 + 9;
    case 'AWS::Cognito::UserPoolClient Ref':
      return 128;
    default:
      return UNKNOWN;
  }
};

/** An upper bound of the length of a resolved CloudFormation value. */
const boundOf = (stack: Stack, types: ReadonlyMap<string, string>, value: Intrinsic): number => {
  if (typeof value === 'string') return value.length;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).length;
  if (value === null || Array.isArray(value)) return UNKNOWN;
  const object = value as { readonly [key: string]: Intrinsic };
  const ref = object.Ref;
  if (typeof ref === 'string') return PSEUDO[ref] ?? referenceBound(stack, types.get(ref), ref);
  const getAtt = object['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && typeof getAtt[1] === 'string') {
    return referenceBound(stack, types.get(getAtt[0]), getAtt[0], getAtt[1]);
  }
  const join = object['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    const parts = join[1] as readonly Intrinsic[];
    return (
      parts.reduce<number>((sum, part) => sum + boundOf(stack, types, part), 0) + join[0].length * (parts.length - 1)
    );
  }
  return UNKNOWN;
};

export interface EnvironmentSize {
  /** Upper bound of the JSON of the variables, in bytes. */
  readonly bytes: number;
  /** Each variable's share (its name, value and JSON punctuation), largest first. */
  readonly variables: readonly { readonly name: string; readonly bytes: number }[];
}

/** An upper bound of the size Lambda measures for these variables (the JSON of the name → value map). */
export const environmentSize = (stack: Stack, variables: Readonly<Record<string, string>>): EnvironmentSize => {
  const types = new Map<string, string>();
  for (const construct of stack.node.findAll()) {
    if (CfnResource.isCfnResource(construct)) types.set(stack.resolve(construct.logicalId), construct.cfnResourceType);
  }
  // A value known at deploy becomes a stand-in of its longest length; the JSON is then measured as Lambda does.
  const standIns = Object.fromEntries(
    Object.entries(variables).map(([name, value]) => [
      name,
      Token.isUnresolved(value) ? 'x'.repeat(boundOf(stack, types, stack.resolve(value) as Intrinsic)) : value,
    ]),
  );
  const bytes = Buffer.byteLength(JSON.stringify(standIns));
  const shares = Object.entries(standIns)
    .map(([name, value]) => ({ name, bytes: Buffer.byteLength(JSON.stringify({ [name]: value })) - 1 }))
    .sort((a, b) => b.bytes - a.bytes);
  return { bytes, variables: shares };
};
