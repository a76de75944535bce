/**
 * Every writer against qemu-img: `check` passes (qcow2, vmdk), `info` names the format and the
 * virtual size, `compare` finds the file identical to the source disk, and our reader turns the file
 * back into the source bytes (zero-padded to a whole sector).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { bufferSource, collect, createWriter, fileInfo, openDisk, type OutputSpec } from '../../../../lambdas/pipeline/formats';
import { detectFormat } from '../../../../lambdas/pipeline/detect-format';
import { hasQemuImg, qemuImg, testDisks, writeFile } from '../../../helpers/disk-formats';

const dir = mkdtempSync(path.join(tmpdir(), 'formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPECS: { label: string; spec: OutputSpec; qemu: string; check: boolean }[] = [
  { label: 'qcow2', spec: { format: 'qcow2' }, qemu: 'qcow2', check: true },
  { label: 'qcow2 compressed', spec: { format: 'qcow2', compressed: true }, qemu: 'qcow2', check: true },
  { label: 'vmdk streamOptimized', spec: { format: 'vmdk', subformat: 'streamOptimized' }, qemu: 'vmdk', check: true },
  { label: 'vmdk monolithicSparse', spec: { format: 'vmdk', subformat: 'monolithicSparse' }, qemu: 'vmdk', check: true },
  { label: 'vhd dynamic', spec: { format: 'vhd', subformat: 'dynamic' }, qemu: 'vpc', check: false },
  { label: 'vhd fixed', spec: { format: 'vhd', subformat: 'fixed' }, qemu: 'vpc', check: false },
];

const disks = testDisks();
const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
const cases = SPECS.flatMap((s) => disks.map((d) => ({ ...s, disk: d.name, data: d.data })));
const maybe = hasQemuImg ? describe : describe.skip;

maybe('disk-format writers, checked by qemu-img', () => {
  it.each(cases)(
    '$label of $disk: qemu-img check/info/compare, detected, read back byte for byte',
    async ({ label, spec, qemu, check, disk, data }) => {
      // Prepare
      const source = path.join(dir, `${disk}.raw`);
      writeFileSync(source, data);
      const file = path.join(dir, `${disk}.${label.replace(/ /g, '-')}.${fileInfo(spec.format).extension}`);
      const writer = createWriter(spec, { virtualSize: data.length });

      // Act
      const written = await writeFile(writer, data, file);

      // Assert
      const bytes = readFileSync(file);
      expect(bytes.length).toBe(written);
      if (check) {
        const result = qemuImg(['check', '-f', qemu, file]);
        expect(result.out).toMatch(/No errors were found/);
        expect(result.status).toBe(0);
      }
      const info = JSON.parse(qemuImg(['info', '--output=json', '-f', qemu, file]).out) as { format: string; 'virtual-size': number };
      expect(info.format).toBe(qemu);
      expect(info['virtual-size']).toBe(padded(data).length);
      expect(writer.virtualSize).toBe(padded(data).length);
      const compare = qemuImg(['compare', '-f', 'raw', '-F', qemu, source, file]);
      expect(compare.out).toMatch(/Images are identical/);
      expect(detectFormat({ head: bytes.subarray(0, 65536), tail: bytes.subarray(bytes.length - 512), size: bytes.length })).toEqual({
        format: spec.format,
        virtualSize: padded(data).length,
      });
      const reader = await openDisk(spec.format as 'qcow2', bufferSource(bytes));
      expect(reader.virtualSize).toBe(padded(data).length);
      expect((await collect(reader.stream())).equals(padded(data))).toBe(true);
    },
    60_000,
  );

  it('leaves all-zero regions sparse: a zero disk is tiny in every sparse format, a disk with data only at its end holds one block', async () => {
    const zero = Buffer.alloc(64 * 1024 * 1024);
    for (const spec of [
      { format: 'qcow2' },
      { format: 'vmdk' },
      { format: 'vmdk', subformat: 'monolithicSparse' },
      { format: 'vhd' },
    ] as OutputSpec[]) {
      const writer = createWriter(spec, { virtualSize: zero.length });
      const size = await writeFile(writer, zero, path.join(dir, 'zero-64m'));
      expect(size).toBeLessThanOrEqual(4 * 65536); // qcow2: header, L1, refcount table and block
    }
    const end = Buffer.alloc(64 * 1024 * 1024);
    end.fill(1, end.length - 10);
    const q = await writeFile(createWriter({ format: 'qcow2' }, { virtualSize: end.length }), end, path.join(dir, 'end-64m'));
    expect(q).toBe(6 * 65536); // header, L1, refcount table, one data cluster, L2, refcount block
  });

  it('compresses: compressed qcow2 and streamOptimized vmdk of text are a fraction of it', async () => {
    const text = disks.find((d) => d.name === 'text')!.data;
    for (const spec of [{ format: 'qcow2', compressed: true }, { format: 'vmdk' }] as OutputSpec[]) {
      const size = await writeFile(createWriter(spec, { virtualSize: text.length }), text, path.join(dir, 'text-c'));
      expect(size).toBeLessThan(text.length / 4);
    }
  }, 60_000);

  it('ova: .ovf first, then the vmdk and a manifest whose SHA256 lines match; the vmdk passes the same checks', async () => {
    // Prepare
    const data = disks.find((d) => d.name === 'mixed')!.data;
    const source = path.join(dir, 'ova-source.raw');
    writeFileSync(source, data);
    const file = path.join(dir, 'vm.ova');
    const writer = createWriter({ format: 'ova', ova: { name: 'web <01> & co', cpus: 2, memoryMiB: 2048 } }, { virtualSize: data.length });

    // Act
    await writeFile(writer, data, file);

    // Assert
    const listing = execFileSync('tar', ['-tf', file]).toString().trim().split('\n');
    expect(listing).toEqual(['web__01____co.ovf', 'web__01____co-disk1.vmdk', 'web__01____co.mf']);
    const out = path.join(dir, 'ova-x');
    mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    expect(readdirSync(out).sort()).toEqual([...listing].sort());
    const manifest = readFileSync(path.join(out, listing[2]), 'utf8').trim().split('\n');
    expect(manifest).toEqual(
      listing.slice(0, 2).map(
        (f) =>
          `SHA256(${f})= ${createHash('sha256')
            .update(readFileSync(path.join(out, f)))
            .digest('hex')}`,
      ),
    );
    const ovf = readFileSync(path.join(out, listing[0]), 'utf8');
    expect(ovf).toContain('<Envelope ovf:version="1.0"');
    expect(ovf).toContain(`ovf:capacity="${padded(data).length}"`);
    expect(ovf).toContain('ovf:href="web__01____co-disk1.vmdk"');
    expect(ovf).toContain('<Name>web &lt;01&gt; &amp; co</Name>');
    expect(ovf).toMatch(/<rasd:VirtualQuantity>2048<\/rasd:VirtualQuantity>/);
    const vmdk = path.join(out, listing[1]);
    expect(qemuImg(['check', '-f', 'vmdk', vmdk]).out).toMatch(/No errors were found/);
    expect(qemuImg(['compare', '-f', 'raw', '-F', 'vmdk', source, vmdk]).out).toMatch(/Images are identical/);
    expect(readFileSync(vmdk, 'latin1')).toContain('createType="streamOptimized"');
    const reader = await openDisk('ova', bufferSource(readFileSync(file)));
    expect((await collect(reader.stream())).equals(padded(data))).toBe(true);
  }, 60_000);
});
