/**
 * UForge target formats and the disk formats that write them. A target format is named as UForge
 * names it (the platform: "VirtualBox", "VMware Workstation", "KVM", "Hyper-V", "OpenStack", "Raw")
 * and also answers to its primitive format name ("vbox", "qcow2", "vmdk", "vhd", "ova", "raw");
 * names match case-insensitively, ignoring spaces, "-" and "_".
 *
 * `GENERATABLE` lists the disk formats the build pipeline writes today: a known target format whose
 * disk format is not in it is refused with a 400 naming the ones that are (the pipeline's format
 * writers, lambdas/pipeline/formats/, add theirs to it as they land).
 */
import { InvalidParameterError } from '../../core/errors';
import type { TargetDiskFormat } from '../../core/image';

type DiskFormatName = TargetDiskFormat['format'];

export interface TargetFormat {
  /** UForge's name for the target format. */
  name: string;
  /** The primitive image format name (UForge's `imageFormat`). */
  primitive: string;
  type: 'virtual' | 'cloud' | 'physical';
  disk: DiskFormatName;
  /** What the build writes: the format and its variant (lambdas/pipeline/formats). */
  output: TargetDiskFormat;
  /** File extension of the generated machine image (before `.gz` when compressed). */
  extension: string;
}

export const TARGET_FORMATS: readonly TargetFormat[] = [
  { name: 'Raw', primitive: 'raw', type: 'physical', disk: 'raw', output: { format: 'raw' }, extension: 'raw' },
  { name: 'KVM', primitive: 'qcow2', type: 'virtual', disk: 'qcow2', output: { format: 'qcow2' }, extension: 'qcow2' },
  { name: 'QEMU', primitive: 'qemu', type: 'virtual', disk: 'qcow2', output: { format: 'qcow2' }, extension: 'qcow2' },
  { name: 'OpenStack', primitive: 'openstack', type: 'cloud', disk: 'qcow2', output: { format: 'qcow2' }, extension: 'qcow2' },
  { name: 'VirtualBox', primitive: 'vbox', type: 'virtual', disk: 'ova', output: { format: 'ova' }, extension: 'ova' },
  { name: 'VMware vCenter', primitive: 'vcenter', type: 'virtual', disk: 'ova', output: { format: 'ova' }, extension: 'ova' },
  {
    name: 'VMware Workstation',
    primitive: 'vmware',
    type: 'virtual',
    disk: 'vmdk',
    output: { format: 'vmdk', subformat: 'monolithicSparse' },
    extension: 'vmdk',
  },
  { name: 'Hyper-V', primitive: 'hyperv', type: 'virtual', disk: 'vhd', output: { format: 'vhd', subformat: 'dynamic' }, extension: 'vhd' },
  { name: 'OVF', primitive: 'ova', type: 'virtual', disk: 'ova', output: { format: 'ova' }, extension: 'ova' },
  {
    name: 'VMDK',
    primitive: 'vmdk',
    type: 'virtual',
    disk: 'vmdk',
    output: { format: 'vmdk', subformat: 'streamOptimized' },
    extension: 'vmdk',
  },
  { name: 'VHD', primitive: 'vhd', type: 'virtual', disk: 'vhd', output: { format: 'vhd', subformat: 'fixed' }, extension: 'vhd' },
];

/** Disk formats the build writes today (see the module comment). */
export const GENERATABLE: ReadonlySet<DiskFormatName> = new Set<DiskFormatName>(['raw', 'qcow2', 'vmdk', 'vhd', 'ova']);

const norm = (s: string) => s.toLowerCase().replace(/[\s_-]+/g, '');

export const generatableTargetFormats = (): TargetFormat[] => TARGET_FORMATS.filter((f) => GENERATABLE.has(f.disk));

/** The target format a name denotes, if it can be generated; a 400 naming the ones that can otherwise. */
export function resolveTargetFormat(name: string): TargetFormat {
  const wanted = norm(name);
  const found =
    TARGET_FORMATS.find((f) => norm(f.name) === wanted) ?? TARGET_FORMATS.find((f) => norm(f.primitive) === wanted || f.disk === wanted);
  const known = generatableTargetFormats()
    .map((f) => f.name)
    .join(', ');
  if (!found) {
    throw new InvalidParameterError(`unknown target format "${name}"; known target formats: ${known}`, [
      { field: 'targetFormat.name', code: 'Invalid', message: `must be one of ${known}` },
    ]);
  }
  if (!GENERATABLE.has(found.disk)) {
    throw new InvalidParameterError(
      `target format "${found.name}" (${found.disk}) cannot be generated yet; available target formats: ${known}`,
      [{ field: 'targetFormat.name', code: 'Invalid', message: `must be one of ${known}` }],
    );
  }
  return found;
}

export const targetFormatByName = (name: string): TargetFormat | undefined => TARGET_FORMATS.find((f) => f.name === name);
