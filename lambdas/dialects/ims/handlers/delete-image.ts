/** DELETE /v2/images/{image_id} — DeleteImage (Glance-native, as IMS clients call it): 204, owner only. */
import { deleteImage } from '../../../core/use-cases/delete-image';
import { httpHandler } from '../../../http/middleware';
import { clock, imageFileStore, imageRepository, jobRepository, workflowStopper } from '../../../wiring';
import { imsRenderer } from '../renderer';

export const handler = httpHandler({ operation: 'ImsDeleteImage', renderer: imsRenderer }, async (req) => {
  await deleteImage({ images: imageRepository(), files: imageFileStore(), jobs: jobRepository(), workflow: workflowStopper(), clock })(
    req.caller,
    req.params.image_id,
  );
  return { status: 204 };
});
