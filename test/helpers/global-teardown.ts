/** Stops the integration run's local stack (its data is temporary, so a slow graceful stop is cut short) and removes its data. */
import { rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';

export default async function globalTeardown(): Promise<void> {
  const stack = (globalThis as Record<string, unknown>).__LOCAL_STACK__ as
    | { child: ChildProcess; dir: string; stopping: boolean }
    | undefined;
  if (!stack) return;
  stack.stopping = true;
  if (stack.child.exitCode === null) {
    const exited = new Promise((resolve) => stack.child.once('exit', resolve));
    stack.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 700))]);
    if (stack.child.exitCode === null) stack.child.kill('SIGKILL');
  }
  rmSync(stack.dir, { recursive: true, force: true });
}
