/**
 * `npm start` and `npm run admin`: one entry, two commands.
 *   start  — the whole service on http://127.0.0.1:$PORT (default 8080), seeded, data under .local/
 *   admin  — operator commands against the running local stack (found through .local/stack.json),
 *            or against a deployed stack when TABLE_NAME, DISKS_BUCKET and IMAGES_BUCKET are set.
 */
import path from 'node:path';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { REPO_ROOT } from '../lib/paths';
import { isServiceError } from '../lambdas/core/errors';
import { flag, runAdmin, UsageError } from './admin-cli';

const DEFAULT_STATE_FILE = path.join(REPO_ROOT, '.local', 'stack.json');

interface StackFile {
  url: string;
  pid: number;
  dataDir: string;
  endpoints: Record<string, string>;
  env: Record<string, string>;
}

async function start(args: string[]) {
  const port = Number(flag(args, 'port') ?? process.env.PORT ?? 8080);
  const dataDir = path.resolve(flag(args, 'data-dir') ?? process.env.DATA_DIR ?? path.join(REPO_ROOT, '.local', 'data'));
  const stateFile = path.resolve(flag(args, 'state-file') ?? DEFAULT_STATE_FILE);
  const { ensureConsoleBuilt } = await import('./console');
  ensureConsoleBuilt();
  const { startLocalStack, LOCAL_NAMES } = await import('./stack');
  const { seedDemo, DEMO_LOGIN } = await import('./seed');
  // The gateway holds every request until this settles: after the seed and the state file below.
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  // LOCAL_TIME_SCALE multiplies every time limit the local stack enforces (LocalStackOptions.timeScale).
  const timeScale = Number(process.env.LOCAL_TIME_SCALE ?? 1);
  if (!(timeScale > 0)) throw new UsageError(`LOCAL_TIME_SCALE must be a positive number, not ${process.env.LOCAL_TIME_SCALE}`);
  // LOCAL_CHUNKING: JSON of the chunked-build setting (lambdas/workflow/chunked.ts), e.g. scaled down by tests
  const chunking = process.env.LOCAL_CHUNKING ? (JSON.parse(process.env.LOCAL_CHUNKING) as Record<string, number>) : undefined;
  // LOCAL_COPY: JSON of the copy setting (LocalStackOptions.copy), e.g. a tiny multipart threshold for tests
  const copy = process.env.LOCAL_COPY ? (JSON.parse(process.env.LOCAL_COPY) as Record<string, number>) : undefined;
  const stack = await startLocalStack({ port, dataDir, timeScale, chunking, copy, ready });
  const { failInterruptedBuilds, failInterruptedProvisioning } = await import('./recover');
  const interrupted = await failInterruptedBuilds();
  if (interrupted) console.log(`${interrupted} build(s) interrupted by the last stop were marked failed`);
  const provisioning = await failInterruptedProvisioning();
  if (provisioning) console.log(`${provisioning} machine(s) interrupted while provisioning were marked failed`);
  const seeded = await seedDemo(dataDir);
  const state: StackFile = { url: stack.url, pid: process.pid, dataDir, endpoints: stack.endpoints, env: stack.env };
  mkdirSync(path.dirname(stateFile), { recursive: true });
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  markReady();

  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    await stack.close();
    if (existsSync(stateFile) && JSON.parse(readFileSync(stateFile, 'utf8')).pid === process.pid) rmSync(stateFile);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const stopped = seeded.machines.filter((m) => m.state === 'stopped');
  const first = stopped[0];
  console.log(`machine-image-service is running at ${stack.url}  (data: ${path.relative(process.cwd(), dataDir) || '.'})`);
  console.log(`web console: ${stack.url}/console/  (sign in as ${DEMO_LOGIN} / ${seeded.password})`);
  console.log(`\ndemo account: ${DEMO_LOGIN} (${seeded.accountId}), password: ${seeded.password}\nmachines:`);
  for (const m of seeded.machines) console.log(`  ${m.id}  ${m.name.padEnd(12)} ${m.state.padEnd(8)} ${m.os}/${m.type}`);
  if (first) {
    console.log(`\ncreate an image from ${first.name} and watch it become active:`);
    const u = `${DEMO_LOGIN}:${seeded.password}`;
    console.log(`  curl -si -u ${u} -X POST ${stack.url}/${DEMO_LOGIN}/images -H 'content-type: application/json' \\`);
    console.log(`    -d '{"machine":"${first.id}","name":"my-image","version":"1.0.0"}'`);
    console.log(`  curl -s -u ${u} ${stack.url}/${DEMO_LOGIN}/images/<id>`);
    console.log(`  curl -s -u ${u} ${stack.url}/${DEMO_LOGIN}/jobs/<x-joyent-jobid>`);
    console.log(`  curl -s -u ${u} '${stack.url}/${DEMO_LOGIN}/jobs/<x-joyent-jobid>?wait=25'   # answers at the next change`);
    console.log(`  curl -s ${stack.endpoints.events}/--events?bus=${LOCAL_NAMES.eventBus}   # the job's state-change events`);
    console.log(`  curl -sL -u ${u} ${stack.url}/${DEMO_LOGIN}/images/<id>/file -o image.gz`);
  }
  const appliance = seeded.appliances.find((a) => a.os_profile);
  if (appliance) {
    const u = `${DEMO_LOGIN}:${seeded.password}`;
    console.log(`\nUForge: appliances ${seeded.appliances.map((a) => `${a.id} (${a.name})`).join(', ')}; generate a machine image:`);
    console.log(
      `  curl -si -u ${u} -X POST ${stack.url}/users/${DEMO_LOGIN}/appliances/${appliance.id}/images -H 'Accept: application/xml' -H 'Content-Type: application/xml' \\`,
    );
    console.log(
      `    --data-binary '<ns0:image xmlns:ns0="http://www.usharesoft.com/uforge"><compress>true</compress><targetFormat><name>Raw</name></targetFormat></ns0:image>'`,
    );
  }
  const keyFile = path.relative(process.cwd(), seeded.key.privateKeyFile);
  console.log(`\ntriton CLI (HTTP Signature with the demo key ${keyFile}):`);
  console.log(`  export TRITON_URL=${stack.url} TRITON_ACCOUNT=${DEMO_LOGIN} TRITON_KEY_ID=${seeded.key.fingerprint}`);
  console.log('  # the CLI finds the key through the ssh-agent or in $HOME/.ssh; either:');
  console.log(`  eval "$(ssh-agent -s)" && ssh-add ${keyFile}`);
  console.log(`  # or: cp ${keyFile} ${keyFile}.pub ~/.ssh/   (then, without an agent: env -u SSH_AUTH_SOCK triton …)`);
  console.log('  triton image list');
  console.log('\nadmin (accounts, keys, tokens, AK/SK pairs, machines): npm run admin -- --help');
  console.log('ready');
}

