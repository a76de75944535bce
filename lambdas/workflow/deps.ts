/** What every build task needs: the build-step use cases bound to the real repositories. */
import { beginBuild, completeBuild, failBuild, isStillBuilding, reportProgress, reportWork } from '../core/use-cases/build-steps';
import { clock, imageRepository, jobRepository } from '../wiring';

const deps = () => ({ images: imageRepository(), jobs: jobRepository(), clock });

export const steps = {
  begin: (jobId: string, imageId: string, phase: string) => beginBuild(deps())(jobId, imageId, phase),
  progress: (jobId: string, progress: number, phase: string) => reportProgress(deps())(jobId, progress, phase),
  stillBuilding: (jobId: string, imageId: string) => isStillBuilding(deps())(jobId, imageId),
  work: (...a: Parameters<ReturnType<typeof reportWork>>) => reportWork(deps())(...a),
  complete: (...a: Parameters<ReturnType<typeof completeBuild>>) => completeBuild(deps())(...a),
  fail: (...a: Parameters<ReturnType<typeof failBuild>>) => failBuild(deps())(...a),
};
