/** DELETE /{login}/images/{id} — DeleteImage: owner only; 204. */
import { NotFoundError } from '../../../core/errors';
import { deleteImage } from '../../../core/use-cases/delete-image';
import { httpHandler } from '../../../http/middleware';
import { clock, imageFileStore, imageRepository, jobRepository, workflowStopper } from '../../../wiring';
import { tritonRenderer } from '../renderer';
import { uuidParam } from '../schemas';

export const handler = httpHandler({ operation: 'DeleteImage', renderer: tritonRenderer }, async (req) => {
  if (!uuidParam.safeParse(req.params.id).success) throw new NotFoundError('image not found');
  await deleteImage({ images: imageRepository(), files: imageFileStore(), jobs: jobRepository(), workflow: workflowStopper(), clock })(
    req.caller,
    req.params.id,
  );
  return { status: 204 };
});
