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
 * rejects a request missing any identity source with 401 *before* calling the authorizer, which would
 * break the anonymous fallback (a caller without credentials still sees public images), and a cache
 * keyed on a header would replay a decision for a different signature or date.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  CfnAuthorizer,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  RequestAuthorizer,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { Route, routes as ROUTES } from '../../lambdas/routes';
import { Data } from './data';
import { createServiceFunction } from './service-function';

export const AUTHORIZER_ENTRY = 'auth/authorizer.ts';
export const STAGE_NAME = 'prod';

export interface ServiceApiProps {
  data: Data;
  stateMachine: IStateMachine;
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
      description: 'Request authorizer: HTTP Signature, X-Auth-Token, HTTP Basic, or anonymous',
      environment: data.environment,
    });
    data.grantItemsRead(this.authorizerFunction);
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
        environment: { ...data.environment, STATE_MACHINE_ARN: stateMachine.stateMachineArn },
      });
      if (route.access === 'write') {
        data.grantItemsReadWrite(fn);
        stateMachine.grantStartExecution(fn);
      } else {
        data.grantItemsRead(fn);
      }
      data.grantImageFilesPresign(fn);
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
