/**
 * The web console's deployment (lib/constructs/console.ts) in the synthesized template: a private,
 * encrypted, TLS-only bucket read by CloudFront through Origin Access Control only; one distribution
 * with the console under /console/* (S3) and the API as the default origin (the REST stage, no
 * caching, every method); the console's CSP and security headers exactly as the local stack sends
 * them (lib/console-policy.ts); the directory-index function; the deployment of the built files.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CONSOLE_CSP, CONSOLE_HEADERS } from '../../lib/console-policy';
import { CONSOLE_INDEX_FUNCTION } from '../../lib/constructs/console';
import { STAGE_NAME } from '../../lib/constructs/http-api';
import { ImageServiceStack } from '../../lib/image-service-stack';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

// Prepare (once for the file): bundling skipped, as in stack.test.ts.
const app = new App({ context: { 'aws:cdk:bundling-stacks': [], '@aws-cdk/core:strictCfnValidateErrors': true } });
const stack = new ImageServiceStack(app, 'ConsoleTest');
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Resources;
const idOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const distribution = () => Object.values(template.findResources('AWS::CloudFront::Distribution'))[0].Properties.DistributionConfig;

describe('web console bucket', () => {
  it('is private, encrypted and TLS-only', () => {
    const bucket = resources[idOf(stack.console.bucket)];
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: idOf(stack.console.bucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('is readable only by this distribution, through Origin Access Control', () => {
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: idOf(stack.console.bucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 's3:GetObject',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy')).filter(
      (p) => p.Properties.Bucket.Ref === idOf(stack.console.bucket),
    );
    const allows = policies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s: { Effect: string }) => s.Effect === 'Allow');
    for (const s of allows) expect(JSON.stringify(s.Principal)).not.toContain('"*"');
  });

  it('receives the built console under console/ and invalidates the distribution for it', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketName: { Ref: idOf(stack.console.bucket) },
      DestinationBucketKeyPrefix: 'console/',
      Prune: true,
      DistributionId: { Ref: idOf(stack.console.distribution) },
      DistributionPaths: ['/console/*'],
    });
  });
});

describe('web console deployment helpers', () => {
  it("adds only CDK's BucketDeployment and auto-delete handlers as functions", () => {
    const helpers = Object.entries(resources).filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('Custom'));
    expect(helpers).toHaveLength(2);
    const ids = helpers.map(([id]) => id).sort();
    expect(ids[0]).toMatch(/^CustomCDKBucketDeployment/);
    expect(ids[1]).toMatch(/^CustomS3AutoDeleteObjectsCustomResourceProviderHandler/);
  });
});

describe('web console distribution', () => {
  it('has two origins: the console bucket (OAC) and the API stage', () => {
    const { Origins } = distribution();
    expect(Origins).toHaveLength(2);
    const s3 = Origins.find((o: any) => o.S3OriginConfig);
    const api = Origins.find((o: any) => o.CustomOriginConfig);
    expect(s3.OriginAccessControlId).toBeDefined();
    expect(s3.DomainName['Fn::GetAtt'][0]).toBe(idOf(stack.console.bucket));
    // The stage path, taken from the API's URL (https://<id>.execute-api.<region>.<suffix>/<stage>/).
    expect(JSON.stringify(api.OriginPath)).toContain(idOf(stack.api.restApi.deploymentStage));
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: STAGE_NAME });
    expect(api.CustomOriginConfig.OriginProtocolPolicy).toBe('https-only');
    expect(JSON.stringify(api.DomainName)).toContain(stack.getLogicalId(stack.api.restApi.node.defaultChild as never));
  });

  it('sends everything but /console to the API: every method, nothing cached, HTTPS only, Host not forwarded', () => {
    const { DefaultCacheBehavior, Origins } = distribution();
    const api = Origins.find((o: any) => o.CustomOriginConfig);
    expect(DefaultCacheBehavior).toMatchObject({
      TargetOriginId: api.Id,
      ViewerProtocolPolicy: 'https-only',
      AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', // Managed-CachingDisabled
      OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac', // Managed-AllViewerExceptHostHeader
    });
  });

  it('serves /console and /console/* from the bucket, GET/HEAD only, with the index function', () => {
    const { CacheBehaviors, Origins } = distribution();
    const s3 = Origins.find((o: any) => o.S3OriginConfig);
    expect(CacheBehaviors.map((b: any) => b.PathPattern).sort()).toEqual(['/console', '/console/*']);
    for (const b of CacheBehaviors) {
      expect(b).toMatchObject({
        TargetOriginId: s3.Id,
        ViewerProtocolPolicy: 'redirect-to-https',
        AllowedMethods: ['GET', 'HEAD'],
        Compress: true,
      });
      expect(b.FunctionAssociations).toEqual([expect.objectContaining({ EventType: 'viewer-request' })]);
    }
    template.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionCode: CONSOLE_INDEX_FUNCTION,
      FunctionConfig: Match.objectLike({ Runtime: 'cloudfront-js-2.0' }),
    });
  });

  it('answers the console with the same CSP and security headers as the local stack, plus HSTS', () => {
    const { CacheBehaviors } = distribution();
    const policyId = CacheBehaviors[0].ResponseHeadersPolicyId.Ref;
    const policy = resources[policyId].Properties.ResponseHeadersPolicyConfig;
    expect(policy.SecurityHeadersConfig).toMatchObject({
      ContentSecurityPolicy: { ContentSecurityPolicy: CONSOLE_CSP, Override: true },
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: 'DENY', Override: true },
      ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
      StrictTransportSecurity: { AccessControlMaxAgeSec: 31_536_000, IncludeSubdomains: true, Override: true },
    });
    const custom = Object.fromEntries(policy.CustomHeadersConfig.Items.map((h: { Header: string; Value: string }) => [h.Header, h.Value]));
    expect(custom).toEqual({
      'permissions-policy': CONSOLE_HEADERS['permissions-policy'],
      'cross-origin-opener-policy': CONSOLE_HEADERS['cross-origin-opener-policy'],
    });
    expect(CONSOLE_CSP).toMatch(/script-src 'self'(;|$)/);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
  });

  it('outputs ConsoleUrl, https on the distribution, under /console/', () => {
    const out = template.findOutputs('ConsoleUrl');
    expect(JSON.stringify(out.ConsoleUrl.Value)).toContain('/console/');
    expect(JSON.stringify(out.ConsoleUrl.Value)).toContain('https://');
  });
});
