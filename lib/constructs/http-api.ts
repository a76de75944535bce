/**
 * The REST API: its resources and methods are generated from THE route table (`lambdas/routes.ts`),
 * which the local gateway also reads, so the deployed API and the local one cannot drift.
 *
 * Each route gets its own NodejsFunction (named by its `operation`) behind a Lambda proxy integration,
 * with IAM cut to its `access`: read routes may only GetItem/BatchGetItem/Query and presign image
 * downloads; write routes may also write items and start the build workflow. Routes with the same
 * grants share one execution role (`routeRoleKey`), and API Gateway invokes the functions with one
 * credentials role per dialect instead of one Lambda permission per method: two resources per route
 * fewer (docs/decisions/stack-size.md).
 *
 * Routes with `auth: 'caller'` sit behind ONE request authorizer (`lambdas/auth/authorizer.ts`, which
 * understands all three dialects' schemes). It has no identity sources and no cache: API Gateway
 * rejects a request missing any identity source with 401 *before* calling the authorizer, and the
 * schemes use different headers (`Authorization` for Signature, Basic and AK/SK, `X-Auth-Token` for
 * IMS tokens); a cache keyed on a header would replay a decision for a different signature or date.
 * Refusals (401/403) and integration timeouts (504) are gateway responses with a JSON body every
 * dialect's clients read.
 */
import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  AwsIntegration,
  type CfnAuthorizer,
  EndpointType,
  type IModel,
  type JsonSchema,
  JsonSchemaVersion,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RequestAuthorizer,
  type RequestValidator,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type Dialect, type Route, routes as ROUTES } from '../../lambdas/routes';
import type { Data } from './data';
import { AUTHORIZER_WRITTEN_KEY_PREFIXES } from '../../lambdas/adapters/dynamodb/table';
import type { QuotaLimits } from '../../lambdas/core/quota';
import { GATEWAY_RESPONSES, gatewayResponseTemplate, type GatewayResponseType } from '../gateway-responses';
import { createServiceFunction } from './service-function';
import { acknowledgeWildcards } from '../nag';
import { requestBodyModel } from '../../lambdas/openapi/request-models';

export const AUTHORIZER_ENTRY = 'auth/authorizer.ts';
export const STAGE_NAME = 'prod';

/**
 * The role key of a route's function: its grant set (access, storage, cancels), never its dialect or
 * path, so that routes share a role exactly when they need the same permissions.
 */
export function routeRoleKey(route: Pick<Route, 'access' | 'storage' | 'stopsBuilds'>): string {
  const storage = [...(route.storage ?? [])].sort().map((s) => s[0].toUpperCase() + s.slice(1));
  return ['Route', route.access === 'write' ? 'Write' : 'Read', ...storage, route.stopsBuilds ? 'StopsBuilds' : ''].join('');
}

export interface ServiceApiProps {
  data: Data;
  stateMachine: IStateMachine;
  /** The provisioning workflow (CreateMachine starts it). */
  provisionStateMachine?: IStateMachine;
  /** @default the route table */
  routes?: readonly Route[];
  /** Steady-state requests per second for the whole stage. @default 100 */
  throttlingRateLimit?: number;
  /** @default 200 */
  throttlingBurstLimit?: number;
  /** Operator settings the route functions read from their environment (lambdas/wiring.ts `config`). */
  settings?: RouteSettings;
}

export interface RouteSettings {
  quotas?: Partial<QuotaLimits>;
  copyWorkflowThresholdBytes?: number;
}

const QUOTA_VARIABLES: Record<keyof QuotaLimits, string> = {
  images: 'QUOTA_IMAGES',
  concurrentBuilds: 'QUOTA_CONCURRENT_BUILDS',
  machines: 'QUOTA_MACHINES',
  concurrentProvisions: 'QUOTA_CONCURRENT_PROVISIONS',
};

/** The environment variables that carry `settings`; a value that is not a positive integer is refused at synth. */
export function settingsEnvironment(settings: RouteSettings = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (name: string, key: string, v: number | undefined) => {
    if (v === undefined) return;
    if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`${key} must be a positive integer, not ${JSON.stringify(v)}`);
    out[name] = String(v);
  };
  for (const [key, v] of Object.entries(settings.quotas ?? {})) {
    const name = QUOTA_VARIABLES[key as keyof QuotaLimits];
    if (!name) throw new Error(`quotas.${key}: unknown quota (known: ${Object.keys(QUOTA_VARIABLES).join(', ')})`);
    put(name, `quotas.${key}`, v);
  }
  put('COPY_WORKFLOW_THRESHOLD_BYTES', 'copyWorkflowThresholdBytes', settings.copyWorkflowThresholdBytes);
  return out;
}

