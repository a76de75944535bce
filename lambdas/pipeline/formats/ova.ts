/**
 * OVA: a tar (ustar) of, in this order, an OVF 1.0 descriptor (`<name>.ovf`, first, as the OVF
 * specification requires of an OVA), the disk as a streamOptimized vmdk (`<name>-disk1.vmdk`) and a
 * manifest (`<name>.mf`) with each file's SHA256, in the `SHA256(file)= hex` form ovftool and
 * VirtualBox check.
 *
 * Tar headers come from node-tar's Header (a well-kept implementation of the ustar header and its
 * checksum); the stream framing around them (512-byte padding, the two zero blocks at the end) is
 * done here because the vmdk's size is only known after it has been written, and tar libraries want
 * an entry's size before its data. So the vmdk entry's header is the last piece of the head: the
 * body carries a placeholder and head() returns the real header once the vmdk has ended. The OVF
 * XML is built with fast-xml-parser's XMLBuilder.
 */
import { createHash } from 'node:crypto';
import { XMLBuilder } from 'fast-xml-parser';
import { Header } from 'tar';
import { DiskFormatError, roundUp, zeros, type DiskReader, type DiskWriter, type RandomAccessSource, type RawSource } from './stage';
import { createVmdkWriter, openVmdk } from './vmdk';

const BLOCK = 512;

export interface OvaWriterOptions {
  virtualSize: number;
  name?: string;
  description?: string;
  cpus?: number;
  memoryMiB?: number;
  osTypeId?: number;
  level?: number;
  concurrency?: number;
  /** Modification time of the tar entries (default: now). */
  mtime?: Date;
}

function tarHeader(path: string, size: number, mtime: Date): Buffer {
  const block = Buffer.alloc(BLOCK);
  new Header({ path, size, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime, type: 'File' }).encode(block, 0);
  return block;
}

const pad = (n: number): Buffer => zeros(roundUp(n, BLOCK) - n);

const safeName = (name: string): string => name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60) || 'disk';

/** The OVF 1.0 envelope: one virtual system with one disk on an LSI Logic SCSI controller and one NIC. */
export function ovfDescriptor(o: {
  name: string;
  description?: string;
  diskFile: string;
  capacity: number;
  cpus: number;
  memoryMiB: number;
  osTypeId: number;
}): string {
  const item = (fields: Record<string, string | number | boolean>) =>
    Object.fromEntries(
      Object.keys(fields)
        .sort()
        .map((k) => [`rasd:${k}`, fields[k]]),
    );
  const envelope = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    Envelope: {
      '@_ovf:version': '1.0',
      '@_xmlns': 'http://schemas.dmtf.org/ovf/envelope/1',
      '@_xmlns:ovf': 'http://schemas.dmtf.org/ovf/envelope/1',
      '@_xmlns:rasd': 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData',
      '@_xmlns:vssd': 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData',
      '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      References: { File: { '@_ovf:href': o.diskFile, '@_ovf:id': 'file1' } },
      DiskSection: {
        Info: 'Virtual disk information',
        Disk: {
          '@_ovf:capacity': String(o.capacity),
          '@_ovf:capacityAllocationUnits': 'byte',
          '@_ovf:diskId': 'vmdisk1',
          '@_ovf:fileRef': 'file1',
          '@_ovf:format': 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized',
        },
      },
      NetworkSection: { Info: 'The list of logical networks', Network: { '@_ovf:name': 'nat', Description: 'The nat network' } },
      VirtualSystem: {
        '@_ovf:id': o.name,
        Info: o.description ?? 'A virtual machine',
        Name: o.name,
        OperatingSystemSection: { '@_ovf:id': String(o.osTypeId), Info: 'The kind of installed guest operating system' },
        VirtualHardwareSection: {
          Info: 'Virtual hardware requirements',
          System: {
            'vssd:ElementName': 'Virtual Hardware Family',
            'vssd:InstanceID': 0,
            'vssd:VirtualSystemIdentifier': o.name,
            'vssd:VirtualSystemType': 'vmx-07',
          },
          Item: [
            item({
              AllocationUnits: 'hertz * 10^6',
              Description: 'Number of Virtual CPUs',
              ElementName: `${o.cpus} virtual CPU(s)`,
              InstanceID: 1,
              ResourceType: 3,
              VirtualQuantity: o.cpus,
            }),
            item({
              AllocationUnits: 'byte * 2^20',
              Description: 'Memory Size',
              ElementName: `${o.memoryMiB}MB of memory`,
              InstanceID: 2,
              ResourceType: 4,
              VirtualQuantity: o.memoryMiB,
            }),
            item({
              Description: 'SCSI Controller',
              ElementName: 'scsiController0',
              InstanceID: 3,
              ResourceSubType: 'lsilogic',
              ResourceType: 6,
            }),
            item({
              AddressOnParent: 0,
              ElementName: 'disk1',
              HostResource: 'ovf:/disk/vmdisk1',
              InstanceID: 4,
              Parent: 3,
              ResourceType: 17,
            }),
            item({
              AutomaticAllocation: true,
              Connection: 'nat',
              ElementName: 'ethernet0',
              InstanceID: 5,
              ResourceSubType: 'E1000',
              ResourceType: 10,
            }),
          ],
        },
      },
    },
  };
  return new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: true }).build(
    envelope,
  ) as string;
}

