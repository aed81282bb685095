/**
 * The public HTTP API (API Gateway v2): every route of `ROUTES` in
 * `lib/routes.ts` goes to the Lambda function of its handler, through one Lambda
 * integration per function (payload format 2.0). The `$default` stage is
 * throttled and writes JSON access logs that carry no query string and no body,
 * so no OAuth code, state or token reaches the logs.
 */
import { CfnRule, Fn, type RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  DomainName,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AaaaRecord, ARecord, HostedZone, RecordTarget } from 'aws-cdk-lib/aws-route53';
import { ApiGatewayv2DomainProperties } from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { type HttpHandlerName, ROUTES, routeKey, THROTTLE_CLASSES, type ThrottleClass } from '../routes.js';
import { type CustomDomainSettings, StageConfigError } from '../stage-config.js';

export interface ServiceApiProps {
  readonly stage: string;
  /** The stage's default throttle, and that of Notion's routes (`notion` in lib/routes.ts). */
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  readonly customDomain?: CustomDomainSettings;
}

/** Fields of each access-log line (HTTP API context variables; deliberately no query string). */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
} as const;

/**
 * How the routes of each class (who calls them: lib/routes.ts) prove their caller without an API Gateway
 * authorizer: none of these callers holds AWS credentials or a Cognito token, so each route checks its caller in
 * its handler. Typed by class, so a new class cannot be added without saying how its routes authenticate.
 */
export const ROUTE_AUTHENTICATION: Readonly<Record<ThrottleClass, string>> = {
  notion:
    "Notion's servers: the token endpoint authenticates our client secret (constant time), the unfurl callbacks verify our bearer access token against its connection, the deleted-token callback matches a token of ours to its connection and answers alike whatever it gets",
  browser:
    "a person's browser in the OAuth round-trip: authorize accepts only our client id and Notion's registered redirect URIs, the callback only the state and code of a pending upstream login (PKCE, nonce), consent only that pending login's session with its CSRF token",
  changes:
    "the product's servers: every change event carries a Standard Webhooks HMAC signature over a timestamp within five minutes, and each webhook-id is accepted once",
  revoke: 'Notion revoking a token (RFC 7009): our client secret is authenticated before anything else',
  public:
    'public documents by design: the RFC 8414 authorization-server metadata and the JWK Set of the service-assertion public keys',
};

/** The APIG4 acknowledgement's reason: every route, by class, with how its handler authenticates the caller. */
export const apiAuthorizationReason = (): string => {
  const classes = [...new Set(ROUTES.map((r) => r.throttle))];
  const parts = classes.map(
    (c) =>
      `${ROUTES.filter((r) => r.throttle === c)
        .map(routeKey)
        .join(', ')}: ${ROUTE_AUTHENTICATION[c]}`,
  );
  return `No route has an API Gateway authorizer because no caller holds AWS credentials or a Cognito token; each handler authenticates its caller. ${parts.join('. ')}.`;
};

