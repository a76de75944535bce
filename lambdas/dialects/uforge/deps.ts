/** The UForge use cases' dependencies, bound to the real adapters (lazily, as lambdas/wiring.ts does). */
import type { ApplianceImageDeps } from '../../core/use-cases/appliance-images';
import {
  applianceImageRepository,
  applianceRepository,
  clock,
  ids,
  imageFileStore,
  imageRepository,
  jobRepository,
  machineRepository,
  quotaGate,
  workflowStarter,
  workflowStopper,
} from '../../wiring';

export const applianceImageDeps = (): ApplianceImageDeps => ({
  appliances: applianceRepository(),
  applianceImages: applianceImageRepository(),
  images: imageRepository(),
  jobs: jobRepository(),
  machines: machineRepository(),
  workflow: workflowStarter(),
  stopper: workflowStopper(),
  quotas: quotaGate(),
  files: imageFileStore(),
  clock,
  ids,
});

/** What read-only routes need (no object storage, no workflow). */
export const readDeps = () => ({
  appliances: applianceRepository(),
  applianceImages: applianceImageRepository(),
  images: imageRepository(),
  jobs: jobRepository(),
});

export const applianceDeps = () => ({ appliances: applianceRepository(), machines: machineRepository(), clock, ids });