async function pingOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/--ping`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Points the process at the stack; returns the API's base URL when known (local stack, or API_URL). */
async function useStack(args: string[]): Promise<string | undefined> {
  const stateFile = path.resolve(flag(args, 'state-file') ?? DEFAULT_STATE_FILE);
  if (process.env.TABLE_NAME && process.env.DISKS_BUCKET && process.env.IMAGES_BUCKET) return process.env.API_URL; // a deployed stack
  if (!existsSync(stateFile)) {
    throw new UsageError(
      'no local stack is running (start one with `npm start`), and TABLE_NAME/DISKS_BUCKET/IMAGES_BUCKET are not set for a deployed stack',
    );
  }
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as StackFile;
  if (!(await pingOk(state.url))) {
    throw new UsageError(
      `the local stack recorded in ${path.relative(process.cwd(), stateFile)} (${state.url}) is not answering; start it with \`npm start\``,
    );
  }
  Object.assign(process.env, state.env);
  return state.url;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  try {
    if (command === 'start') return await start(args);
    if (command === 'admin') {
      // the commands and their --help: local/admin-cli.ts
      process.exit(await runAdmin(args, { connect: useStack, readStdin, out: (t) => console.log(t), err: (t) => console.error(t) }));
    }
    throw new UsageError('usage: main.ts start | admin …');
  } catch (err) {
    if (err instanceof UsageError || isServiceError(err)) {
      console.error(`error: ${err.message}`);
      process.exit(isServiceError(err) ? 1 : 2);
    }
    throw err;
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
