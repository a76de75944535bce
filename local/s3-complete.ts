/**
 * CompleteMultipartUpload checks that s3rver 3.7.1 skips and S3 makes (it would concatenate whatever
 * part files are listed): the parts listed in ascending order (InvalidPartOrder), each one uploaded
 * with that ETag (InvalidPart), and every part but the last at least 5 MiB (EntityTooSmall). A chunked
 * build depends on the last rule (lambdas/workflow/tasks/build-range.ts pads small parts), so the
 * local stack must refuse what S3 refuses. Used by local/s3.ts before it hands the request to s3rver.
 */
import { promises as fsp } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';

export const MIN_PART_SIZE = 5 * 1024 * 1024;

export interface CompleteRefusal {
  status: number;
  code: string;
  message: string;
}

const unquote = (etag: string) => etag.replace(/&quot;|&#34;|"/g, '').trim();

/** Reads the request body; returns it with a refusal when S3 would refuse the completion. */
export async function checkCompletion(req: IncomingMessage, uploadDir: string): Promise<{ body: Buffer; refusal?: CompleteRefusal }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const xml = body.toString('utf8');
  const parts = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
    number: Number(/<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1])?.[1]),
    etag: unquote(/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1])?.[1] ?? ''),
  }));
  if (parts.length === 0) return { body }; // s3rver answers MalformedXML
  for (let i = 1; i < parts.length; i++) {
    if (!(parts[i].number > parts[i - 1].number)) {
      return {
        body,
        refusal: {
          status: 400,
          code: 'InvalidPartOrder',
          message: 'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
        },
      };
    }
  }
  const invalidPart: CompleteRefusal = {
    status: 400,
    code: 'InvalidPart',
    message:
      "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
  };
  for (const [i, part] of parts.entries()) {
    if (!Number.isInteger(part.number) || part.number < 1 || part.number > 10_000) return { body, refusal: invalidPart };
    const file = path.join(uploadDir, String(part.number));
    let size: number;
    let md5: string;
    try {
      [size, md5] = await Promise.all([fsp.stat(file).then((s) => s.size), fsp.readFile(`${file}.md5`, 'utf8')]);
    } catch {
      return { body, refusal: invalidPart };
    }
    if (unquote(md5) !== part.etag) return { body, refusal: invalidPart };
    if (i < parts.length - 1 && size < MIN_PART_SIZE) {
      return {
        body,
        refusal: { status: 400, code: 'EntityTooSmall', message: 'Your proposed upload is smaller than the minimum allowed object size.' },
      };
    }
  }
  return { body };
}

/** The request again, with its body already read: what s3rver's Koa app reads from. */
export function replayRequest(req: IncomingMessage, body: Buffer): IncomingMessage {
  const replay = Readable.from([body]) as unknown as IncomingMessage;
  for (const prop of [
    'headers',
    'rawHeaders',
    'method',
    'url',
    'httpVersion',
    'httpVersionMajor',
    'httpVersionMinor',
    'socket',
    'trailers',
    'rawTrailers',
  ] as const) {
    Object.defineProperty(replay, prop, { value: req[prop], writable: true, configurable: true });
  }
  Object.defineProperty(replay, 'connection', { value: req.socket, writable: true, configurable: true });
  return replay;
}
