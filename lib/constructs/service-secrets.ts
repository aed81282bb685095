/**
 * Secrets and the key the service holds in AWS:
 * - our OAuth client secret (what Notion presents to the token endpoint),
 * - the Notion integration's credentials, `{"clientId","clientSecret"}`, filled in by the operator,
 * - the seed of the key that signs our access tokens,
 * - the secret of the signed change webhook,
 * - a customer-managed KMS key (rotation on) that envelope-encrypts stored Notion tokens.
 *
 * Values never appear in the template or in function configuration: functions
 * receive ARNs and read values at cold start with `secretsmanager:GetSecretValue`.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface ServiceSecretsProps {
  readonly stage: string;
  readonly removalPolicy: RemovalPolicy;
}

import { NOTION_CLIENT_ID_PLACEHOLDER } from '../placeholders.js';

export { NOTION_CLIENT_ID_PLACEHOLDER };

export class ServiceSecrets extends Construct {
  readonly oauthClientSecret: Secret;
  readonly notionCredentials: Secret;
  readonly tokenSigningKey: Secret;
  readonly changesWebhookSecret: Secret;
  /** Shared with the product behind the `demo` / `example` source adapters (signs per-user service assertions). */
  readonly notionTokenKey: Key;

  constructor(scope: Construct, id: string, props: ServiceSecretsProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy;

    this.oauthClientSecret = new Secret(this, 'OAuthClientSecret', {
      description: 'Client secret Notion presents to our token endpoint (typed into the Notion integration dashboard)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy,
    });
    Validations.of(this.oauthClientSecret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'Notion holds a copy of this client secret in its integration dashboard; it can only be rotated by hand together with that dashboard (runbook: rotating the client secret), so an automatic rotation Lambda would break the integration.',
    });

    this.notionCredentials = new Secret(this, 'NotionCredentials', {
      description:
        'Notion integration OAuth credentials as {"clientId","clientSecret"}; store the values from Notion here',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ clientId: NOTION_CLIENT_ID_PLACEHOLDER }),
        generateStringKey: 'clientSecret',
        excludePunctuation: true,
      },
      removalPolicy,
    });
    Validations.of(this.notionCredentials).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'These credentials are issued by Notion for our integration; only Notion can rotate them, after which the operator stores the new pair (runbook), so Secrets Manager cannot rotate them.',
    });

    this.tokenSigningKey = new Secret(this, 'TokenSigningKey', {
      description:
        'Seed of the key that signs our access tokens (rotated by the runbook procedure, old kid kept for one token lifetime)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy,
    });
    Validations.of(this.tokenSigningKey).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'Rotating the signing key invalidates every outstanding access token unless the previous key is kept for one token lifetime; rotation is therefore a deliberate runbook step, not a scheduled Lambda.',
    });

    this.changesWebhookSecret = new Secret(this, 'ChangesWebhookSecret', {
      description:
        'Standard Webhooks signing secret for POST /changes (base64 alphabet; shared with the product that emits changes)',
      // 64 characters from the base64 alphabet decode to a 48-byte HMAC key.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy,
    });
    Validations.of(this.changesWebhookSecret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'The product that signs change events holds a copy of this secret; rotating it must be coordinated with that product (runbook), so it is not rotated automatically.',
    });

    this.notionTokenKey = new Key(this, 'NotionTokenKey', {
      description: 'Envelope encryption of the Notion access tokens stored in the connections table',
      alias: `alias/notion-link-preview/${props.stage}/notion-tokens`,
      enableKeyRotation: true,
      removalPolicy,
      ...(removalPolicy === RemovalPolicy.DESTROY ? { pendingWindow: Duration.days(7) } : {}),
    });
  }
}
