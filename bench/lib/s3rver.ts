/**
 * An in-process s3rver 3.7.1 on an ephemeral loopback port, for the pipeline tests and benchmark
 * (plain s3rver: no AbortMultipartUpload, which the pipeline tests check with a fake client).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { localS3Client } from '../../local/s3';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// s3rver ships no type declarations; this is the part used here.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  httpServer?: Server;
}
type S3rverCtor = new (options: {
  port: number;
  address: string;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}) => S3rverInstance;
const S3rver: S3rverCtor = require('s3rver');

export interface LocalS3rver {
  endpoint: string;
  /** A client configured as docs/local-emulation.md §2 requires (checksums WHEN_REQUIRED). */
  client(): S3Client;
  close(): Promise<void>;
}

/** The same client settings the local stack uses. */
export const s3rverClient = localS3Client;

export async function startS3rver(opts: { directory: string; buckets: string[] }): Promise<LocalS3rver> {
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    directory: opts.directory,
    silent: true,
    configureBuckets: opts.buckets.map((name) => ({ name })),
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const clients: S3Client[] = [];
  return {
    endpoint,
    client() {
      const c = s3rverClient(endpoint);
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      const http = server.httpServer;
      if (!http) return;
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
