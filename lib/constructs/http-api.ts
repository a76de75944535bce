/**
 * The REST API: its resources and methods are generated from THE route table (`lambdas/routes.ts`),
 * which the local gateway also reads, so the deployed API and the local one cannot drift.
 *
 * Each route gets its own NodejsFunction (named by its `operation`) behind a Lambda proxy integration,
 * with IAM cut to its `access`: read routes may only GetItem/BatchGetItem/Query and presign image
 * downloads; write routes may also write items and start the build workflow.
 *
 * Routes with `auth: 'caller'` sit behind ONE request authorizer (`lambdas/auth/authorizer.ts`, which
 * understands all three dialects' schemes). It has no identity sources and no cache: API Gateway
 * rejects a request missing any identity source with 401 *before* calling the authorizer, and the
 * schemes use different headers (`Authorization` for Signature, Basic and AK/SK, `X-Auth-Token` for
 * IMS tokens); a cache keyed on a header would replay a decision for a different signature or date.
 * Refusals (401/403) and integration timeouts (504) are gateway responses with a JSON body every
 * dialect's clients read.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  type CfnAuthorizer,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  RequestAuthorizer,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type Route, routes as ROUTES } from '../../lambdas/routes';
import type { Data } from './data';
import { AUTHORIZER_WRITTEN_KEY_PREFIXES } from '../../lambdas/adapters/dynamodb/table';
import { GATEWAY_RESPONSES, gatewayResponseTemplate, type GatewayResponseType } from '../gateway-responses';
import { createServiceFunction } from './service-function';

export const AUTHORIZER_ENTRY = 'auth/authorizer.ts';
export const STAGE_NAME = 'prod';

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
}

export class ServiceApi extends Construct {
  readonly restApi: RestApi;
  readonly authorizer: RequestAuthorizer;
  readonly authorizerFunction: NodejsFunction;
  /** Route handlers by operation. */
  readonly functions: Record<string, NodejsFunction> = {};

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
      },
    });

    this.authorizerFunction = createServiceFunction(this, 'Authorizer', {
      entry: AUTHORIZER_ENTRY,
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

    for (const route of routes) {
      if (this.functions[route.operation]) throw new Error(`duplicate operation in the route table: ${route.operation}`);
      const fn = createServiceFunction(this, route.operation, {
        entry: route.entry,
        description: `${route.dialect} ${route.method} ${route.path}`,
        environment: {
          ...data.environment,
          STATE_MACHINE_ARN: stateMachine.stateMachineArn,
          ...(props.provisionStateMachine && route.access === 'write' && { PROVISION_STATE_MACHINE_ARN: props.provisionStateMachine.stateMachineArn }),
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
      this.functions[route.operation] = fn;

      this.restApi.root
        .resourceForPath(route.path)
        .addMethod(route.method, new LambdaIntegration(fn, { proxy: true, allowTestInvoke: false }), {
          operationName: route.operation,
          ...(route.auth === 'caller'
            ? { authorizer: this.authorizer, authorizationType: AuthorizationType.CUSTOM }
            : { authorizationType: AuthorizationType.NONE }),
        });
    }
  }
}
