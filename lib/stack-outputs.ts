/**
 * Names of the stack outputs (CloudFormation output keys). Scripts that read a
 * deployed stack (e.g. the dashboard printer) import these instead of spelling
 * the keys, and the infra tests assert that each one exists.
 */
export const OUTPUTS = {
  stage: 'Stage',
  publicBaseUrl: 'PublicBaseUrl',
  apiEndpoint: 'ApiEndpoint',
  customDomainTarget: 'CustomDomainTarget',

  // Values for Notion's integration dashboard (External Authorization Setup and callbacks).
  authorizeUrl: 'NotionAuthorizeUrl',
  tokenUrl: 'NotionTokenUrl',
  oauthClientId: 'NotionOAuthClientId',
  oauthClientSecretArn: 'NotionOAuthClientSecretArn',
  oauthClientSecretCommand: 'NotionOAuthClientSecretCommand',
  unfurlUrl: 'NotionUnfurlCallbackUrl',
  deletedTokenUrl: 'NotionDeletedTokenCallbackUrl',

  // Other endpoints.
  changesUrl: 'ChangesWebhookUrl',
  metadataUrl: 'AuthorizationServerMetadataUrl',
  jwksUrl: 'ServiceAssertionJwksUrl',
  oauthCallbackUrl: 'OAuthCallbackUrl',

  // Where secrets and keys live.
  notionCredentialsSecretArn: 'NotionCredentialsSecretArn',
  changesWebhookSecretArn: 'ChangesWebhookSecretArn',
  tokenSigningKeySecretArn: 'TokenSigningKeySecretArn',
  notionTokenKeyArn: 'NotionTokenKeyArn',

  // Upstream login.
  oidcIssuer: 'OidcIssuer',
  oidcClientId: 'OidcClientId',
  oidcClientSecretArn: 'OidcClientSecretArn',
  cognitoUserPoolId: 'CognitoUserPoolId',
  cognitoLoginUrl: 'CognitoLoginBaseUrl',

  // Data and queues.
  connectionsTable: 'ConnectionsTableName',
  authStateTable: 'AuthStateTableName',
  subscriptionsTable: 'SubscriptionsTableName',
  rateLimitsTable: 'RateLimitsTableName',
  deliveryLogTable: 'DeliveryLogTableName',
  dashboardUrl: 'DashboardUrl',
  updateQueueUrl: 'UpdateQueueUrl',
  updateQueueName: 'UpdateQueueName',
  deadLetterQueueUrl: 'UpdateDeadLetterQueueUrl',
  deadLetterQueueName: 'UpdateDeadLetterQueueName',
} as const;

export type OutputKey = (typeof OUTPUTS)[keyof typeof OUTPUTS];

/** Output key of each table, by the table definition's id in lib/data-model.ts. */
export const TABLE_OUTPUTS: Readonly<Record<string, OutputKey>> = {
  Connections: OUTPUTS.connectionsTable,
  AuthState: OUTPUTS.authStateTable,
  Subscriptions: OUTPUTS.subscriptionsTable,
  RateLimits: OUTPUTS.rateLimitsTable,
  DeliveryLog: OUTPUTS.deliveryLogTable,
};
