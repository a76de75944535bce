/**
 * `npm run admin -- <noun> <verb> …`: the operator commands, one table. Each has a usage line and a
 * one-line description; `--help` (alone, or after a command) prints them without touching any stack;
 * an unknown command prints the help on stderr and fails. Results are JSON on stdout. List commands
 * never print a secret: keys by fingerprint, tokens by an id (a prefix of the token's sha256), AK/SK
 * pairs by access key (docs/decisions/credential-lifecycle.md).
 */
import path from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { MachineState } from '../lambdas/core/machine';

export class UsageError extends Error {}

/** Takes `--name value` out of `args`; undefined when absent. */
export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i === -1) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`--${name} needs a value`);
  args.splice(i, 2);
  return v;
}

/** Takes a boolean `--name` out of `args`. */
function switchOn(args: string[], name: string): boolean {
  const i = args.indexOf(`--${name}`);
  if (i !== -1) args.splice(i, 1);
  return i !== -1;
}

export interface AdminContext {
  /** The API's base URL when known (local stack, or API_URL for a deployed one). */
  url?: string;
  readStdin(): Promise<string>;
}

interface Command {
  /** `<noun> <verb>` */
  name: string;
  /** Arguments after the name. */
  args: string;
  description: string;
  run(rest: string[], ctx: AdminContext): Promise<unknown>;
}

const ops = async () => (await import('./admin-ops')).adminOps;

/** The positional arguments, checked against the usage (extra ones or unknown flags are an error). */
function positional(cmd: Command, rest: string[], count: number): string[] {
  const unknown = rest.find((a) => a.startsWith('--'));
  if (unknown) throw new UsageError(`${unknown} is not an option of \`${cmd.name}\`\n${commandHelp(cmd)}`);
  if (rest.length !== count || rest.some((a) => !a)) throw new UsageError(`usage: npm run admin -- ${cmd.name} ${cmd.args}`);
  return rest;
}

export const COMMANDS: Command[] = [
  {
    name: 'account create',
    args: '<login> [--email E] [--password-stdin]',
    description: 'Create an account (with a password read from stdin, for HTTP Basic).',
    async run(rest, ctx) {
      const email = flag(rest, 'email');
      const passwordStdin = switchOn(rest, 'password-stdin');
      const [login] = positional(this, rest, 1);
      const password = passwordStdin ? await ctx.readStdin() : undefined;
      const adminOps = await ops();
      const account = await adminOps.createAccount(login, { email });
      if (password !== undefined) await adminOps.setPassword(login, password);
      return { ...account, password: password !== undefined };
    },
  },
  {
    name: 'account set-password',
    args: '<login> --password-stdin',
    description: 'Set or change the password (read from stdin); API tokens issued before it stop working.',
    async run(rest, ctx) {
      if (!switchOn(rest, 'password-stdin')) throw new UsageError(`usage: npm run admin -- ${this.name} ${this.args}`);
      const [login] = positional(this, rest, 1);
      return (await ops()).setPassword(login, await ctx.readStdin());
    },
  },
  {
    name: 'account disable',
    args: '<login>',
    description: 'Refuse every credential of the account (keys, password, tokens, AK/SK) from the next request on.',
    async run(rest) {
      const [login] = positional(this, rest, 1);
      return (await ops()).setAccountDisabled(login, true);
    },
  },
  {
    name: 'account enable',
    args: '<login>',
    description: 'Accept the credentials of a disabled account again.',
    async run(rest) {
      const [login] = positional(this, rest, 1);
      return (await ops()).setAccountDisabled(login, false);
    },
  },
  {
    name: 'key add',
    args: '<login> <public-key-file> [--name N]',
    description: 'Register an SSH public key for HTTP Signature (prints its fingerprint and TRITON_* lines).',
    async run(rest, ctx) {
      const name = flag(rest, 'name');
      const [login, file] = positional(this, rest, 2);
      if (!existsSync(file)) throw new UsageError(`public key file ${file} does not exist`);
      const key = await (await ops()).addKey(login, readFileSync(file, 'utf8'), { name });
      return {
        login: key.login,
        fingerprint: key.fingerprint,
        sha256_fingerprint: key.sha256Fingerprint,
        type: key.type,
        ...(key.name ? { name: key.name } : {}),
        env: [`TRITON_URL=${ctx.url ?? '<the stack ApiUrl output>'}`, `TRITON_ACCOUNT=${key.login}`, `TRITON_KEY_ID=${key.fingerprint}`],
      };
    },
  },
  {
    name: 'key list',
    args: '<login>',
    description: 'List the account’s SSH keys: fingerprints, type, name, creation time.',
    async run(rest) {
      const [login] = positional(this, rest, 1);
      return (await ops()).listKeys(login);
    },
  },
  {
    name: 'key delete',
    args: '<login> <md5-fingerprint>',
    description: 'Remove one SSH key (by the MD5 fingerprint `key list` shows); it is refused at once.',
    async run(rest) {
      const [login, fingerprint] = positional(this, rest, 2);
      return (await ops()).deleteKey(login, fingerprint);
    },
  },
  {
    name: 'token create',
    args: '<login> [--ttl 3600|30m|12h|7d]',
    description: 'Issue an API token (X-Auth-Token) that expires after the TTL (default 12h); shown only here.',
    async run(rest) {
      const ttl = flag(rest, 'ttl') ?? '12h';
      const [login] = positional(this, rest, 1);
      const { parseTtl } = await import('../lambdas/core/use-cases/credentials');
      return (await ops()).createToken(login, { ttlSeconds: parseTtl(ttl) });
    },
  },
  {
    name: 'token list',
    args: '<login>',
    description: 'List the account’s API tokens: id, creation and expiry (never the token).',
    async run(rest) {
      const [login] = positional(this, rest, 1);
      return (await ops()).listTokens(login);
    },
  },
  {
    name: 'token revoke',
    args: '<login> <token-id>',
    description: 'Revoke one API token by the id `token list` shows; it is refused at once.',
    async run(rest) {
      const [login, id] = positional(this, rest, 2);
      return (await ops()).revokeToken(login, id);
    },
  },
  {
    name: 'aksk create',
    args: '<login>',
    description: 'Create a Huawei AK/SK pair (project_id = account id); the SK is shown only here.',
    async run(rest) {
      const [login] = positional(this, rest, 1);
      return (await ops()).createAksk(login);
    },
  },
  {
    name: 'aksk list',
    args: '<login>',
    description: 'List the account’s AK/SK pairs: access key and creation time (never the SK).',
    async run(rest) {
      const [login] = positional(this, rest, 1);
      return (await ops()).listAksks(login);
    },
  },
  {
    name: 'aksk delete',
    args: '<login> <access-key>',
    description: 'Remove one AK/SK pair; requests signed with it are refused at once.',
    async run(rest) {
      const [login, ak] = positional(this, rest, 2);
      return (await ops()).deleteAksk(login, ak);
    },
  },
  {
    name: 'bucket put',
    args: '<login> <bucket>:<key> <file>',
    description: 'Upload a file into the account’s bucket area, where IMS `image_url: "bucket:key"` imports read it.',
    async run(rest) {
      const [login, ref, file] = positional(this, rest, 3);
      const m = /^([^:]+):(.+)$/.exec(ref);
      if (!m) throw new UsageError(`usage: npm run admin -- ${this.name} ${this.args}`);
      if (!existsSync(file)) throw new UsageError(`file ${file} does not exist`);
      return (await ops()).putBucketObject(login, { bucket: m[1], key: m[2] }, path.resolve(file));
    },
  },
  {
    name: 'machine register',
    args: '<login> --name N --os OS --type TYPE --disk FILE [--state stopped|running] [--image ID]',
    description: 'Register a machine whose boot disk is FILE (uploaded first), to build images from.',
    async run(rest) {
      const name = flag(rest, 'name');
      const os = flag(rest, 'os');
      const type = flag(rest, 'type');
      const disk = flag(rest, 'disk');
      const state = flag(rest, 'state') as MachineState | undefined;
      const image = flag(rest, 'image');
      const [login] = positional(this, rest, 1);
      if (!name || !os || !type || !disk) throw new UsageError(`usage: npm run admin -- ${this.name} ${this.args}`);
      if (!existsSync(disk)) throw new UsageError(`disk file ${disk} does not exist`);
      return (await ops()).registerMachine({ login, name, os, type, diskFile: path.resolve(disk), state, image });
    },
  },
];

