/**
 * Targeted assertions on the synthesized template (docs/architecture.md §8): keys and indexes, bucket
 * hardening, the workflow's retry/compensation wiring, one API method per route, least-privilege IAM.
 * The stack is synthesized once for the file, with bundling skipped (no esbuild runs) and the CDK's
 * CloudFormation schema validation made strict, so a template CloudFormation would reject fails here.
 */
import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { INDEXES, TABLE_KEYS } from '../../lambdas/adapters/dynamodb/table';
import { BUILD_TASKS, PROVISION_TASKS, routes } from '../../lambdas/routes';
import { RETRYABLE_ERRORS } from '../../lambdas/workflow/errors';
import { DEFAULT_CHUNKING } from '../../lambdas/workflow/chunked';
import { expansionSource } from '../../lambdas/workflow/expansion';
import type { ImageFile } from '../../lambdas/core/image';
import { BUILD_STATES, FORWARD_TASKS } from '../../lib/constructs/build-workflow';
import { ImageServiceStack, STACK_OUTPUTS } from '../../lib/image-service-stack';
import { type AslState, localDefinitionFromTemplate } from '../../lib/local-asl';
import { cdkContext } from '../../lib/cdk-context';

type Resources = Record<string, { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }>;

// Prepare (once for the file)
const app = new App({
  context: cdkContext({ 'aws:cdk:bundling-stacks': [], '@aws-cdk/core:strictCfnValidateErrors': true }),
});
const stack = new ImageServiceStack(app, 'ImageServiceTest');
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Resources;

const logicalId = (construct: IConstruct): string => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

/** Every IAM action granted to a function's role, across its policies. */
const actionsOf = (functionLogicalId: string): string[] => {
  const roleRef = resources[functionLogicalId].Properties.Role['Fn::GetAtt'][0];
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleRef))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
    .flatMap((s: { Action: string | string[] }) => [s.Action].flat());
};

/** `/a/{b}` for an AWS::ApiGateway::Resource, by following ParentId up to the root. */
const resourcePath = (id: string): string => {
  const { ParentId, PathPart } = resources[id].Properties;
  const parent = ParentId.Ref as string | undefined;
  return `${parent ? resourcePath(parent) : ''}/${PathPart}`;
};

describe('data', () => {
  it('has one on-demand table with PK/SK, its GSIs (ALL projection) and point-in-time recovery, retained', () => {
    // Assess
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: Object.values(INDEXES).map((index) => ({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
        Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
      }),
    });
  });

  it('has two encrypted, private, SSL-only buckets that abort incomplete multipart uploads after a day', () => {
    // Act
    // the console's: test/infra/console.test.ts; the access-log bucket: test/infra/operations.test.ts
    const buckets = ofType('AWS::S3::Bucket').filter(([id]) => !id.startsWith('Console') && !id.startsWith('DataAccessLogs'));
    const policies = ofType('AWS::S3::BucketPolicy');

    // Assess
    expect(buckets).toHaveLength(2);
    for (const [id, bucket] of buckets) {
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.Properties).toMatchObject({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: {
          Rules: expect.arrayContaining([
            expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
          ]),
        },
      });
      const policy = policies.find(([, p]) => p.Properties.Bucket.Ref === id);
      expect(policy?.[1].Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });
});

