/**
 * sha1 and sha256 of one byte stream, computed at the same time on two threads, with internal states
 * that can be saved and restored (hash-wasm), for the chunked builds' checkpointed hash pass
 * (lambdas/workflow/tasks/hash-file.ts). One after the other on one thread, the pair runs at
 * 1 / (1/sha1 + 1/sha256) of the speed; side by side at the speed of the slower one (sha256).
 *
 * The input is copied into a few shared 1 MiB slots (SharedArrayBuffer). When a slot is full, the
 * worker is told to feed it to sha1 while this thread feeds it to sha256; the slot is reused once
 * both are done. Messages are handled in order, so saving or finishing after the last update sees
 * every byte. The worker is plain JavaScript evaluated from a string, loading hash-wasm by its
 * resolved path, so it runs the same bundled (Lambda ships hash-wasm in node_modules for this:
 * lib/constructs/build-workflow.ts) or not; where it cannot start, both hashes run on this thread.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createSHA1, createSHA256, type IHasher } from 'hash-wasm';

const SLOT_BYTES = 1024 * 1024;
const SLOTS = 4;

export interface DualHashState {
  sha1: Uint8Array;
  sha256: Uint8Array;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createSHA1 } = require(workerData.hashWasm);
createSHA1().then((sha1) => {
  if (workerData.state) sha1.load(workerData.state); else sha1.init();
  const slots = workerData.slots.map((sab) => new Uint8Array(sab));
  parentPort.on('message', (m) => {
    try {
      if (m.type === 'update') {
        sha1.update(slots[m.slot].subarray(0, m.length));
        parentPort.postMessage({ type: 'done', slot: m.slot });
      } else if (m.type === 'save') parentPort.postMessage({ type: 'state', state: sha1.save() });
      else if (m.type === 'digest') parentPort.postMessage({ type: 'digest', hex: sha1.digest('hex') });
    } catch (err) {
      parentPort.postMessage({ type: 'error', message: String(err && err.message || err) });
    }
  });
  parentPort.postMessage({ type: 'ready' });
}, (err) => parentPort.postMessage({ type: 'error', message: String(err && err.message || err) }));
`;

type Reply =
  | { type: 'ready' }
  | { type: 'done'; slot: number }
  | { type: 'state'; state: Uint8Array }
  | { type: 'digest'; hex: string }
  | { type: 'error'; message: string };

/** sha1 in a worker thread, driven by messages; replies other than `done` are awaited in order. */
class Sha1Worker {
  private readonly waiting: ((r: Reply) => void)[] = [];
  private readonly slotWaiters = new Map<number, () => void>();
  private failure: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly slots: SharedArrayBuffer[],
  ) {
    worker.on('message', (r: Reply) => {
      if (r.type === 'done') {
        const w = this.slotWaiters.get(r.slot);
        this.slotWaiters.delete(r.slot);
        w?.();
      } else if (r.type === 'error') this.fail(new Error(`sha1 worker: ${r.message}`));
      else this.waiting.shift()?.(r);
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`sha1 worker exited (${code})`)));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.slotWaiters.values()) w();
    this.slotWaiters.clear();
    for (const w of this.waiting.splice(0)) w({ type: 'error', message: err.message });
  }

  static async start(state: Uint8Array | undefined): Promise<Sha1Worker> {
    const slots = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(SLOT_BYTES));
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { hashWasm: require.resolve('hash-wasm'), state, slots } });
    const w = new Sha1Worker(worker, slots);
    const ready = await w.reply();
    if (ready.type !== 'ready') {
      await w.close();
      throw new Error(`sha1 worker did not start: ${ready.type === 'error' ? ready.message : ready.type}`);
    }
    return w;
  }

  private reply(): Promise<Reply> {
    if (this.failure) return Promise.resolve({ type: 'error', message: this.failure.message });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  /** Hashes slot `slot`'s first `length` bytes; resolves once the worker is done with the slot. */
  update(slot: number, length: number): Promise<void> {
    this.check();
    const done = new Promise<void>((resolve) => this.slotWaiters.set(slot, resolve));
    this.worker.postMessage({ type: 'update', slot, length });
    return done.then(() => this.check());
  }

  async save(): Promise<Uint8Array> {
    this.check();
    this.worker.postMessage({ type: 'save' });
    const r = await this.reply();
    if (r.type !== 'state') throw this.failure ?? new Error('sha1 worker: no state');
    return r.state;
  }

  async digest(): Promise<string> {
    this.check();
    this.worker.postMessage({ type: 'digest' });
    const r = await this.reply();
    if (r.type !== 'digest') throw this.failure ?? new Error('sha1 worker: no digest');
    return r.hex;
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/**
 * Feeds every update to both hashes. `parallel` (default: when more than one CPU is available)
 * runs sha1 in a worker thread; otherwise, or if the worker cannot start, both run here.
 */
export class DualHash {
  private slot = 0;
  private filled = 0;
  private readonly busy: (Promise<void> | undefined)[] = Array.from({ length: SLOTS });

  private constructor(
    private readonly sha256: IHasher,
    private readonly sha1Local: IHasher | undefined,
    private readonly worker: Sha1Worker | undefined,
  ) {}

  /** Starts both hashes, from saved states (a checkpoint) or from the beginning. */
  static async create(state?: DualHashState, opts: { parallel?: boolean } = {}): Promise<DualHash> {
    const sha256 = await createSHA256();
    if (state) sha256.load(state.sha256);
    else sha256.init();
    const parallel = opts.parallel ?? availableParallelism() > 1;
    let worker: Sha1Worker | undefined;
    if (parallel) worker = await Sha1Worker.start(state?.sha1).catch(() => undefined);
    if (worker) return new DualHash(sha256, undefined, worker);
    const sha1 = await createSHA1();
    if (state) sha1.load(state.sha1);
    else sha1.init();
    return new DualHash(sha256, sha1, undefined);
  }

  /** Whether sha1 runs on its own thread. */
  get parallel(): boolean {
    return this.worker !== undefined;
  }

  async update(chunk: Uint8Array): Promise<void> {
    if (!this.worker) {
      this.sha1Local!.update(chunk);
      this.sha256.update(chunk);
      return;
    }
    for (let offset = 0; offset < chunk.length; ) {
      if (this.filled === 0) await this.busy[this.slot];
      const view = new Uint8Array(this.worker.slots[this.slot]);
      const n = Math.min(SLOT_BYTES - this.filled, chunk.length - offset);
      view.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === SLOT_BYTES) this.dispatch();
    }
  }

  /** Sends the slot being filled to both hashes (sha1 there, sha256 here, at the same time). */
  private dispatch(): void {
    if (!this.worker || this.filled === 0) return;
    const slot = this.slot;
    const length = this.filled;
    const done = this.worker.update(slot, length);
    done.catch(() => undefined);
    this.busy[slot] = done;
    this.sha256.update(new Uint8Array(this.worker.slots[slot], 0, length));
    this.slot = (slot + 1) % SLOTS;
    this.filled = 0;
  }

  /** Both internal states after every byte given so far (a checkpoint for create()). */
  async save(): Promise<DualHashState> {
    this.dispatch();
    if (!this.worker) return { sha1: this.sha1Local!.save(), sha256: this.sha256.save() };
    await Promise.all(this.busy);
    return { sha1: await this.worker.save(), sha256: this.sha256.save() };
  }

  /** The hex digests of every byte given; the hashes cannot be used after. */
  async digest(): Promise<{ sha1: string; sha256: string }> {
    this.dispatch();
    if (!this.worker) return { sha1: this.sha1Local!.digest('hex'), sha256: this.sha256.digest('hex') };
    await Promise.all(this.busy);
    return { sha1: await this.worker.digest(), sha256: this.sha256.digest('hex') };
  }

  /** Stops the worker thread (always call it, also after a failure). */
  async close(): Promise<void> {
    await this.worker?.close();
  }
}
