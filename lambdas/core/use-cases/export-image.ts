/**
 * ExportImage: the owner writes an active image's file and its manifest (JSON) into the account's
 * export area at a path of their choosing (CloudAPI's `manta_path`; IMGAPI names the two objects
 * `<name>-<version>.<ext>` and `<name>-<version>.imgmanifest` under that directory), and gets a
 * short-lived download URL for the file.
 */
import type { Principal } from '../account';
import { StateConflictError, ValidationError } from '../errors';
import type { Image } from '../image';
import type { ImageFileStore, ImageRepository } from '../ports';
import { ownedImage } from './image-owner';

export const EXPORT_URL_TTL_SECONDS = 3600;

export interface ExportImageResult {
  /** Where the export area lives (a URL-like base). */
  location: string;
  imagePath: string;
  manifestPath: string;
  downloadUrl: string;
  expiresInSeconds: number;
}

/** A slash-separated path with no empty, `.` or `..` segments. */
export function normalizeExportPath(raw: string): string {
  const segments = raw.split('/').filter((s) => s !== '');
  const bad =
    segments.length === 0 || raw.length > 1024 || segments.some((s) => s === '.' || s === '..' || !/^[A-Za-z0-9._@+=, -]+$/.test(s));
  if (bad)
    throw new ValidationError('manta_path is not a valid path', [
      { field: 'manta_path', code: 'Invalid', message: 'a path of letters, digits and ._@+=,- segments' },
    ]);
  return `/${segments.join('/')}`;
}

export const exportImage =
  (deps: { images: ImageRepository; files: ImageFileStore; manifest: (image: Image) => unknown }) =>
  async (caller: Principal, id: string, opts: { path: string }): Promise<ExportImageResult> => {
    const dir = normalizeExportPath(opts.path);
    const image = await ownedImage(deps.images, caller, id, 'export');
    const file = image.files[0];
    if (image.state !== 'active' || !file)
      throw new StateConflictError(`image ${id} is ${image.state}; only active images can be exported`, image.state);
    const base = `${image.name}-${image.version}`.replace(/[^A-Za-z0-9._-]/g, '_');
    const ext = `${file.format}${file.compression === 'gzip' ? '.gz' : ''}`;
    const imagePath = `${dir}/${base}.${ext}`;
    const manifestPath = `${dir}/${base}.imgmanifest`;
    const { location, downloadUrl } = await deps.files.exportFile(file, {
      accountId: caller.accountId,
      imagePath,
      manifestPath,
      manifest: deps.manifest(image),
      expiresInSeconds: EXPORT_URL_TTL_SECONDS,
    });
    return { location, imagePath, manifestPath, downloadUrl, expiresInSeconds: EXPORT_URL_TTL_SECONDS };
  };
