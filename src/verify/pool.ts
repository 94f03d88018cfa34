/**
 * Spreads blob hashing over worker threads. Each worker gets a small batch (a few files, a few MB)
 * and the next one only when it is idle, so the jobs in flight, and the memory, stay bounded
 * however many blobs there are.
 */
import { Worker } from 'node:worker_threads';
import type { HashJob, HashReply, HashResult } from './protocol.js';

const BATCH_FILES = 16;
const BATCH_BYTES = 16 << 20;
const WORKER_LIMITS = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 };

function workerSpec(): { url: URL; execArgv: string[] } {
  // Under tsx (tests running src/ directly) the worker is the .ts file and needs the loader too.
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    url: new URL(fromSource ? './hash-worker.ts' : './hash-worker.js', import.meta.url),
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}

export interface PoolCallbacks {
  onResult(r: HashResult): void;
  onBytes?(n: number): void;
}

/** Hashes every job `next()` yields (until it returns undefined) on `threads` workers. */
export async function hashAll(next: () => HashJob | undefined, threads: number, cb: PoolCallbacks): Promise<void> {
  const { url, execArgv } = workerSpec();
  const workers: Worker[] = [];
  let exhausted = false;
  const take = (): HashJob[] => {
    const batch: HashJob[] = [];
    let bytes = 0;
    while (!exhausted && batch.length < BATCH_FILES && bytes < BATCH_BYTES) {
      const job = next();
      if (!job) {
        exhausted = true;
        break;
      }
      batch.push(job);
      bytes += job.size;
    }
    return batch;
  };
  try {
    await Promise.all(
      Array.from({ length: Math.max(1, threads) }, () => {
        const w = new Worker(url, { execArgv, resourceLimits: WORKER_LIMITS });
        workers.push(w);
        return new Promise<void>((resolve, reject) => {
          const feed = (): void => {
            const batch = take();
            if (batch.length === 0) resolve();
            else w.postMessage(batch);
          };
          w.on('message', (m: HashReply) => {
            try {
              if (m.type === 'bytes') cb.onBytes?.(m.bytes);
              else if (m.type === 'result') cb.onResult(m.result);
              else feed();
            } catch (err) {
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          });
          w.on('error', reject);
          w.on('exit', (code) => reject(new Error(`hash worker exited with code ${code}`)));
          feed();
        });
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
