/** Messages between the verify pool and its hashing workers. */
export interface HashJob {
  id: number;
  /** Absolute path of blobs/<alg>/<xx>/<hex>/data. */
  path: string;
  alg: string;
  hex: string;
  /** Size and mtime the scan recorded (kept when the file cannot be stat'ed). */
  size: number;
  mtimeMs: number;
}

export type HashStatus = 'ok' | 'corrupt' | 'unreadable';

export interface HashResult {
  id: number;
  status: HashStatus;
  /** corrupt: the digest the bytes have; unreadable: why. */
  detail?: string;
  /** Size and mtime of the file that was hashed. */
  size: number;
  mtimeMs: number;
}

export type HashReply = { type: 'bytes'; bytes: number } | { type: 'result'; result: HashResult } | { type: 'idle' };
