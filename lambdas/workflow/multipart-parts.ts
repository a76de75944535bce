/**
 * The parts of an open multipart upload, as the steps that complete one need them (AssembleFile,
 * ComposeOva, CompleteDisk, the copy loop): every part in part-number order, and the part list that
 * CompleteMultipartUpload takes.
 */
import { ListPartsCommand, type CompletedPart, type Part, type S3Client } from '@aws-sdk/client-s3';

/** Every part of the upload (all ListParts pages), in part-number order. */
export async function listAllParts(s3: S3Client, Bucket: string, Key: string, UploadId: string): Promise<Part[]> {
  const parts: Part[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId, PartNumberMarker: marker }));
    parts.push(...(page.Parts ?? []));
    if (!page.IsTruncated) return parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    marker = page.NextPartNumberMarker;
  }
}

/**
 * CompleteMultipartUpload's list for an upload created with a checksum algorithm
 * (`multipartChecksumAlgorithm`, lambdas/pipeline): each part's ETag and the checksum S3 recorded for it.
 */
export const completedParts = (parts: Part[]): CompletedPart[] =>
  parts.map((p) => ({
    PartNumber: p.PartNumber,
    ETag: p.ETag,
    ...(p.ChecksumCRC32 && { ChecksumCRC32: p.ChecksumCRC32 }),
    ...(p.ChecksumCRC32C && { ChecksumCRC32C: p.ChecksumCRC32C }),
    ...(p.ChecksumSHA1 && { ChecksumSHA1: p.ChecksumSHA1 }),
    ...(p.ChecksumSHA256 && { ChecksumSHA256: p.ChecksumSHA256 }),
  }));