export class ServiceApi extends Construct {
  readonly restApi: RestApi;
  readonly authorizer: RequestAuthorizer;
  readonly authorizerFunction: NodejsFunction;
  /** Route handlers by operation. */
  readonly functions: Record<string, NodejsFunction> = {};
  /** The role API Gateway assumes to invoke each dialect's route functions. */
  readonly invokeRoles: Partial<Record<Dialect, Role>> = {};

  constructor(scope: Construct, id: string, props: ServiceApiProps) {
    super(scope, id);
    const { data, stateMachine } = props;
    const routes = props.routes ?? ROUTES;

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.restApi = new RestApi(this, 'RestApi', {
      description: 'Machine images: Triton CloudAPI, Huawei IMS and UForge dialects',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      // Access logging needs API Gateway's account-level CloudWatch role.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: STAGE_NAME,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        throttlingRateLimit: props.throttlingRateLimit ?? 100,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 200,
        metricsEnabled: true,
        // Execution logs for errors only, never request or response bodies (they carry credentials).
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        tracingEnabled: true,
      },
    });
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'The BodyValidator validates request bodies where API Gateway can refuse one with the answer the handler gives (Triton JSON bodies that are not JSON: lambdas/openapi/request-models.ts); everything else — body fields, and request parameters, none of which is required (path parameters are matched by routing, query parameters are optional) — is validated by the handlers’ zod schemas, which answer in the dialect’s own error shape (Triton {code,message,errors}, IMS IMG.xxxx, UForge uforgeError), a shape no gateway response can write per dialect.',
    });
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Applies to every method of this API: callers are Triton, IMS and UForge clients signing with their own schemes (HTTP Signature, Basic, X-Auth-Token, AK/SK), which a Cognito user pool cannot verify; the request authorizer (lambdas/auth/authorizer.ts) does.',
    });
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason: 'The account-level role API Gateway uses to write access and execution logs: AWS’s own policy for exactly that role.',
    });
    Validations.of(this.restApi.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'No WAF by default (a web ACL costs per rule and request): the stage throttles, and password guessing is locked out per source and login (lambdas/auth/basic.ts). Associate a web ACL in the account if policy requires one.',
    });

    this.authorizerFunction = createServiceFunction(this, 'Authorizer', {
      entry: AUTHORIZER_ENTRY,
      roleKey: 'Authorizer',
      invocation: 'sync',
      description: 'Request authorizer: HTTP Signature, HTTP Basic, X-Auth-Token, Huawei AK/SK',
      environment: data.environment,
      // scrypt at N=2^17, r=8 holds 128 MiB and is CPU-bound: Lambda's CPU grows with memory (docs/decisions/credential-lifecycle.md).
      memorySize: 1024,
    });
    // It reads items by key, and writes only password-attempt counters and upgraded password hashes (lambdas/auth/basic.ts).
    data.grantItemsGet(this.authorizerFunction);
    data.grantItemsUpdateWhereKeyStartsWith(this.authorizerFunction, AUTHORIZER_WRITTEN_KEY_PREFIXES);
    // A refused or timed-out caller gets a JSON body every dialect's clients can read (lib/gateway-responses.ts).
    for (const type of Object.keys(GATEWAY_RESPONSES) as GatewayResponseType[]) {
      this.restApi.addGatewayResponse(`${type}Response`, {
        type: ResponseType[type],
        ...(GATEWAY_RESPONSES[type].status !== undefined && { statusCode: String(GATEWAY_RESPONSES[type].status) }),
        responseHeaders: { 'Content-Type': "'application/json'" },
        templates: { 'application/json': gatewayResponseTemplate(type) },
      });
    }
    this.authorizer = new RequestAuthorizer(this, 'CallerAuthorizer', {
      handler: this.authorizerFunction,
      identitySources: [],
      resultsCacheTtl: Duration.seconds(0),
    });
    // CDK writes `IdentitySource: ""` for an empty list; the property is optional without caching.
    (this.authorizer.node.defaultChild as CfnAuthorizer).addPropertyDeletionOverride('IdentitySource');

    // Request bodies: a model where API Gateway can refuse a body with the very answer the handler
    // gives (lambdas/openapi/request-models.ts); a refusal is the BAD_REQUEST_BODY gateway response.
    let bodyValidator: RequestValidator | undefined;
    const bodyModel = (operation: string): IModel | undefined => {
      const schema = requestBodyModel(operation);
      if (!schema) return undefined;
      const { title, $schema: _draft4, ...rest } = schema;
      bodyValidator ??= this.restApi.addRequestValidator('BodyValidator', { validateRequestBody: true, validateRequestParameters: false });
      return this.restApi.addModel(`${operation}Model`, {
        modelName: String(title),
        contentType: 'application/json',
        schema: { schema: JsonSchemaVersion.DRAFT4, title: String(title), ...rest } as JsonSchema,
      });
    };

    for (const route of routes) {
      if (this.functions[route.operation]) throw new Error(`duplicate operation in the route table: ${route.operation}`);
      const fn = createServiceFunction(this, route.operation, {
        entry: route.entry,
        roleKey: routeRoleKey(route),
        invocation: 'sync',
        description: `${route.dialect} ${route.method} ${route.path}`,
        environment: {
          ...data.environment,
          ...settingsEnvironment(props.settings),
          STATE_MACHINE_ARN: stateMachine.stateMachineArn,
          ...(props.provisionStateMachine &&
            route.access === 'write' && { PROVISION_STATE_MACHINE_ARN: props.provisionStateMachine.stateMachineArn }),
        },
      });
      if (route.access === 'write') {
        data.grantItemsReadWrite(fn);
        stateMachine.grantStartExecution(fn);
        // Cancel (a job's cancel action, DeleteImage of a `creating` image) stops the build's execution.
        stateMachine.grantExecution(fn, 'states:StopExecution');
        props.provisionStateMachine?.grantStartExecution(fn);
      } else {
        data.grantItemsRead(fn);
      }
      data.grantImageFilesPresign(fn);
      if (route.storage?.includes('images')) data.grantImageFilesWrite(fn);
      if (route.storage?.includes('disks')) data.grantDisksWrite(fn);
      if (route.stopsBuilds) stateMachine.grantExecution(fn, 'states:StopExecution');
      if (route.access === 'write' || route.stopsBuilds) {
        const machine = Stack.of(this).getLogicalId(stateMachine.node.defaultChild as CfnElement);
        acknowledgeWildcards(
          fn.role!,
          [
            `Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machine}"}]}]}:*`,
          ],
          'StopExecution on the executions of the build state machine only (cancels); execution names are made per build.',
        );
      }
      this.functions[route.operation] = fn;

      // A Lambda proxy integration that API Gateway calls with its dialect's credentials role (same
      // wire as LambdaIntegration, which would add an AWS::Lambda::Permission per method instead).
      const invokeRole = this.invokeRole(route.dialect);
      invokeRole.addToPrincipalPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
      const integration = new AwsIntegration({
        proxy: true,
        service: 'lambda',
        path: `2015-03-31/functions/${fn.functionArn}/invocations`,
        options: { credentialsRole: invokeRole },
      });
      const model = bodyModel(route.operation);
      const method = this.restApi.root.resourceForPath(route.path).addMethod(route.method, integration, {
        operationName: route.operation,
        ...(model && { requestValidator: bodyValidator, requestModels: { 'application/json': model } }),
        ...(route.auth === 'caller'
          ? { authorizer: this.authorizer, authorizationType: AuthorizationType.CUSTOM }
          : { authorizationType: AuthorizationType.NONE }),
      });
      if (route.auth === 'none') {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            route.operation === 'Ping'
              ? 'The health check answers without credentials and reads nothing.'
              : 'The handler authenticates itself: a one-use download key in the query, or the same schemes as the authorizer (lambdas/dialects/uforge/handlers/download-image.ts).',
        });
      }
    }
  }

  private invokeRole(dialect: Dialect): Role {
    const id = `Invoke${dialect[0].toUpperCase()}${dialect.slice(1)}Routes`;
    const existing = this.invokeRoles[dialect];
    if (existing) return existing;
    const role = new Role(this, id, {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      description: `API Gateway invokes the ${dialect} route functions`,
    });
    this.invokeRoles[dialect] = role;
    return role;
  }
}
