/** POST /v1/cloudimages/{image_id}/file — ExportImage (IMS): the file into the caller's bucket; 200 `{job_id}`. */
import { exportImageToBucket } from '../../../core/use-cases/ims-export-image';
import { idempotent } from '../../../http/idempotency';
import { httpHandler } from '../../../http/middleware';
import { clock, config, ids, imageRepository, jobRepository, objectCopier, imageFileConverter, workflowStarter } from '../../../wiring';
import { imsRenderer } from '../renderer';
import { parseExport } from '../schemas';

export const handler = httpHandler(
  { operation: 'ImsExportImage', renderer: imsRenderer },
  idempotent(async (req) => {
    const body = parseExport(req.body);
    const exportImage = exportImageToBucket({
      images: imageRepository(),
      jobs: jobRepository(),
      copier: objectCopier(),
      converter: imageFileConverter(),
      clock,
      ids,
      inWorkflow: { thresholdBytes: config.copyInWorkflowBytes(), workflow: workflowStarter() },
    });
    const job = await exportImage(req.caller, req.params.image_id, { destination: body.bucket_url, format: body.file_format });
    return { status: 200, body: { job_id: job.id } };
  }),
);
