/**
 * Runs walk tasks on worker threads while this thread writes the index. Directory reads block in
 * the kernel, so several in flight keep a cold disk busy; the index writes (SQLite is
 * single-writer) overlap with them instead of waiting. A worker gets its next task only after
 * this thread has consumed its previous reply, so memory stays bounded.
 */
import { Worker } from 'node:worker_threads';
import type { ScanSink } from '../index/records.js';
import type { DrainHooks, TaskRunner } from './runners.js';
import type { WalkContext, WalkTask } from './tasks.js';
import type { WorkerReply, WorkerSetup } from './worker.js';

/** A worker holds one task's records at a time; a small heap keeps the scan's RSS flat. */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 };

function workerUrl(): { url: URL; execArgv: string[] } {
  // Under tsx (tests running src/ directly) the worker is the .ts file and needs the loader too.
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    url: new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url),
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}

export class WorkerPool implements TaskRunner {
  private readonly workers: Worker[];

  constructor(ctx: WalkContext, jobs: number) {
    const { url, execArgv } = workerUrl();
    const workerData: WorkerSetup = { storage: ctx.storage.kind, v2: ctx.v2, thorough: ctx.thorough };
    this.workers = Array.from(
      { length: jobs },
      () => new Worker(url, { workerData, execArgv, resourceLimits: WORKER_LIMITS }),
    );
  }

  drain(tasks: Iterable<WalkTask>, sink: ScanSink, hooks: DrainHooks = {}): Promise<void> {
    // Children first (depth-first keeps the stack small), then the next task from the source.
    const source = tasks[Symbol.iterator]();
    const queue: WalkTask[] = [];
    let pending: WalkTask | undefined;
    const peek = (): WalkTask | undefined => {
      if (queue.length > 0) return queue[queue.length - 1];
      if (pending === undefined) pending = (source.next().value as WalkTask | undefined) ?? undefined;
      return pending;
    };
    const take = (): WalkTask => {
      if (queue.length > 0) return queue.pop()!;
      const t = pending!;
      pending = undefined;
      return t;
    };
    const idle = [...this.workers];
    let busy = 0;
    return new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (err: unknown): void => {
        if (!failed) {
          failed = true;
          cleanup();
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      const dispatch = (): void => {
        while (idle.length > 0 && peek() !== undefined) {
          const task = take();
          hooks.onStart?.(task);
          busy++;
          idle.pop()!.postMessage(task);
        }
        if (busy === 0 && peek() === undefined) {
          cleanup();
          try {
            sink.flush?.();
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
            return;
          }
          resolve();
        }
      };
      const onMessage = (w: Worker) => (reply: WorkerReply) => {
        busy--;
        idle.push(w);
        if (failed) return;
        if (!reply.ok) return fail(new Error(reply.error));
        try {
          for (const r of reply.records) {
            if (r.t === 'repository') sink.repository(r.v);
            else if (r.t === 'blob') sink.blob(r.v);
            else if (r.t === 'manifest') sink.manifest(r.v);
            else if (r.t === 'blobFan') sink.blobFan(r.v);
            else sink.debris(r.v);
          }
          hooks.onResult?.(reply.result);
        } catch (err) {
          return fail(err);
        }
        for (let i = reply.result.children.length - 1; i >= 0; i--) queue.push(reply.result.children[i]!);
        dispatch();
      };
      const onError = (err: unknown): void => fail(err);
      const onExit = (code: number): void => fail(new Error(`scan worker exited with code ${code}`));
      const handlers = this.workers.map((w) => ({ w, message: onMessage(w) }));
      const cleanup = (): void => {
        for (const { w, message } of handlers) {
          w.off('message', message);
          w.off('error', onError);
          w.off('exit', onExit);
        }
      };
      for (const { w, message } of handlers) {
        w.on('message', message);
        w.on('error', onError);
        w.on('exit', onExit);
      }
      dispatch();
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
