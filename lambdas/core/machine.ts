/**
 * The Machine: a compute instance whose boot disk is an object in the disks bucket. Creating an
 * image needs a stopped machine.
 */
export type MachineState = 'running' | 'stopped' | 'provisioning' | 'failed' | 'deleted';

export interface MachineDisk {
  id: string;
  boot: boolean;
  /** Size in bytes of the raw disk. */
  size: number;
  /** Object key in the disks bucket. */
  key: string;
}

export interface Machine {
  id: string;
  owner: string;
  name: string;
  state: MachineState;
  os: string;
  type: string;
  /** The image this machine was provisioned from (a placeholder id when unknown). */
  image: string;
  disks: MachineDisk[];
  /** The package (size) it was provisioned with, by id; absent for registered machines. */
  package?: string;
  created_at: string;
  updated_at: string;
  /** Why provisioning failed (state `failed`): a code and a message a user can act on. */
  error?: { code: string; message: string };
  rev: number;
}

export const bootDisk = (m: Machine): MachineDisk | undefined => m.disks.find((d) => d.boot) ?? m.disks[0];
