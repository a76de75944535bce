/**
 * CDK app entry (cdk.json: `node scripts/run-ts.mjs bin/app.ts`).
 *
 * Context: `stackName` (default MachineImageService); `dataRemovalPolicy=destroy` for throwaway stacks
 * (e.g. `cdklocal deploy`), otherwise the table and buckets are retained.
 */
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { ImageServiceStack } from '../lib/image-service-stack';

const app = new App();
const stackName: string = app.node.tryGetContext('stackName') ?? 'MachineImageService';
const destroyData = app.node.tryGetContext('dataRemovalPolicy') === 'destroy';

new ImageServiceStack(app, stackName, {
  description: 'machine-image-service: builds machine images from machines; Triton, IMS and UForge APIs',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  dataRemovalPolicy: destroyData ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
});

app.synth();
