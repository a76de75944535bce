/**
 * IMS test fixtures: tiny but valid disk-image headers of each detectable format, machines with data
 * disks, and files put into an account's bucket area (user-buckets/<account>/<bucket>/<key>).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Machine } from '../../lambdas/core/machine';
import { userBucketKey } from '../../lambdas/core/user-bucket';

export const GiB = 1024 ** 3;

/** A qcow2 v3 header (QFI\xfb, version 3, cluster bits 16, virtual size at 24). */
export function qcow2(virtualSize: number): Buffer {
  const b = Buffer.alloc(512);
  b.write('QFI\xfb', 0, 'latin1');
  b.writeUInt32BE(3, 4);
  b.writeUInt32BE(16, 20);
  b.writeBigUInt64BE(BigInt(virtualSize), 24);
  b.writeUInt32BE(104, 100); // header length (v3)
  return b;
}

/** A hosted sparse VMDK extent header: KDMV, version 1, capacity in sectors at 12. */
export function vmdkSparse(virtualSize: number): Buffer {
  const b = Buffer.alloc(512);
  b.write('KDMV', 0, 'latin1');
  b.writeUInt32LE(1, 4);
  b.writeUInt32LE(3, 8);
  b.writeBigUInt64LE(BigInt(virtualSize / 512), 12);
  b.writeBigUInt64LE(128n, 20); // grain size
  return b;
}

/** A VMDK text descriptor with two extents. */
export function vmdkDescriptor(sectorsA: number, sectorsB: number): Buffer {
  return Buffer.from(
    [
      '# Disk DescriptorFile',
      'version=1',
      'CID=fffffffe',
      'parentCID=ffffffff',
      'createType="twoGbMaxExtentSparse"',
      '',
      '# Extent description',
      `RW ${sectorsA} SPARSE "disk-s001.vmdk"`,
      `RW ${sectorsB} SPARSE "disk-s002.vmdk"`,
      '',
      'ddb.virtualHWVersion = "4"',
      '',
    ].join('\n'),
  );
}

/** A VHD footer: conectix, disk type (2 fixed, 3 dynamic), current size at 48. */
export function vhdFooter(virtualSize: number, diskType = 2): Buffer {
  const f = Buffer.alloc(512);
  f.write('conectix', 0, 'latin1');
  f.writeUInt32BE(2, 8);
  f.writeUInt32BE(0x00010000, 12);
  f.writeBigUInt64BE(BigInt(virtualSize), 40);
  f.writeBigUInt64BE(BigInt(virtualSize), 48);
  f.writeUInt32BE(diskType, 60);
  return f;
}

/** A fixed VHD: the raw data, then the footer. */
export const vhdFixed = (data: Buffer) => Buffer.concat([data, vhdFooter(data.length, 2)]);

/** An ISO 9660 image: system area, then a primary volume descriptor "CD001" at 0x8001. */
export function iso(size = 0x8800): Buffer {
  const b = Buffer.alloc(size);
  b[0x8000] = 1;
  b.write('CD001', 0x8001, 'latin1');
  b[0x8006] = 1;
  return b;
}

export const notADisk = () => gzipSync(randomBytes(4096));

export async function putUserObject(
  s3: S3Client,
  imagesBucket: string,
  accountId: string,
  bucket: string,
  key: string,
  body: Buffer,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({ Bucket: imagesBucket, Key: userBucketKey(accountId, { bucket, key }), Body: body, ContentLength: body.length }),
  );
}

/** Adds data disks (uploaded to the disks bucket) to a registered machine, returning the updated machine. */
export async function addDataDisks(
  deps: { s3: S3Client; disksBucket: string; update: (id: string, disks: Machine['disks']) => Promise<Machine> },
  machine: Machine,
  sizes: number[],
): Promise<Machine> {
  const disks = [...machine.disks];
  for (const size of sizes) {
    const id = randomUUID();
    const key = `machines/${machine.id}/disks/${id}.raw`;
    const body = randomBytes(size);
    await deps.s3.send(new PutObjectCommand({ Bucket: deps.disksBucket, Key: key, Body: body, ContentLength: size }));
    disks.push({ id, boot: false, size, key });
  }
  return deps.update(machine.id, disks);
}