describe('build workflow', () => {
  const { definition } = localDefinitionFromTemplate(template.toJSON());
  const topLevel = definition.States as Record<string, AslState & Record<string, any>>;
  // the Map's iteration states too (BuildRange)
  const states = { ...topLevel, ...topLevel.BuildRanges.ItemProcessor.States } as Record<string, AslState & Record<string, any>>;
  const functionOfTask = (state: string): string => (states[state].Resource as string).split(':').pop()!;

  it('is a Standard state machine with a timeout and logging', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
      TracingConfiguration: { Enabled: true },
    });
    expect(definition.TimeoutSeconds).toBe(6 * 3600);
  });

  it('runs PrepareSource → BuildImageFile → Finalize → Succeed, with the documented ResultPaths', () => {
    // Assess
    expect(definition.StartAt).toBe('RequestKind');
    expect(states.RequestKind).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.copy', IsPresent: true, Next: 'CopySettings' }],
      Default: 'PrepareSource',
    });
    expect(states.PrepareSource).toMatchObject({ Type: 'Task', ResultPath: '$.prepared', Next: 'BuildPath' });
    expect(states.BuildPath).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.prepared.size', NumericGreaterThanEquals: 1024 ** 3, Next: 'ChunkableTarget' }],
      Default: 'BuildImageFile',
    });
    expect(states.ChunkableTarget).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.target.output', IsPresent: true, Next: 'ChunkableFormat' }],
      Default: 'ChunkingSettings',
    });
    // the formats ranges write (lambdas/pipeline/formats/range-formats.ts); a gzipped ova converts in one invocation
    expect(states.ChunkableFormat).toEqual({
      Type: 'Choice',
      Choices: [
        {
          Or: [
            ...['raw', 'qcow2', 'vhd', 'vmdk'].map((format) => ({ Variable: '$.target.output.format', StringEquals: format })),
            {
              And: [
                { Variable: '$.target.output.format', StringEquals: 'ova' },
                { Variable: '$.target.compression', StringEquals: 'none' },
              ],
            },
          ],
          Next: 'ChunkingSettings',
        },
      ],
      Default: 'BuildImageFile',
    });
    expect(states.BuildImageFile).toMatchObject({ Type: 'Task', ResultPath: '$.file', Next: 'Finalize' });
    expect(states.Finalize).toMatchObject({ Type: 'Task', ResultPath: null, Next: BUILD_STATES.BuildSucceeded });
    expect(states[BUILD_STATES.BuildSucceeded].Type).toBe('Succeed');
    // large clones and exports (lambdas/workflow/copy.ts): CopyFile in a checkpointed loop, then the same Finalize and Catch path
    expect(states.CopySettings).toMatchObject({
      Type: 'Pass',
      ResultPath: '$.chunking',
      Result: { hashBytesPerInvocation: DEFAULT_CHUNKING.hashBytesPerInvocation },
      Next: 'CopyFile',
    });
    expect(states.CopyFile).toMatchObject({
      Type: 'Task',
      ResultPath: '$.copied',
      Next: 'CopyDone',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Cleanup' }],
    });
    expect(states.CopyDone).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.copied.done', BooleanEquals: true, Next: 'Finalize' }],
      Default: 'CopyFile',
    });
    const taskNames = Object.keys(states).filter((name) => states[name].Type === 'Task');
    expect(taskNames.sort()).toEqual([...BUILD_TASKS].sort());
  });

  it('builds large sources in an inline Map of BuildRange, then loops HashFile until done, then Finalize', () => {
    expect(states.ChunkingSettings).toMatchObject({
      Type: 'Pass',
      ResultPath: '$.chunking',
      Result: { rangeBytes: 256 * 1024 ** 2, hashBytesPerInvocation: 32 * 1024 ** 3 },
      Next: 'StartRanges',
    });
    expect(states.StartRanges).toMatchObject({ Type: 'Task', ResultPath: '$.chunked', Next: 'BuildRanges' });
    expect(states.BuildRanges).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.chunked.items',
      MaxConcurrency: 40,
      ResultPath: null,
      Next: 'AssembleFile',
    });
    expect(states.BuildRanges.ItemProcessor.ProcessorConfig?.Mode ?? 'INLINE').toBe('INLINE');
    expect(states.BuildRanges.ItemSelector['index.$']).toBe('$$.Map.Item.Value');
    expect(states.BuildRanges.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Cleanup' }]);
    expect(states.BuildRange).toMatchObject({ Type: 'Task', ResultSelector: { 'bytes.$': '$.bytes' }, End: true });
    expect(states.BuildRange.Retry).toEqual([{ ErrorEquals: [...RETRYABLE_ERRORS], IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 3 }]);
    expect(states.AssembleFile).toMatchObject({ Type: 'Task', ResultPath: '$.assembled', Next: 'HashFile' });
    expect(states.HashFile).toMatchObject({ Type: 'Task', ResultPath: '$.hash', Next: 'HashDone' });
    expect(states.HashDone).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.hash.done', BooleanEquals: true, Next: 'ComposePath' }],
      Default: 'HashFile',
    });
    expect(states.ChunkedFile).toMatchObject({ Type: 'Pass', InputPath: '$.hash.file', ResultPath: '$.file', Next: 'Finalize' });
  });

  it('composes an ova built by ranges around its hashed vmdk in a ComposeOva loop, then hashes the ova before Finalize', () => {
    // the composed ova first (its second hash pass is over), then an ova's vmdk, then every other format
    expect(states.ComposePath).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.composed', IsPresent: true, Next: 'ChunkedFile' },
        { Variable: '$.chunked.output.format', StringEquals: 'ova', Next: 'ComposeOva' },
      ],
      Default: 'ChunkedFile',
    });
    expect(states.ComposeOva).toMatchObject({ Type: 'Task', ResultPath: '$.composed', Next: 'ComposeDone' });
    expect(states.ComposeDone).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.composed.done', BooleanEquals: true, Next: 'HashFile' }],
      Default: 'ComposeOva',
    });
  });

  it('takes its chunking settings from the stack props, and refuses settings the design cannot hold', () => {
    const scaled = new ImageServiceStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Scaled', {
      chunking: { thresholdBytes: 64 << 20, maxConcurrency: 4 },
    });
    const asl = localDefinitionFromTemplate(Template.fromStack(scaled).toJSON()).definition.States as Record<string, any>;
    expect(asl.BuildPath.Choices[0].NumericGreaterThanEquals).toBe(64 << 20);
    expect(asl.BuildRanges.MaxConcurrency).toBe(4);
    expect(() => new ImageServiceStack(new App(), 'TooSmall', { chunking: { rangeBytes: 1 << 20 } })).toThrow(/at least/);
    expect(() => new ImageServiceStack(new App(), 'TooWide', { chunking: { maxConcurrency: 41 } })).toThrow(/at most 40/);
  });

  it.each(FORWARD_TASKS)('%s retries transient errors with backoff and hands any other error to Cleanup', (state) => {
    expect(states[state].Retry).toEqual([{ ErrorEquals: [...RETRYABLE_ERRORS], IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 3 }]);
    expect(states[state].Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Cleanup' }]);
  });

  it('compensates: Cleanup (even when it fails) → MarkFailed → Fail', () => {
    expect(states.Cleanup).toMatchObject({ Type: 'Task', ResultPath: '$.cleanup', Next: 'MarkFailed' });
    expect(states.Cleanup.Retry).toHaveLength(1);
    expect(states.Cleanup.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.cleanupError', Next: 'MarkFailed' }]);
    expect(states.MarkFailed).toMatchObject({ Type: 'Task', ResultPath: null, Next: BUILD_STATES.BuildFailed });
    expect(states.MarkFailed.Retry).toHaveLength(1);
    expect(states[BUILD_STATES.BuildFailed].Type).toBe('Fail');
  });

  it('invokes each task function directly (payloadResponseOnly) with the state document and its attempt, one function per task', () => {
    for (const state of BUILD_TASKS) {
      expect(states[state].Parameters).toEqual({
        'state.$': '$',
        attempt: { 'retryCount.$': '$$.State.RetryCount', 'enteredTime.$': '$$.State.EnteredTime' },
      });
      expect(functionOfTask(state)).toBe(logicalId(stack.workflow.functions[state]));
    }
    expect(new Set(BUILD_TASKS.map(functionOfTask)).size).toBe(BUILD_TASKS.length);
  });

  it('gives BuildImageFile, BuildRange, CopyFile and HashFile 2 vCPUs (3538 MB) and 15 minutes, AssembleFile 1 vCPU and 15 minutes (it writes the tables of a format), ComposeOva 256 MB and 15 minutes, the other tasks 256 MB and 30 s', () => {
    expect(resources[functionOfTask('BuildImageFile')].Properties).toMatchObject({ MemorySize: 3538, Timeout: 900 });
    expect(resources[functionOfTask('CopyFile')].Properties).toMatchObject({ MemorySize: 3538, Timeout: 900 });
    expect(resources[functionOfTask('BuildRange')].Properties).toMatchObject({ MemorySize: 3538, Timeout: 900 });
    expect(resources[functionOfTask('HashFile')].Properties).toMatchObject({ MemorySize: 3538, Timeout: 900 });
    expect(resources[functionOfTask('AssembleFile')].Properties).toMatchObject({ MemorySize: 1769, Timeout: 900 });
    // S3 copies the vmdk: the function holds two parts of about 5 MiB, but may wait on copies for minutes
    expect(resources[functionOfTask('ComposeOva')].Properties).toMatchObject({ MemorySize: 256, Timeout: 900 });
    const others = BUILD_TASKS.filter(
      (t) => !['BuildImageFile', 'BuildRange', 'HashFile', 'AssembleFile', 'CopyFile', 'ComposeOva'].includes(t),
    );
    for (const state of others) {
      expect(resources[functionOfTask(state)].Properties).toMatchObject({ MemorySize: 256, Timeout: 30 });
    }
  });

  it('lets tasks manage multipart uploads of image files and read disks', () => {
    for (const state of BUILD_TASKS) {
      expect(actionsOf(functionOfTask(state))).toEqual(
        expect.arrayContaining([
          's3:AbortMultipartUpload',
          's3:ListBucketMultipartUploads',
          's3:PutObject',
          's3:GetObject',
          'dynamodb:UpdateItem',
        ]),
      );
    }
  });
});

