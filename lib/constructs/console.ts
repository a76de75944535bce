/**
 * The web console, deployed: its static build in a private S3 bucket behind CloudFront, with the REST
 * API as a second origin of the same distribution, so the browser sees one origin (no CORS, and the
 * session token never crosses origins).
 *
 *   https://<distribution>/console/*  → S3 (Origin Access Control; the bucket is never public)
 *   https://<distribution>/*          → API Gateway stage (no caching; every method, header and query
 *                                       string forwarded except Host, which API Gateway needs its own)
 *
 * The console's responses carry the same security headers and CSP as the local stack's
 * (lib/console-policy.ts), plus HSTS. A CloudFront Function maps `/console` and `/console/` to
 * `/console/index.html` (S3 has no directory index behind OAC). The files are built from `console/`
 * at synth time with local bundling (Vite; no Docker) and copied by a BucketDeployment, which also
 * invalidates the distribution's cache for them.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { type CfnElement, CfnOutput, DockerImage, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as CfFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginRequestPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { RestApiOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { CONSOLE_CSP, CONSOLE_HEADERS, CONSOLE_HSTS_SECONDS, CONSOLE_PATH } from '../console-policy';
import { REPO_ROOT } from '../paths';

export const CONSOLE_SOURCE_DIR = path.join(REPO_ROOT, 'console');
/** The console's key prefix in the bucket: the URL path without its leading slash. */
export const CONSOLE_KEY_PREFIX = CONSOLE_PATH.slice(1);

/** Viewer-request function: `/console` → 301 `/console/`; a path ending in `/` → its index.html. */
export const CONSOLE_INDEX_FUNCTION = `function handler(event) {
  var req = event.request;
  if (req.uri === '${CONSOLE_PATH}') {
    return { statusCode: 301, statusDescription: 'Moved Permanently', headers: { location: { value: '${CONSOLE_PATH}/' } } };
  }
  if (req.uri.endsWith('/')) req.uri += 'index.html';
  return req;
}`;

export interface WebConsoleProps {
  api: RestApi;
  /** Receives the console bucket's server access logs (`s3/Console/`) and CloudFront's logs (`cloudfront/`). */
  accessLogsBucket?: IBucket;
  /** For the console bucket (its content is rebuilt from source on every deploy). @default DESTROY */
  removalPolicy?: RemovalPolicy;
}