export const commandHelp = (cmd: Command): string => `usage: npm run admin -- ${cmd.name} ${cmd.args}\n  ${cmd.description}`;

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: npm run admin -- <command> [arguments] [--state-file FILE]',
    '',
    'Acts on the local stack `npm start` runs (found through .local/stack.json, or --state-file), or on a',
    'deployed stack when TABLE_NAME, IMAGES_BUCKET and DISKS_BUCKET are set (and API_URL for `key add`).',
    'Prints JSON on stdout. `npm run admin -- <command> --help` shows one command.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.args}\n  ${''.padEnd(width)}    ${c.description}`),
  ].join('\n');
}

const HELP = new Set(['--help', '-h', 'help']);

export interface AdminIo {
  /** Points the process at the stack (consuming `--state-file`); the API's base URL when known. */
  connect(args: string[]): Promise<string | undefined>;
  readStdin(): Promise<string>;
  out(text: string): void;
  err(text: string): void;
}

/**
 * Runs one admin command; returns the exit code (0 done or help, 2 unknown command). Failures of the
 * command itself (UsageError, service errors) are thrown for the caller to report.
 */
export async function runAdmin(args: string[], io: AdminIo): Promise<number> {
  if (!args.length || HELP.has(args[0])) {
    io.out(helpText());
    return 0;
  }
  const [noun, verb] = args;
  const cmd = COMMANDS.find((c) => c.name === `${noun} ${verb}`);
  if (!cmd) {
    io.err(`error: unknown command \`${[noun, verb].filter(Boolean).join(' ')}\`\n\n${helpText()}`);
    return 2;
  }
  if (args.slice(2).some((a) => HELP.has(a) && a !== 'help')) {
    io.out(commandHelp(cmd));
    return 0;
  }
  const url = await io.connect(args);
  const rest = args.slice(2);
  io.out(JSON.stringify(await cmd.run(rest, { url, readStdin: io.readStdin }), null, 2));
  return 0;
}
