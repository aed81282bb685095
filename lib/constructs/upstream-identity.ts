/**
 * The upstream OpenID Connect provider users log in with before they consent.
 *
 * By default the stack creates a Cognito user pool, its hosted login domain and a
 * confidential app client whose callback is our `/oauth/callback`; the client's
 * secret is copied into a Secrets Manager secret so the authorize function reads
 * it exactly as it would read an external provider's secret. Given an external
 * issuer through context, no Cognito resource is created and the function gets
 * that issuer, client id and the ARN of the secret holding its client secret.
 */
import { Aws, Fn, RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import {
  AccountRecovery,
  type CfnUserPoolClient,
  FeaturePlan,
  Mfa,
  OAuthScope,
  UserPool,
  type UserPoolClient,
  UserPoolClientIdentityProvider,
  type UserPoolDomain,
} from 'aws-cdk-lib/aws-cognito';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ExternalOidcSettings } from '../stage-config.js';
import type { SecretRef } from './node-function.js';

export interface UpstreamIdentityProps {
  readonly stage: string;
  /** Our `/oauth/callback` URL, registered with the Cognito app client. */
  readonly callbackUrl: string;
  readonly removalPolicy: RemovalPolicy;
  /** Use this issuer instead of creating a Cognito user pool. */
  readonly external?: ExternalOidcSettings;
  readonly cognitoDomainPrefix?: string;
}

export interface CognitoResources {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  readonly domain: UserPoolDomain;
  /** Base URL of the hosted login pages. */
  readonly loginBaseUrl: string;
}

/** The OIDC scopes requested upstream: identity only. */
export const UPSTREAM_SCOPES = ['openid', 'email', 'profile'] as const;

/** Words Cognito refuses in a domain prefix. */
export const COGNITO_RESERVED_WORDS = ['aws', 'amazon', 'cognito'] as const;

/**
 * A stage name as it may appear in a Cognito domain prefix: a hyphen after the first letter of each reserved
 * word (`aws` → `a-ws`), one character more per word, so the prefix stays within Cognito's 63.
 */
export const cognitoSafe = (stage: string): string =>
  stage.replace(new RegExp(COGNITO_RESERVED_WORDS.join('|'), 'g'), (word) => `${word.charAt(0)}-${word.slice(1)}`);

export class UpstreamIdentity extends Construct {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: SecretRef;
  /** Set when the stack provides the provider (the default). */
  readonly cognito?: CognitoResources;

  constructor(scope: Construct, id: string, props: UpstreamIdentityProps) {
    super(scope, id);

    if (props.external) {
      this.issuer = props.external.issuer;
      this.clientId = props.external.clientId;
      // Complete or partial ARN: the grant covers both forms (see NodeFunction.bindSecret).
      this.clientSecret = { secretArn: props.external.clientSecretArn };
      return;
    }

    const userPool = new UserPool(this, 'UserPool', {
      // Accounts are created by an administrator: this pool only gates who may connect Notion.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true }, fullname: { required: false, mutable: true } },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
      },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      featurePlan: FeaturePlan.ESSENTIALS,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy: props.removalPolicy,
    });
    Validations.of(userPool).acknowledge({
      id: 'AwsSolutions::AwsSolutions-COG8',
      reason:
        'The Plus feature plan (threat protection) is billed per monthly active user; the default pool is a starting point with admin-created users, required TOTP MFA and a 12-character password policy. Teams that need adaptive authentication enable Plus or bring their own issuer (oidcIssuer context).',
    });

    // Unique per region (the domain is <prefix>.auth.<region>.amazoncognito.com), account and stage.
    const domainPrefix =
      props.cognitoDomainPrefix ?? Fn.join('-', ['notion-link-preview', cognitoSafe(props.stage), Aws.ACCOUNT_ID]);
    const domain = userPool.addDomain('LoginDomain', { cognitoDomain: { domainPrefix } });

    const client = userPool.addClient('NotionLinkPreviewClient', {
      generateSecret: true,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: [props.callbackUrl],
      },
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
    });

    // CloudFormation returns the generated client secret as an attribute: no custom resource needed.
    const cfnClient = client.node.defaultChild as CfnUserPoolClient;
    const clientSecret = new Secret(this, 'ClientSecret', {
      description: 'Client secret of the Cognito app client used as the upstream OIDC login',
      secretStringValue: SecretValue.resourceAttribute(cfnClient.attrClientSecret),
      removalPolicy: props.removalPolicy,
    });
    Validations.of(clientSecret).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SMG4',
      reason:
        'This secret mirrors the Cognito app client secret, which Cognito generates and CloudFormation owns; it changes only when the app client is replaced, and the stack then rewrites this secret.',
    });

    this.issuer = userPool.userPoolProviderUrl;
    this.clientId = client.userPoolClientId;
    this.clientSecret = clientSecret;
    this.cognito = { userPool, client, domain, loginBaseUrl: domain.baseUrl() };
  }
}
