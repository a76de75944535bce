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
import { clock, config, documentClient, imageRepository, jobRepository } from '../lambdas/wiring';
import { removeImageObjects } from '../lambdas/workflow/tasks/cleanup';

export async function failInterruptedBuilds(): Promise<number> {
  const doc = documentClient();
  let ended = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: config.tableName(),
        FilterExpression: 'entity = :job AND #status IN (:init, :running)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':job': 'Job', ':init': 'INIT', ':running': 'RUNNING' },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      const imageId = (item.entities as { image_id?: string } | undefined)?.image_id;
      if (!imageId) continue;
      await endFailedBuild({ images: imageRepository(), jobs: jobRepository(), clock, removeImageFiles: removeImageObjects })(String(item.id), imageId, {
        code: 'Interrupted',
        message: 'the local stack stopped while this image was being built; create it again',
      });
      ended++;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return ended;
}