describe('provisioning workflow', () => {
  const { definition } = localDefinitionFromTemplate(template.toJSON(), { workflow: 'ProvisionWorkflow' });
  const states = definition.States as Record<string, AslState & Record<string, any>>;
  type States = Record<string, AslState & Record<string, any>>;
  const [expandBranch, verifyBranch] = (states.ExpandAndVerify?.Branches ?? []) as { StartAt: string; States: States }[];
  const branchStates = { ...expandBranch?.States, ...verifyBranch?.States } as States;
  const mapStates = (branchStates.ExpandRanges?.ItemProcessor?.States ?? {}) as States;
  const stateOf = (state: string) => states[state] ?? branchStates[state] ?? mapStates[state];
  const functionOfTask = (state: string): string => (stateOf(state).Resource as string).split(':').pop()!;
  const retry = [{ ErrorEquals: [...RETRYABLE_ERRORS], IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 3 }];
  const caught = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RemoveDisk' }];

  it('runs ExpandImage → MarkMachineRunning → Succeed, each forward task retried and caught into RemoveDisk → MarkMachineFailed → Fail', () => {
    expect(definition.StartAt).toBe('ExpansionPath');
    expect(definition.TimeoutSeconds).toBe(6 * 3600);
    expect(states.ExpandImage).toMatchObject({ Type: 'Task', ResultPath: '$.expanded', Next: 'MarkMachineRunning' });
    expect(states.MarkMachineRunning).toMatchObject({ Type: 'Task', ResultPath: null, Next: 'ProvisionSucceeded' });
    for (const state of ['ExpandImage', 'MarkMachineRunning', 'StartExpansion', 'CompleteDisk']) {
      expect(states[state].Retry).toEqual(retry);
      expect(states[state].Catch).toEqual(caught);
    }
    expect(states.RemoveDisk).toMatchObject({ Type: 'Task', ResultPath: '$.cleanup', Next: 'MarkMachineFailed' });
    expect(states.RemoveDisk.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.cleanupError', Next: 'MarkMachineFailed' }]);
    expect(states.MarkMachineFailed).toMatchObject({ Type: 'Task', ResultPath: null, Next: 'ProvisionFailed' });
    expect(states.ProvisionFailed.Type).toBe('Fail');
    expect(
      [...Object.keys(states), ...Object.keys(branchStates), ...Object.keys(mapStates)].filter((n) => stateOf(n).Type === 'Task').sort(),
    ).toEqual([...PROVISION_TASKS].sort());
  });

  /** Where the Choices send a file: the first Task state reached from StartAt (Choice rules as Step Functions reads them). */
  function routeOf(file: Record<string, unknown>): string {
    const input = { machineId: 'm', file };
    const read = (path: string): unknown =>
      path
        .replace(/^\$\./, '')
        .split('.')
        .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], input);
    const holds = (rule: Record<string, any>): boolean => {
      if (rule.And) return (rule.And as Record<string, any>[]).every(holds);
      if (rule.Or) return (rule.Or as Record<string, any>[]).some(holds);
      const value = read(rule.Variable);
      if ('IsPresent' in rule) return (value !== undefined) === rule.IsPresent;
      // Step Functions fails the execution when a rule reads a path that is not there
      if (value === undefined) throw new Error(`the Choice reads ${rule.Variable}, which ${JSON.stringify(file)} does not have`);
      if ('StringEquals' in rule) return value === rule.StringEquals;
      if ('NumericGreaterThanEquals' in rule) return (value as number) >= rule.NumericGreaterThanEquals;
      throw new Error(`unexpected rule ${JSON.stringify(rule)}`);
    };
    let name = definition.StartAt as string;
    for (let hops = 0; states[name].Type !== 'Task'; hops++) {
      const state = states[name];
      if (hops > 20) throw new Error('the Choices loop');
      if (state.Type === 'Pass') name = state.Next;
      else name = (state.Choices as Record<string, any>[]).find(holds)?.Next ?? state.Default;
    }
    return name;
  }

  it('routes uncompressed qcow2/vhd/vmdk/ova files and raw files with a range index, from the chunking threshold on, to expansion in ranges; the rest to ExpandImage', () => {
    const T = DEFAULT_CHUNKING.thresholdBytes;
    const file = (over: Record<string, unknown>) => ({
      key: 'k',
      size: T,
      sha1: 'a',
      sha256: 'b',
      compression: 'none',
      format: 'raw',
      ...over,
    });
    const index = { ranges: 4, rangeBytes: T / 4, rawSize: T };
    const cases: [Record<string, unknown>, string][] = [
      ...['qcow2', 'vhd', 'vmdk', 'ova'].flatMap((format): [Record<string, unknown>, string][] => [
        [file({ format, virtualSize: T }), 'StartExpansion'],
        [file({ format, virtualSize: T - 512, size: 2 * T }), 'ExpandImage'],
        [file({ format, size: T }), 'StartExpansion'], // no virtualSize recorded: the file's size
        [file({ format, size: T - 1 }), 'ExpandImage'],
        [file({ format, virtualSize: 4 * T, rangeIndex: index }), 'StartExpansion'],
        [file({ format, virtualSize: 4 * T, compression: 'gzip' }), 'ExpandImage'],
        [file({ format, virtualSize: 4 * T, compression: 'gzip', rangeIndex: index }), 'ExpandImage'],
      ]),
      ...['raw', 'iso'].flatMap((format): [Record<string, unknown>, string][] => [
        [file({ format, rangeIndex: index }), 'StartExpansion'],
        [file({ format, compression: 'gzip', rangeIndex: index }), 'StartExpansion'],
        [file({ format, rangeIndex: { ...index, rawSize: T - 1 } }), 'ExpandImage'],
        [file({ format, size: 4 * T, virtualSize: 4 * T }), 'ExpandImage'],
      ]),
    ];
    for (const [f, expected] of cases) {
      expect({ file: f, route: routeOf(f) }).toEqual({ file: f, route: expected });
      // the Choices mirror the tasks' own rule (StartExpansion refuses what expansionSource refuses)
      if (expected === 'StartExpansion') expect(expansionSource(f as unknown as ImageFile)).toBeDefined();
    }
    expect(states.ExpansionSettings).toMatchObject({
      Type: 'Pass',
      Result: { rangeBytes: DEFAULT_CHUNKING.rangeBytes, hashBytesPerInvocation: DEFAULT_CHUNKING.hashBytesPerInvocation },
      ResultPath: '$.expansionSettings',
      Next: 'StartExpansion',
    });
    expect(states.StartExpansion).toMatchObject({ Type: 'Task', ResultPath: '$.expansion', Next: 'ExpandAndVerify' });
    // the ranges and, beside them, a format file's sha256 pass; either failing fails both, into RemoveDisk
    expect(states.ExpandAndVerify).toMatchObject({ Type: 'Parallel', ResultPath: null, Next: 'CompleteDisk', Catch: caught });
    expect(expandBranch.StartAt).toBe('ExpandRanges');
    expect(branchStates.ExpandRanges).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.expansion.items',
      MaxConcurrency: DEFAULT_CHUNKING.maxConcurrency,
      ResultPath: null,
      End: true,
    });
    expect(verifyBranch.StartAt).toBe('VerifyNeeded');
    expect(branchStates.VerifyNeeded).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.expansion.verify', BooleanEquals: true, Next: 'VerifyImageFile' }],
      Default: 'NothingToVerify',
    });
    expect(branchStates.VerifyImageFile).toMatchObject({ Type: 'Task', ResultPath: '$.verified', Next: 'VerifyDone', Retry: retry });
    expect(branchStates.VerifyDone).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.verified.done', BooleanEquals: true, Next: 'FileVerified' }],
      Default: 'VerifyImageFile',
    });
    expect(branchStates.ExpandRanges.ItemSelector).toMatchObject({
      'index.$': '$$.Map.Item.Value',
      'file.$': '$.file',
      upload: { 'rangeBytes.$': '$.expansion.rangeBytes', 'rawSize.$': '$.expansion.rawSize' },
    });
    expect(mapStates.ExpandRange).toMatchObject({ Type: 'Task', ResultSelector: { 'bytes.$': '$.bytes' }, Retry: retry });
    expect(states.CompleteDisk).toMatchObject({ Type: 'Task', ResultPath: '$.expanded', Next: 'MarkMachineRunning' });
  });

  it('gives ExpandImage one vCPU and 15 minutes, ExpandRange 2 vCPUs and 15 minutes, and only the expanding tasks and RemoveDisk write disks', () => {
    for (const state of PROVISION_TASKS) expect(functionOfTask(state)).toBe(logicalId(stack.provisioning.functions[state]));
    expect(resources[functionOfTask('ExpandImage')].Properties).toMatchObject({ MemorySize: 1769, Timeout: 900 });
    expect(resources[functionOfTask('ExpandRange')].Properties).toMatchObject({ MemorySize: 3538, Timeout: 900 });
    expect(resources[functionOfTask('VerifyImageFile')].Properties).toMatchObject({ MemorySize: 1769, Timeout: 900 });
    expect(actionsOf(functionOfTask('VerifyImageFile'))).toEqual(expect.arrayContaining(['s3:GetObject']));
    for (const state of ['ExpandImage', 'RemoveDisk', 'StartExpansion', 'ExpandRange', 'CompleteDisk']) {
      expect(actionsOf(functionOfTask(state))).toEqual(
        expect.arrayContaining(['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListBucketMultipartUploads', 's3:DeleteObject']),
      );
    }
    for (const state of ['MarkMachineRunning', 'MarkMachineFailed']) expect(actionsOf(functionOfTask(state))).not.toContain('s3:PutObject');
  });
});

