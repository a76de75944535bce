/**
 * How the local S3 stores object keys on disk. S3 treats a key as an opaque string: `a/../b`, `./x`,
 * `a//b` and `._S3rver_uploads/…` are ordinary, distinct keys. s3rver's file-system store joins the
 * key's segments into a path as they are, so such keys would land outside the bucket's folder (or
 * outside the data folder), collide with each other, or with s3rver's own files. The store's
 * key↔path mapping is replaced here by an injective one that keeps every key inside its bucket folder:
 *
 *   "&"                                  → "&26"
 *   a control character (U+0000–U+001F, U+007F) → "&" + two hex digits
 *   "." opening a segment                → "&2e"   (so no segment is ".", ".." or a hidden s3rver file)
 *   an empty segment before a "/"        → "&-"    (so "a//b" and "a/b" stay two objects)
 *
 * Each choice depends only on the characters before it, so the encoding of a prefix is a prefix of
 * the encoding of every key that starts with it (ListObjects' prefix walk relies on this). The object
 * removal's empty-folder cleanup walks the encoded path too (s3rver walked the raw key).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';

export function encodeKeyPath(key: string): string {
  let out = '';
  let segmentStart = true;
  for (const ch of key) {
    const code = ch.charCodeAt(0);
    if (ch === '/') {
      out += segmentStart ? '&-/' : '/';
      segmentStart = true;
      continue;
    }
    if (ch === '&') out += '&26';
    else if (code < 0x20 || code === 0x7f) out += `&${code.toString(16).padStart(2, '0')}`;
    else if (ch === '.' && segmentStart) out += '&2e';
    else out += ch;
    segmentStart = false;
  }
  return out;
}

export function decodeKeyPath(encoded: string): string {
  return encoded.replace(/&(-|[0-9a-f]{2})/g, (_, code: string) => (code === '-' ? '' : String.fromCharCode(parseInt(code, 16))));
}

interface FilesystemStoreClass {
  encodeKeyPath(key: string): string;
  decodeKeyPath(keyPath: string): string;
  prototype: {
    rootDirectory: string;
    getResourcePath(bucket: string, key: string, resource: string): string;
    deleteObject(bucket: string, key: string): Promise<void>;
  };
}

let installed = false;

/** Makes s3rver's file-system store use the mapping above (once per process). */
export function installSafeKeyPaths(): void {
  if (installed) return;
  installed = true;
  const store: FilesystemStoreClass = require('s3rver/lib/stores/filesystem');
  store.encodeKeyPath = encodeKeyPath;
  store.decodeKeyPath = decodeKeyPath;
  store.prototype.deleteObject = async function deleteObject(bucket: string, key: string): Promise<void> {
    await Promise.all(
      ['object', 'object.md5', 'metadata.json'].map((resource) =>
        fsp.unlink(this.getResourcePath(bucket, key, resource)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        }),
      ),
    );
    // remove the folders the key's segments made, while empty (never above the bucket's folder)
    const bucketPath = path.join(this.rootDirectory, bucket);
    const parts = encodeKeyPath(key).split('/');
    parts.pop();
    while (parts.length) {
      const dir = path.join(bucketPath, ...parts);
      const entries = await fsp.readdir(dir).catch(() => undefined);
      if (!entries || entries.length) break;
      await fsp.rmdir(dir).catch(() => undefined);
      parts.pop();
    }
  };
}
