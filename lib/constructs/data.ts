/**
 * Where the service keeps its state: the one DynamoDB table (key schema, indexes and every access
 * pattern are documented in `lambdas/adapters/dynamodb/table.ts`, whose names this construct imports)
 * and two buckets: `images` holds image files, `disks` holds machine disks (build sources). A third,
 * `accessLogs`, receives the S3 server access logs of every bucket of the stack and the web console's
 * CloudFront logs (kept 90 days).
 *
 * Grants are hand-written action lists, not `grantReadData`/`grantReadWrite`: those include `Scan`
 * (and, for buckets, every List and Get action), and no request path may scan (docs/architecture.md §4).
 */
import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Construct as ConstructBase } from 'constructs';
import { acknowledgeWildcards } from '../nag';
import { AttributeType, Billing, StreamViewType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { INDEXES, TABLE_KEYS, TTL_ATTRIBUTE } from '../../lambdas/adapters/dynamodb/table';

export interface DataProps {
  /** What happens to the table and buckets when the stack goes. @default RETAIN */
  removalPolicy?: RemovalPolicy;
}

/** Item reads a request path may do: by key, or a Query on the table or an index. Never Scan. */
export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'] as const;
/** Item writes: single-item conditional writes (dynalite has no transactions, see docs/local-emulation.md §1). */
export const TABLE_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
] as const;

export class Data extends Construct {
  readonly table: TableV2;
  readonly imagesBucket: Bucket;
  readonly disksBucket: Bucket;
  /** Server access logs of the stack's buckets (prefix per bucket) and CloudFront standard logs. */
  readonly accessLogsBucket: Bucket;

  constructor(scope: Construct, id: string, props: DataProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retained = removalPolicy === RemovalPolicy.RETAIN;

    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      globalSecondaryIndexes: Object.values(INDEXES).map((index) => ({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
      })),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Tokens and idempotency records carry `ttl` (epoch seconds): DynamoDB removes them once expired
      // (readers check expiry themselves, as deletion may lag).
      timeToLiveAttribute: TTL_ATTRIBUTE,
      // Job transitions are published from the stream (lib/constructs/job-events.ts).
      dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
      deletionProtection: retained,
      removalPolicy,
    });

    this.accessLogsBucket = new Bucket(this, 'AccessLogsBucket', {
      encryption: BucketEncryption.S3_MANAGED, // log delivery writes SSE-S3 only
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // CloudFront standard logging writes with an ACL; S3 server access logs use the bucket policy.
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90) }],
      removalPolicy,
      autoDeleteObjects: false,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself: logging its own access would log every log delivery into itself.',
    });

    this.imagesBucket = this.privateBucket('ImagesBucket', removalPolicy);
    this.disksBucket = this.privateBucket('DisksBucket', removalPolicy);
  }

  /** The environment variables through which handlers find these resources (docs/architecture.md §8). */
  get environment(): Record<string, string> {
    return {
      TABLE_NAME: this.table.tableName,
      IMAGES_BUCKET: this.imagesBucket.bucketName,
      DISKS_BUCKET: this.disksBucket.bucketName,
    };
  }

  /** GetItem, BatchGetItem and Query on the table; Query on its indexes. */
  grantItemsRead(grantee: IGrantable): Grant {
    return this.grantTable(grantee, [...TABLE_READ_ACTIONS]);
  }

  /** Reads plus single-item writes. Still no Scan. */
  grantItemsReadWrite(grantee: IGrantable): Grant {
    return this.grantTable(grantee, [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS]);
  }

  /** s3:GetObject on image files: what a handler needs to presign a download. */
  grantImageFilesPresign(grantee: IGrantable): Grant {
    this.acknowledgeObjects(grantee, this.imagesBucket);
    return Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [this.imagesBucket.arnForObjects('*')] });
  }

  /** Write image files with multipart uploads, and clean them up (abort uploads, delete partial objects). */
  grantImageFilesWrite(grantee: IGrantable): Grant {
    Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket', 's3:ListBucketMultipartUploads'],
      resourceArns: [this.imagesBucket.bucketArn],
    });
    this.acknowledgeObjects(grantee, this.imagesBucket);
    return Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resourceArns: [this.imagesBucket.arnForObjects('*')],
    });
  }

  /** Read machine disks. ListBucket only so that a missing disk answers 404, not 403. */
  grantDisksRead(grantee: IGrantable): Grant {
    Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [this.disksBucket.bucketArn] });
    this.acknowledgeObjects(grantee, this.disksBucket);
    return Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [this.disksBucket.arnForObjects('*')] });
  }

  /** Write and remove machine disks (provisioning, DeleteMachine), aborting uploads left open. */
  grantDisksWrite(grantee: IGrantable): Grant {
    Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket', 's3:ListBucketMultipartUploads'],
      resourceArns: [this.disksBucket.bucketArn],
    });
    this.acknowledgeObjects(grantee, this.disksBucket);
    return Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resourceArns: [this.disksBucket.arnForObjects('*')],
    });
  }

  /** GetItem on the table alone (no index, no Query): the authorizer reads every item by its key. */
  grantItemsGet(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem'], resourceArns: [this.table.tableArn] });
  }

  /**
   * UpdateItem on the table, only on items whose partition key starts with one of `prefixes`
   * (`dynamodb:LeadingKeys`): the authorizer's password-attempt counters and password-hash upgrades.
   */
  grantItemsUpdateWhereKeyStartsWith(grantee: IGrantable, prefixes: readonly string[]): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((p) => `${p}*`) } },
    });
  }

  /** Conditional counters on existing items (the authorizer's wrong-password count): UpdateItem only. */
  grantItemsUpdate(grantee: IGrantable): Grant {
    return this.grantTable(grantee, ['dynamodb:UpdateItem']);
  }

  /** Object keys are made at run time (per image, per machine): the grant is on this one bucket's objects. */
  private acknowledgeObjects(grantee: IGrantable, bucket: Bucket): void {
    const principal = grantee.grantPrincipal;
    if (!ConstructBase.isConstruct(principal)) return;
    const id = Stack.of(this).getLogicalId(bucket.node.defaultChild as CfnElement);
    acknowledgeWildcards(
      principal,
      [`Resource::<${id}.Arn>/*`],
      `Objects of the ${bucket.node.id} only; their keys (per image or machine) are made at run time.`,
    );
  }

  private grantTable(grantee: IGrantable, actions: string[]): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions,
      // each index by name (lambdas/adapters/dynamodb/table.ts), not `index/*`
      resourceArns: [this.table.tableArn, ...Object.values(INDEXES).map((index) => `${this.table.tableArn}/index/${index.name}`)],
    });
  }

  private privateBucket(id: string, removalPolicy: RemovalPolicy): Bucket {
    return new Bucket(this, id, {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: false,
      // A build that dies mid-upload leaves parts that are billed but invisible; Cleanup aborts them,
      // and this rule catches whatever Cleanup could not.
      lifecycleRules: [{ id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy,
      autoDeleteObjects: false,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: `s3/${id}/`,
    });
  }
}
