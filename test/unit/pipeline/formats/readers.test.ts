/**
 * Our readers on files qemu-img wrote (what users upload for an import): qcow2 plain and compressed,
 * vmdk streamOptimized and monolithicSparse, vhd dynamic and fixed, all read back to the source
 * disk byte for byte; and the refusals (a backing file, a descriptor-only vmdk, a damaged header).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DiskFormatError, bufferSource, cachedSource, collect, openDisk } from '../../../../lambdas/pipeline/formats';
import { hasQemuImg, qemuImg, testDisks } from '../../../helpers/disk-formats';

const dir = mkdtempSync(path.join(tmpdir(), 'readers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const QEMU: { label: string; args: string[]; format: 'qcow2' | 'vmdk' | 'vhd' }[] = [
  { label: 'qcow2', args: ['-O', 'qcow2'], format: 'qcow2' },
  { label: 'qcow2 -c', args: ['-c', '-O', 'qcow2'], format: 'qcow2' },
  { label: 'qcow2 v2, 4 KiB clusters', args: ['-O', 'qcow2', '-o', 'compat=0.10,cluster_size=4096'], format: 'qcow2' },
  { label: 'vmdk streamOptimized', args: ['-O', 'vmdk', '-o', 'subformat=streamOptimized'], format: 'vmdk' },
  { label: 'vmdk monolithicSparse', args: ['-O', 'vmdk'], format: 'vmdk' },
  { label: 'vpc dynamic', args: ['-O', 'vpc', '-o', 'force_size=on'], format: 'vhd' },
  { label: 'vpc fixed', args: ['-O', 'vpc', '-o', 'subformat=fixed,force_size=on'], format: 'vhd' },
];
const disks = testDisks().filter((d) => d.data.length % 512 === 0);
const cases = QEMU.flatMap((q) => disks.map((d) => ({ ...q, disk: d.name, data: d.data })));
const maybe = hasQemuImg ? describe : describe.skip;

maybe('disk-format readers on qemu-img output', () => {
  it.each(cases)(
    '$label of $disk reads back as the source disk',
    async ({ label, args, format, disk, data }) => {
      const source = path.join(dir, `${disk}.raw`);
      writeFileSync(source, data);
      const file = path.join(dir, `${disk}.${label.replace(/[^a-z0-9]+/gi, '-')}`);
      const convert = qemuImg(['convert', '-f', 'raw', ...args, source, file]);
      expect(convert.status).toBe(0);
      const reader = await openDisk(format, cachedSource(bufferSource(readFileSync(file)), 64 * 1024, 3));
      expect(reader.virtualSize).toBe(data.length);
      expect((await collect(reader.stream())).equals(data)).toBe(true);
    },
    60_000,
  );

  it('refuses a qcow2 with a backing file, naming the way out', async () => {
    const base = path.join(dir, 'base.qcow2');
    const overlay = path.join(dir, 'overlay.qcow2');
    qemuImg(['create', '-f', 'qcow2', base, '1M']);
    qemuImg(['create', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay]);
    await expect(openDisk('qcow2', bufferSource(readFileSync(overlay)))).rejects.toThrow(/backing file.*qemu-img convert/);
  }, 60_000);
});

describe('disk-format readers refuse damaged files', () => {
  it('a vmdk descriptor without its extents', async () => {
    const text = Buffer.from('# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\nRW 2048 FLAT "disk-flat.vmdk" 0\n');
    await expect(openDisk('vmdk', bufferSource(text))).rejects.toThrow(/separate extent files/);
  });

  it('a qcow2 whose L1 table lies past the end of the file', async () => {
    const h = Buffer.alloc(512);
    h.write('QFI\xfb', 0, 'latin1');
    h.writeUInt32BE(3, 4);
    h.writeUInt32BE(16, 20);
    h.writeBigUInt64BE(BigInt(1024 ** 3), 24);
    h.writeUInt32BE(2, 36);
    h.writeBigUInt64BE(65536n, 40);
    h.writeUInt32BE(104, 100);
    await expect(openDisk('qcow2', bufferSource(h))).rejects.toThrow(DiskFormatError);
  });

  it('a vhd whose footer checksum is wrong', async () => {
    const f = Buffer.alloc(1024);
    f.write('conectix', 512, 'latin1');
    f.writeBigUInt64BE(512n, 512 + 48);
    f.writeUInt32BE(2, 512 + 60);
    await expect(openDisk('vhd', bufferSource(f))).rejects.toThrow(/checksum/);
  });
});