describe('HTTP API', () => {
  const methods = ofType('AWS::ApiGateway::Method').filter(([, m]) => m.Properties.HttpMethod !== 'OPTIONS');
  const methodOf = (route: (typeof routes)[number]) =>
    methods.find(
      ([, m]) =>
        m.Properties.HttpMethod === route.method &&
        (m.Properties.ResourceId.Ref ? resourcePath(m.Properties.ResourceId.Ref) : '/') === route.path,
    )?.[1].Properties;

  it('has exactly one method per route, at the route’s path, with the route’s HTTP method', () => {
    // Act
    const found = routes.map(methodOf);

    // Assess
    expect(methods).toHaveLength(routes.length);
    expect(found.every(Boolean)).toBe(true);
  });

  it.each(routes.map((r) => [r.operation, r] as const))('%s proxies to its own function', (operation, route) => {
    const method = methodOf(route)!;
    const fnId = logicalId(stack.api.functions[operation]);
    expect(method.OperationName).toBe(operation);
    expect(method.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
    expect(JSON.stringify(method.Integration.Uri)).toContain(`"${fnId}"`);
  });

  it('puts caller routes behind the one REQUEST authorizer and leaves the ping open', () => {
    const authorizerId = logicalId(stack.api.authorizer);
    for (const route of routes) {
      const method = methodOf(route)!;
      if (route.auth === 'caller') {
        expect(method).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
      } else {
        expect(method.AuthorizationType).toBe('NONE');
        expect(method.AuthorizerId).toBeUndefined();
      }
    }
    expect(routes.find((r) => r.operation === 'Ping')?.auth).toBe('none');
  });

  it('never caches authorizer results and requires no identity source (anonymous callers reach it)', () => {
    template.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: Match.absent(),
    });
  });

  it('logs access and throttles on the stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: Match.anyValue(),
          ThrottlingBurstLimit: Match.anyValue(),
        }),
      ]),
    });
  });

  it('gives every route function the service environment', () => {
    for (const route of routes) {
      expect(resources[logicalId(stack.api.functions[route.operation])].Properties.Environment.Variables).toEqual(
        expect.objectContaining({
          TABLE_NAME: expect.anything(),
          IMAGES_BUCKET: expect.anything(),
          DISKS_BUCKET: expect.anything(),
          STATE_MACHINE_ARN: expect.anything(),
          NODE_OPTIONS: '--enable-source-maps',
        }),
      );
    }
  });
});

