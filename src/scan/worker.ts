/** A scan worker: runs walk tasks on its own thread and posts the records back in one message per task. */
import { parentPort, workerData } from 'node:worker_threads';
import { runTask, type TaskResult, type WalkTask } from './tasks.js';
import type {
  BlobFanRecord,
  BlobRecord,
  DebrisRecord,
  ManifestRecord,
  RepositorySnapshot,
  ScanSink,
} from '../index/records.js';
import { storageOfKind } from '../storage/index.js';

export type WorkerRecord =
  | { t: 'repository'; v: RepositorySnapshot }
  | { t: 'blob'; v: BlobRecord }
  | { t: 'blobFan'; v: BlobFanRecord }
  | { t: 'manifest'; v: ManifestRecord }
  | { t: 'debris'; v: DebrisRecord };

export type WorkerReply = { ok: true; records: WorkerRecord[]; result: TaskResult } | { ok: false; error: string };

class BufferSink implements ScanSink {
  records: WorkerRecord[] = [];
  repository(v: RepositorySnapshot): void {
    this.records.push({ t: 'repository', v });
  }
  blob(v: BlobRecord): void {
    this.records.push({ t: 'blob', v });
  }
  blobFan(v: BlobFanRecord): void {
    this.records.push({ t: 'blobFan', v });
  }
  manifest(v: ManifestRecord): void {
    this.records.push({ t: 'manifest', v });
  }
  debris(v: DebrisRecord): void {
    this.records.push({ t: 'debris', v });
  }
}

/** What a worker is started with: the walk context, its storage named by kind (a driver is not cloneable). */
export interface WorkerSetup {
  storage: string;
  v2: string;
  thorough: boolean;
}

const setup = workerData as WorkerSetup;
const ctx = { storage: storageOfKind(setup.storage), v2: setup.v2, thorough: setup.thorough };
parentPort!.on('message', (task: WalkTask) => {
  const sink = new BufferSink();
  let reply: WorkerReply;
  try {
    const result = runTask(ctx, task, sink);
    reply = { ok: true, records: sink.records, result };
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
