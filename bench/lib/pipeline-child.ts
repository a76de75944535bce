/**
 * One measured pipeline case, run in a fresh process by bench/pipeline.ts so that its peak RSS
 * (`process.resourceUsage().maxRSS`) belongs to that case alone.
 *
 * Usage: node <bundle of this file> '<json ChildCase>'; prints one JSON line (ChildResult).
 */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { buildImageFile, createDiscardSink, createS3MultipartSink, type Compression, type PipelineStats } from '../../lambdas/pipeline';
import { s3rverClient } from './s3rver';

export type ChildCase =
  | {
      kind: 'local';
      file: string;
      size: number;
      compression: Compression;
      level?: number;
      storeIncompressible?: boolean;
      chunkSize?: number;
      maxChunksInFlight?: number;
    }
  | {
      kind: 's3';
      endpoint: string;
      bucket: string;
      sourceKey: string;
      compression: Compression;
      level?: number;
      chunkSize?: number;
      maxChunksInFlight?: number;
      partSize?: number;
      queueSize?: number;
    }
  | { kind: 'sha256'; file: string }
  | { kind: 's3get'; endpoint: string; bucket: string; sourceKey: string }
  | { kind: 'idle' };

export interface ChildResult {
  wallS: number;
  cpuS: number;
  maxRssMiB: number;
  inBytes: number;
  outBytes: number;
  sha256?: string;
  verified?: boolean;
  stats?: PipelineStats;
}

const MiB = 1024 * 1024;

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function measure(c: ChildCase): Promise<ChildResult> {
  switch (c.kind) {
    case 'idle': {
      require('@aws-sdk/client-s3');
      return { wallS: 0, cpuS: cpuSeconds(), maxRssMiB: process.resourceUsage().maxRSS / 1024, inBytes: 0, outBytes: 0 };
    }
    case 'sha256': {
      const hash = createHash('sha256');
      let n = 0;
      const t0 = performance.now();
      const c0 = cpuSeconds();
      for await (const piece of createReadStream(c.file, { highWaterMark: MiB })) {
        hash.update(piece as Buffer);
        n += (piece as Buffer).length;
      }
      const sha256 = hash.digest('hex');
      return {
        wallS: (performance.now() - t0) / 1000,
        cpuS: cpuSeconds() - c0,
        maxRssMiB: process.resourceUsage().maxRSS / 1024,
        inBytes: n,
        outBytes: 0,
        sha256,
      };
    }
    case 's3get': {
      // the local S3's read rate alone: GetObject → sha256
      const client = s3rverClient(c.endpoint);
      try {
        const hash = createHash('sha256');
        let n = 0;
        const t0 = performance.now();
        const c0 = cpuSeconds();
        const get = await client.send(new GetObjectCommand({ Bucket: c.bucket, Key: c.sourceKey }));
        for await (const piece of get.Body as AsyncIterable<Buffer>) {
          hash.update(piece);
          n += piece.length;
        }
        const sha256 = hash.digest('hex');
        return {
          wallS: (performance.now() - t0) / 1000,
          cpuS: cpuSeconds() - c0,
          maxRssMiB: process.resourceUsage().maxRSS / 1024,
          inBytes: n,
          outBytes: 0,
          sha256,
        };
      } finally {
        client.destroy();
      }
    }
    case 'local': {
      let stats: PipelineStats | undefined;
      const t0 = performance.now();
      const c0 = cpuSeconds();
      const result = await buildImageFile({
        source: createReadStream(c.file, { highWaterMark: MiB }),
        sourceSize: c.size,
        compression: c.compression,
        level: c.level,
        storeIncompressible: c.storeIncompressible,
        chunkSize: c.chunkSize,
        maxChunksInFlight: c.maxChunksInFlight,
        sink: createDiscardSink(),
        onStats: (s) => {
          stats = s;
        },
      });
      const wallS = (performance.now() - t0) / 1000;
      return {
        wallS,
        cpuS: cpuSeconds() - c0,
        maxRssMiB: process.resourceUsage().maxRSS / 1024,
        inBytes: result.sourceBytes,
        outBytes: result.size,
        sha256: result.sha256,
        stats,
      };
    }
    case 's3': {
      const client = s3rverClient(c.endpoint);
      try {
        const key = `images/bench-${c.compression}-${process.pid}`;
        let stats: PipelineStats | undefined;
        const t0 = performance.now();
        const c0 = cpuSeconds();
        const head = await client.send(new HeadObjectCommand({ Bucket: c.bucket, Key: c.sourceKey }));
        const get = await client.send(new GetObjectCommand({ Bucket: c.bucket, Key: c.sourceKey }));
        const sink = createS3MultipartSink({
          client,
          bucket: c.bucket,
          key,
          partSize: c.partSize,
          queueSize: c.queueSize,
          sizeHint: Math.ceil(head.ContentLength! * 1.01) + MiB,
        });
        const result = await buildImageFile({
          source: get.Body as NodeJS.ReadableStream,
          sourceSize: head.ContentLength!,
          compression: c.compression,
          level: c.level,
          chunkSize: c.chunkSize,
          maxChunksInFlight: c.maxChunksInFlight,
          sink,
          onStats: (s) => {
            stats = s;
          },
        });
        const wallS = (performance.now() - t0) / 1000;
        const cpuS = cpuSeconds() - c0;
        const maxRssMiB = process.resourceUsage().maxRSS / 1024;
        // not timed: the stored object must hash to what the pipeline reported
        const stored = await client.send(new GetObjectCommand({ Bucket: c.bucket, Key: key }));
        const hash = createHash('sha256');
        let storedBytes = 0;
        for await (const piece of stored.Body as AsyncIterable<Buffer>) {
          hash.update(piece);
          storedBytes += piece.length;
        }
        const verified = storedBytes === result.size && hash.digest('hex') === result.sha256;
        await client.send(new DeleteObjectCommand({ Bucket: c.bucket, Key: key }));
        return { wallS, cpuS, maxRssMiB, inBytes: result.sourceBytes, outBytes: result.size, sha256: result.sha256, verified, stats };
      } finally {
        client.destroy();
      }
    }
  }
}

if (require.main === module) {
  measure(JSON.parse(process.argv[2]) as ChildCase).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
