/**
 * Packages: the machine sizes CreateMachine offers (CloudAPI's ListPackages). A fixed catalogue, in
 * code: the service provisions disks, not compute, so a package only sizes what machines report.
 * Ids are stable so clients may pass them as UUIDs.
 */
export interface Package {
  id: string;
  name: string;
  /** MiB. */
  memory: number;
  /** MiB. */
  disk: number;
  /** MiB. */
  swap: number;
  vcpus: number;
  lwps: number;
  version: string;
  group: string;
  description: string;
  default: boolean;
}

export const PACKAGES: readonly Package[] = [
  {
    id: '3e8c2d5a-6f1b-4c2e-9a7d-000000000512',
    name: 'g1-small',
    memory: 512,
    disk: 10240,
    swap: 1024,
    vcpus: 1,
    lwps: 1000,
    version: '1.0.0',
    group: 'general',
    description: 'Small: 512 MiB, 1 vCPU',
    default: true,
  },
  {
    id: '3e8c2d5a-6f1b-4c2e-9a7d-000000001024',
    name: 'g1-medium',
    memory: 1024,
    disk: 25600,
    swap: 2048,
    vcpus: 1,
    lwps: 2000,
    version: '1.0.0',
    group: 'general',
    description: 'Medium: 1 GiB, 1 vCPU',
    default: false,
  },
  {
    id: '3e8c2d5a-6f1b-4c2e-9a7d-000000004096',
    name: 'g1-large',
    memory: 4096,
    disk: 102400,
    swap: 8192,
    vcpus: 2,
    lwps: 4000,
    version: '1.0.0',
    group: 'general',
    description: 'Large: 4 GiB, 2 vCPUs',
    default: false,
  },
];

/** By id or exact name. */
export const findPackage = (idOrName: string): Package | undefined => PACKAGES.find((p) => p.id === idOrName || p.name === idOrName);
