/**
 * The local Step Functions endpoint keeps executions in memory, so builds that were running when the
 * local stack stopped are gone on restart, and no status event will ever end them (the deployed stack
 * needs none of this: Step Functions keeps its executions, and the execution-status rule ends those
 * that stop). On start, each job still INIT/RUNNING is ended with the same failure use case that rule
 * runs (`endFailedBuild`): partial files removed, image `failed`, job FAIL, with a reason that says
 * what happened. Local tooling only: it scans the table once at start-up, which no request path does.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { endFailedBuild } from '../lambdas/core/use-cases/build-steps';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { failProvisioning } from '../lambdas/core/use-cases/provision-steps';
import {
  clock,
  config,
  diskProvisioner,
  documentClient,
  imageRepository,
  jobRepository,
  machineRepository,
  s3Client,
} from '../lambdas/wiring';
import { removeImageObjects } from '../lambdas/workflow/tasks/cleanup';
import { exportSteps, removeExportedObject } from '../lambdas/workflow/copy';
import { userBucketKey } from '../lambdas/core/user-bucket';

/** Every item of the table matching a filter, page by page (start-up only: see above). */
async function* scanItems(filter: { expression: string; names: Record<string, string>; values: Record<string, unknown> }) {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new ScanCommand({
        TableName: config.tableName(),
        FilterExpression: filter.expression,
        ExpressionAttributeNames: filter.names,
        ExpressionAttributeValues: filter.values,
        ExclusiveStartKey: start,
      }),
    );
    yield* page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start);
}

export async function failInterruptedBuilds(): Promise<number> {
  let ended = 0;
  const jobs = scanItems({
    expression: 'entity = :job AND #status IN (:init, :running)',
    names: { '#status': 'status' },
    values: { ':job': 'Job', ':init': 'INIT', ':running': 'RUNNING' },
  });
  for await (const item of jobs) {
    if (item.type === 'ExportImage') {
      // an export the workflow ran (lambdas/workflow/copy.ts): its destination, never the exported image
      const destination = String((item.entities as { destination?: string } | undefined)?.destination ?? '');
      const colon = destination.indexOf(':');
      if (colon > 0)
        await removeExportedObject(
          userBucketKey(String(item.owner), { bucket: destination.slice(0, colon), key: destination.slice(colon + 1) }),
        );
      await exportSteps.fail(String(item.id), {
        code: 'Interrupted',
        message: 'the local stack stopped while this image was being exported; export it again',
      });
      ended++;
      continue;
    }
    const imageId = (item.entities as { image_id?: string } | undefined)?.image_id;
    if (!imageId) continue;
    await endFailedBuild({ images: imageRepository(), jobs: jobRepository(), clock, removeImageFiles: removeImageObjects })(
      String(item.id),
      imageId,
      {
        code: 'Interrupted',
        message: 'the local stack stopped while this image was being built; create it again',
      },
    );
    ended++;
  }
  return ended;
}

/**
 * The same for machines still `provisioning`: the provisioning execution is gone with the last stop,
 * so whatever it wrote under the machine's disk prefix is removed and the machine ends `failed`.
 */
export async function failInterruptedProvisioning(): Promise<number> {
  const s3 = s3Client();
  let ended = 0;
  const machines = scanItems({
    expression: 'entity = :machine AND #state = :provisioning',
    names: { '#state': 'state' },
    values: { ':machine': 'Machine', ':provisioning': 'provisioning' },
  });
  for await (const item of machines) {
    const id = String(item.id);
    const Prefix = `machines/${id}/disks/`;
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: config.disksBucket(), Prefix }));
    const objects = await s3.send(new ListObjectsV2Command({ Bucket: config.disksBucket(), Prefix }));
    const keys = new Set([...(uploads.Uploads ?? []).map((u) => u.Key!), ...(objects.Contents ?? []).map((o) => o.Key!)]);
    for (const key of keys) await diskProvisioner().removeDisk(key);
    await failProvisioning({ machines: machineRepository(), clock })(id, {
      code: 'Interrupted',
      message: 'the local stack stopped while this machine was being provisioned; create it again',
    });
    ended++;
  }
  return ended;
}