export class WebConsole extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  readonly url: string;

  constructor(scope: Construct, id: string, props: WebConsoleProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
      ...(props.accessLogsBucket && { serverAccessLogsBucket: props.accessLogsBucket, serverAccessLogsPrefix: 's3/Console/' }),
    });

    const consoleHeaders = new ResponseHeadersPolicy(this, 'ConsoleHeaders', {
      comment: 'web console: CSP and security headers (lib/console-policy.ts)',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: CONSOLE_CSP, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.seconds(CONSOLE_HSTS_SECONDS), includeSubdomains: true, override: true },
      },
      customHeadersBehavior: {
        customHeaders: ['permissions-policy', 'cross-origin-opener-policy'].map((header) => ({
          header,
          value: CONSOLE_HEADERS[header],
          override: true,
        })),
      },
    });
    const apiHeaders = new ResponseHeadersPolicy(this, 'ApiHeaders', {
      comment: 'API through the console domain: HSTS and nosniff',
      securityHeadersBehavior: {
        contentTypeOptions: { override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.seconds(CONSOLE_HSTS_SECONDS), includeSubdomains: true, override: true },
      },
    });

    const index = new CfFunction(this, 'IndexFunction', {
      code: FunctionCode.fromInline(CONSOLE_INDEX_FUNCTION),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'web console: directory paths to index.html',
    });
    const consoleBehavior = {
      origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
      viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
      cachePolicy: CachePolicy.CACHING_OPTIMIZED,
      responseHeadersPolicy: consoleHeaders,
      compress: true,
      functionAssociations: [{ function: index, eventType: FunctionEventType.VIEWER_REQUEST }],
    };

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'machine-image-service: web console and API on one origin',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: new RestApiOrigin(props.api),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_ALL,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        responseHeadersPolicy: apiHeaders,
      },
      additionalBehaviors: {
        [CONSOLE_PATH]: consoleBehavior,
        [`${CONSOLE_PATH}/*`]: consoleBehavior,
      },
      ...(props.accessLogsBucket && { enableLogging: true, logBucket: props.accessLogsBucket, logFilePrefix: 'cloudfront/' }),
    });
    const acknowledge = (id: string, reason: string) => Validations.of(this.distribution).acknowledge({ id, reason });
    acknowledge('AwsSolutions-CFR1', 'The console and API serve every country their clients are in; no geo restriction is wanted.');
    acknowledge(
      'AwsSolutions-CFR2',
      'No WAF by default (cost per rule and request); associate a web ACL in the account if policy requires one. The API behind it throttles and locks out password guessing.',
    );
    acknowledge(
      'AwsSolutions-CFR4',
      'The distribution uses the default *.cloudfront.net certificate, with which CloudFront fixes the minimum viewer protocol itself; a custom domain with its own certificate (not configured) would set TLSv1.2_2021.',
    );

    new BucketDeployment(this, 'Files', {
      sources: [consoleSource()],
      destinationBucket: this.bucket,
      destinationKeyPrefix: `${CONSOLE_KEY_PREFIX}/`,
      distribution: this.distribution,
      distributionPaths: [`${CONSOLE_PATH}/*`],
      prune: true,
      memoryLimit: 256,
    });

    acknowledgeDeploymentHelper(this);

    this.url = `https://${this.distribution.distributionDomainName}${CONSOLE_PATH}/`;
    new CfnOutput(this, 'Url', { value: this.url, description: 'the web console (the API is on the same domain)' }).overrideLogicalId(
      'ConsoleUrl',
    );
  }
}

/** console/ built at synth time by Vite on this machine (never Docker); skipped when the stack's bundling is. */
function consoleSource() {
  return Source.asset(CONSOLE_SOURCE_DIR, {
    exclude: ['node_modules', 'dist'],
    bundling: {
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'), // unused: local bundling always succeeds or throws
      local: {
        tryBundle(outputDir: string): boolean {
          const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
          const out = spawnSync(npm, ['run', '--silent', 'build', '--', '--outDir', outputDir, '--emptyOutDir'], {
            cwd: CONSOLE_SOURCE_DIR,
            encoding: 'utf8',
          });
          if (out.status !== 0) throw new Error(`the web console did not build:\n${out.stdout}${out.stderr}`);
          return true;
        },
      },
    },
  });
}

/**
 * CDK's BucketDeployment helper (one singleton function per stack) runs only while CloudFormation
 * deploys: its runtime, role and policy are aws-cdk-lib's own and not configurable here.
 */
function acknowledgeDeploymentHelper(scope: Construct): void {
  const stack = Stack.of(scope);
  const helper = stack.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (!helper) return;
  const reason =
    'CDK’s BucketDeployment helper (aws-cdk-lib), run only during deployment to copy the console’s files; its runtime, role and policy are the library’s own.';
  for (const id of [
    'AwsSolutions-L1',
    'Serverless-LambdaLatestVersion',
    'Serverless-LambdaTracing',
    'Serverless-LambdaDLQ',
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'AwsSolutions-IAM5[Action::s3:GetObject*]',
    'AwsSolutions-IAM5[Resource::*]',
    'AwsSolutions-IAM5[Action::s3:GetBucket*]',
    'AwsSolutions-IAM5[Action::s3:List*]',
    'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
    'AwsSolutions-IAM5[Action::s3:Abort*]',
    'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]',
  ]) {
    Validations.of(helper).acknowledge({ id, reason });
  }
  const bucket = scope.node.tryFindChild('Bucket');
  if (bucket) {
    const id = stack.getLogicalId(bucket.node.defaultChild as CfnElement);
    Validations.of(helper).acknowledge({ id: `AwsSolutions-IAM5[Resource::<${id}.Arn>/*]`, reason });
  }
}