/** What surrounds the vmdk in an ova: the tar bytes before it and after it (ova-by-ranges composes them around a stored vmdk). */
export interface OvaEntries {
  /** The vmdk's entry name, which its descriptor names as its extent (`<name>-disk1.vmdk`). */
  diskFile: string;
  /** The `.ovf` entry (header, descriptor, padding): the same bytes whatever the vmdk. */
  ovfPart: Buffer;
  /** Every tar byte before the vmdk: the `.ovf` entry and the vmdk's header (a multiple of 512). */
  head(vmdkSize: number): Buffer;
  /** Every tar byte after the vmdk: its padding, the `.mf` entry with both SHA256 lines, the two zero blocks. */
  tail(vmdkSize: number, vmdkSha256: string): Buffer;
}

/** The vmdk's entry name in an ova named `name` (the ova writer's and the ova range build's). */
export const ovaDiskFile = (name?: string): string => `${safeName(name ?? 'disk')}-disk1.vmdk`;

/** The tar entries of an ova around its streamOptimized vmdk of `virtualSize` (rounded up to sectors). */
export function ovaEntries(opts: Omit<OvaWriterOptions, 'level' | 'concurrency'>): OvaEntries {
  const name = safeName(opts.name ?? 'disk');
  const mtime = opts.mtime ?? new Date();
  const diskFile = ovaDiskFile(opts.name);
  const ovf = Buffer.from(
    ovfDescriptor({
      name: opts.name ?? name,
      description: opts.description,
      diskFile,
      capacity: roundUp(opts.virtualSize, BLOCK),
      cpus: opts.cpus ?? 1,
      memoryMiB: opts.memoryMiB ?? 1024,
      osTypeId: opts.osTypeId ?? 101,
    }),
  );
  const ovfPart = Buffer.concat([tarHeader(`${name}.ovf`, ovf.length, mtime), ovf, pad(ovf.length)]);
  const ovfSha256 = createHash('sha256').update(ovf).digest('hex');
  return {
    diskFile,
    ovfPart,
    head: (vmdkSize) => Buffer.concat([ovfPart, tarHeader(diskFile, vmdkSize, mtime)]),
    tail(vmdkSize, vmdkSha256) {
      const manifest = Buffer.from(`SHA256(${name}.ovf)= ${ovfSha256}\nSHA256(${diskFile})= ${vmdkSha256}\n`);
      return Buffer.concat([
        pad(vmdkSize),
        tarHeader(`${name}.mf`, manifest.length, mtime),
        manifest,
        pad(manifest.length),
        zeros(2 * BLOCK),
      ]);
    },
  };
}

export function createOvaWriter(opts: OvaWriterOptions): DiskWriter {
  const entries = ovaEntries(opts);
  const vmdk = createVmdkWriter({
    virtualSize: opts.virtualSize,
    subformat: 'streamOptimized',
    fileName: entries.diskFile,
    level: opts.level,
    concurrency: opts.concurrency,
  });
  const headSize = entries.ovfPart.length + BLOCK;
  let vmdkSize: number | undefined;
  return {
    format: 'ova',
    virtualSize: vmdk.virtualSize,
    headSize,
    retainBytes: vmdk.retainBytes,
    head() {
      if (vmdkSize === undefined) throw new Error('ova head() before the body ended');
      return entries.head(vmdkSize);
    },
    async *write(raw: RawSource) {
      yield zeros(headSize);
      const hash = createHash('sha256');
      let size = 0;
      for await (const b of vmdk.write(raw)) {
        hash.update(b);
        size += b.length;
        yield b;
      }
      yield entries.tail(size, hash.digest('hex'));
      vmdkSize = size;
    },
  };
}

/** The bytes [offset, offset + size) of a source, as a source (an entry inside a tar). */
function window(source: RandomAccessSource, offset: number, size: number): RandomAccessSource {
  return {
    size,
    read: (at, length) => {
      if (at < 0 || at + length > size)
        throw new DiskFormatError(`read of ${length} bytes at ${at} is past the end of the entry (${size} bytes)`);
      return source.read(offset + at, length);
    },
  };
}

/** Reads the disk of an OVA: its first .vmdk entry (tar headers walked with node-tar's Header). */
export async function openOva(source: RandomAccessSource): Promise<DiskReader> {
  for (let at = 0; at + BLOCK <= source.size; ) {
    const block = await source.read(at, BLOCK);
    if (block.every((b) => b === 0)) break;
    const header = new Header(block);
    if (!header.cksumValid) throw new DiskFormatError('ova: a tar header is damaged');
    const size = header.size ?? 0;
    const start = at + BLOCK;
    if (start + size > source.size) throw new DiskFormatError('ova: an entry runs past the end of the file');
    if (header.type === 'File' && /\.vmdk$/i.test(header.path ?? '')) return openVmdk(window(source, start, size));
    at = start + roundUp(size, BLOCK);
  }
  throw new DiskFormatError('ova: no .vmdk disk inside');
}