export class ServiceApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  readonly domainName?: DomainName;
  /**
   * Base URL of the service without a trailing slash. Built from the API id and
   * region (or the custom domain), never from a route or integration, so
   * functions can receive it without a dependency cycle.
   */
  readonly baseUrl: string;
  private readonly props: ServiceApiProps;

  constructor(scope: Construct, id: string, props: ServiceApiProps) {
    super(scope, id);
    this.props = props;
    const domain = props.customDomain;
    this.api = new HttpApi(this, 'Api', {
      description: `Notion Link Preview service (${props.stage})`,
      createDefaultStage: false,
      // With a custom domain, the issuer and every URL Notion holds are on it: one way in.
      ...(domain && !domain.keepExecuteApiEndpoint ? { disableExecuteApiEndpoint: true } : {}),
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    if (domain) {
      // API Gateway takes a regional certificate from the API's own region only.
      const region = Stack.of(this).region;
      if (!Token.isUnresolved(region) && region !== domain.certificateRegion) {
        throw new StageConfigError(
          `context "certificateArn": the certificate is in ${domain.certificateRegion}, the stack in ${region}; request or import it in ${region}`,
        );
      }
      if (Token.isUnresolved(region)) {
        // Environment-agnostic: CloudFormation checks it before creating anything.
        new CfnRule(this, 'CertificateInStackRegion', {
          assertions: [
            {
              assert: Fn.conditionEquals(region, domain.certificateRegion),
              assertDescription: `certificateArn is in ${domain.certificateRegion}: deploy this stack there, or use a certificate of the stack's region`,
            },
          ],
        });
      }
      this.domainName = new DomainName(this, 'DomainName', {
        domainName: domain.domainName,
        certificate: Certificate.fromCertificateArn(this, 'Certificate', domain.certificateArn),
      });
      if (domain.hostedZone) {
        const zone = HostedZone.fromHostedZoneAttributes(this, 'Zone', {
          hostedZoneId: domain.hostedZone.id,
          zoneName: domain.hostedZone.name,
        });
        const target = RecordTarget.fromAlias(
          new ApiGatewayv2DomainProperties(this.domainName.regionalDomainName, this.domainName.regionalHostedZoneId),
        );
        const recordName = domain.domainName;
        new ARecord(this, 'AliasA', { zone, recordName, target });
        new AaaaRecord(this, 'AliasAaaa', { zone, recordName, target });
      }
    }

    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      // Route-level 4xx / 5xx / Latency metrics (dimensions ApiId, Stage, Method, Resource) for the dashboard.
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
      ...(this.domainName ? { domainMapping: { domainName: this.domainName } } : {}),
    });

    this.baseUrl = props.customDomain
      ? `https://${props.customDomain.domainName}`
      : Fn.join('', [
          'https://',
          this.api.apiId,
          '.execute-api.',
          Stack.of(this).region,
          '.',
          Stack.of(this).urlSuffix,
        ]);
  }

  /** The throttle of a class of routes: Notion's take the configured limits, the others those of lib/routes.ts. */
  throttleOf(throttle: ThrottleClass): { readonly rateLimit: number; readonly burstLimit: number } {
    return throttle === 'notion'
      ? { rateLimit: this.props.rateLimit, burstLimit: this.props.burstLimit }
      : THROTTLE_CLASSES[throttle];
  }

  /**
   * Adds every route of `ROUTES`, each to the function of its handler, each with the throttle of its class as
   * its own route setting (its own token bucket: a flood of one route does not take another's capacity).
   */
  addServiceRoutes(functions: Readonly<Record<HttpHandlerName, IFunction>>): void {
    const integrations = new Map<HttpHandlerName, HttpLambdaIntegration>();
    // RouteSettings is plain JSON in the CloudFormation schema (no property mapping): its keys are spelled as
    // CloudFormation spells them.
    const settings: Record<
      string,
      { ThrottlingRateLimit: number; ThrottlingBurstLimit: number; DetailedMetricsEnabled: boolean }
    > = {};
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    for (const route of ROUTES) {
      let integration = integrations.get(route.handler);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${route.handler}-integration`, functions[route.handler]);
        integrations.set(route.handler, integration);
      }
      const [added] = this.api.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration });
      // Route settings name existing routes: the stage is updated after them.
      if (added) cfnStage.node.addDependency(added);
      const { rateLimit, burstLimit } = this.throttleOf(route.throttle);
      // A route's settings replace the stage's default ones for that route (a field left out is API Gateway's
      // default, not the stage's): the route-level metrics of the dashboard are turned on here, per route.
      settings[routeKey(route)] = {
        ThrottlingRateLimit: rateLimit,
        ThrottlingBurstLimit: burstLimit,
        DetailedMetricsEnabled: true,
      };
    }
    cfnStage.routeSettings = settings;
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG4',
      reason: apiAuthorizationReason(),
    });
  }
}