describe('least privilege', () => {
  const WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

  it.each(routes.filter((r) => r.access === 'read').map((r) => [r.operation]))(
    'read route %s may only GetItem/BatchGetItem/Query and presign, never write or start builds',
    (operation) => {
      // Act
      const actions = actionsOf(logicalId(stack.api.functions[operation]));

      // Assess
      expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(
        ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'].sort(),
      );
      expect(actions.filter((a) => WRITES.includes(a) || a.startsWith('states:'))).toEqual([]);
      expect(actions.filter((a) => a.startsWith('s3:'))).toEqual(['s3:GetObject']);
    },
  );

  it.each(routes.filter((r) => r.access === 'write').map((r) => [r.operation]))(
    'write route %s may write items and start the build workflow',
    (operation) => {
      const actions = actionsOf(logicalId(stack.api.functions[operation]));
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'states:StartExecution']));
    },
  );

  it('grants no Scan (nor any dynamodb wildcard) to anyone', () => {
    const allActions = ofType('AWS::IAM::Policy').flatMap(([, p]) =>
      p.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) => [s.Action].flat()),
    );
    expect(allActions).not.toContain('dynamodb:Scan');
    expect(allActions.filter((a: string) => a.startsWith('dynamodb:') && a.includes('*'))).toEqual([]);
  });
});

describe('functions', () => {
  it('all run nodejs24.x on arm64: one per route, one per task, the authorizer, the execution-ended handler, the job-event publisher and the oldest-creating check', () => {
    // The console's deployment helpers (CDK's own custom resources) are asserted in test/infra/console.test.ts.
    const functions = ofType('AWS::Lambda::Function').filter(([id]) => !id.startsWith('Custom'));
    expect(functions).toHaveLength(routes.length + BUILD_TASKS.length + PROVISION_TASKS.length + 4);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    }
  });
});

describe('outputs', () => {
  it.each(STACK_OUTPUTS.map((o) => [o]))('exports %s', (name) => {
    template.hasOutput(name, { Value: Match.anyValue() });
  });
});
