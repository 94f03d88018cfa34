/**
 * Runs the walk's tasks on worker threads while this thread writes the index. Directory reads
 * block in the kernel, so several in flight keep a cold disk busy; the index writes (SQLite is
 * single-writer) overlap with them instead of waiting.
 */
import { Worker } from 'node:worker_threads';
import { initialTasks, type CollectingSink, type WalkTask } from './walk.js';
import type { WorkerReply } from './worker.js';

/** A worker holds one task's records at a time; a small heap keeps the scan's RSS flat. */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 };

function workerUrl(): { url: URL; execArgv: string[] } {
  // Under tsx (tests running src/ directly) the worker is the .ts file and needs the loader too.
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    url: new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url),
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}

export async function runParallelWalk(v2: string, sink: CollectingSink, jobs: number): Promise<void> {
  const queue: WalkTask[] = initialTasks(v2, sink).reverse();
  const { url, execArgv } = workerUrl();
  const workers = Array.from({ length: jobs }, () => new Worker(url, { workerData: { v2 }, execArgv, resourceLimits: WORKER_LIMITS }));
  const idle = [...workers];
  let busy = 0;
  let manifestsQueued = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const dispatch = (): void => {
        while (idle.length > 0 && queue.length > 0) {
          const w = idle.pop()!;
          const task = queue.pop()!;
          if (task.kind === 'blobFan' && sink.progress.phase === 'repositories') sink.progress.phase = 'blobs';
          busy++;
          w.postMessage(task);
        }
        if (busy === 0 && queue.length === 0) {
          if (manifestsQueued) return resolve();
          manifestsQueued = true;
          sink.progress.phase = 'manifests';
          queue.push(...sink.manifestTasks().reverse());
          if (queue.length === 0) return resolve();
          dispatch();
        }
      };
      for (const w of workers) {
        w.on('message', (reply: WorkerReply) => {
          busy--;
          idle.push(w);
          if (!reply.ok) return reject(new Error(reply.error));
          try {
            for (const r of reply.records) {
              if (r.t === 'repository') sink.repository(r.v);
              else if (r.t === 'blob') sink.blob(r.v);
              else if (r.t === 'manifest') sink.manifest(r.v);
              else if (r.t === 'blobFan') sink.blobFan(r.v);
              else sink.debris(r.v);
            }
          } catch (err) {
            return reject(err);
          }
          for (let i = reply.children.length - 1; i >= 0; i--) queue.push(reply.children[i]!);
          dispatch();
        });
        w.on('error', reject);
        w.on('exit', (code) => {
          if (code !== 0) reject(new Error(`scan worker exited with code ${code}`));
        });
      }
      dispatch();
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
