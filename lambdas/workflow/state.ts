/**
 * The build workflow's state document, as it flows through the Step Functions execution (docs/architecture.md §5):
 *   PrepareSource (ResultPath $.prepared) → BuildImageFile (ResultPath $.file) → Finalize (ResultPath null)
 *   any of those, on error: Catch (ResultPath $.error) → Cleanup (ResultPath $.cleanup) → MarkFailed → Fail
 * Every task handler receives the whole document and returns only its own result.
 */
import type { BuildRequest } from '../core/ports';
import type { DiskFormat, ImageFile } from '../core/image';

export interface PreparedSource {
  /** Bytes of the source disk as stored (HeadObject). */
  size: number;
  etag?: string;
  /** Detected from the bytes when the target did not fix it (imports); BuildImageFile stores it. */
  format?: DiskFormat;
  /** Bytes of the disk the file describes (detected sources only). */
  virtualSize?: number;
}

export interface CaughtError {
  Error: string;
  Cause?: string;
}

export interface CleanupResult {
  deletedObjects: number;
  abortedUploads: number;
}

export interface BuildState extends BuildRequest {
  prepared?: PreparedSource;
  file?: ImageFile;
  error?: CaughtError;
  cleanup?: CleanupResult;
}

/** Where a build writes the image file: one prefix per image, so Cleanup knows what to remove. */
export const imageFilePrefix = (imageId: string): string => `images/${imageId}/`;
/** `extension`: a converted output's (formats/index.ts fileInfo), e.g. `file.qcow2`; none for the source's bytes. */
export const imageFileKey = (imageId: string, compression: 'gzip' | 'none', extension?: string): string =>
  `${imageFilePrefix(imageId)}file${extension ? `.${extension}` : ''}${compression === 'gzip' ? '.gz' : ''}`;
