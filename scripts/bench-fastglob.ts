#!/usr/bin/env node
/**
 * Baselines in Node for the benchmark (scripts/bench.ts):
 *
 *   bench-fastglob.ts ROOT sync        fast-glob sync: list every file under ROOT/docker/registry/v2
 *   bench-fastglob.ts ROOT async       fast-glob async (promise API), same listing
 *   bench-fastglob.ts ROOT node-walk   plain synchronous readdir walk doing the floor's work
 *                                      (list all, read every link and startedat, stat every blob,
 *                                      read every manifest named by a revision link): what a
 *                                      straightforward single-threaded Node scan costs.
 *
 * Prints one line of counts.
 */
import fg from 'fast-glob';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const FG_OPTS = { onlyFiles: true, dot: true, followSymbolicLinks: false } as const;

function nodeWalk(v2: string): string {
  let files = 0;
  let links = 0;
  let blobs = 0;
  let blobBytes = 0;
  let startedat = 0;
  const manifests = new Set<string>();
  const blobsRoot = path.join(v2, 'blobs') + path.sep;
  const stack: string[] = [v2];
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    const inBlobs = dir.startsWith(blobsRoot);
    const isRevision = dir.includes('/_manifests/revisions/');
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        stack.push(p);
        continue;
      }
      if (!e.isFile()) continue;
      files++;
      if (e.name === 'link') {
        const s = readFileSync(p, 'latin1');
        links++;
        if (isRevision && s.length === 71) manifests.add(s.slice(7));
      } else if (inBlobs && e.name === 'data') {
        blobs++;
        blobBytes += statSync(p).size;
      } else if (e.name === 'startedat') {
        readFileSync(p);
        startedat++;
      }
    }
  }
  let manifestBytes = 0;
  for (const hex of manifests)
    manifestBytes += readFileSync(`${v2}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`).length;
  return `files=${files} links=${links} blobs=${blobs} blob_bytes=${blobBytes} manifests=${manifests.size} manifest_bytes=${manifestBytes} startedat=${startedat}`;
}

async function main(): Promise<void> {
  const [root, mode] = process.argv.slice(2);
  if (!root || !mode) {
    console.error('usage: bench-fastglob ROOT sync|async|node-walk');
    process.exit(2);
  }
  const v2 = path.join(root, 'docker', 'registry', 'v2');
  if (mode === 'sync') {
    console.log(`files=${fg.sync('**', { ...FG_OPTS, cwd: v2 }).length} mode=sync`);
  } else if (mode === 'async') {
    console.log(`files=${(await fg('**', { ...FG_OPTS, cwd: v2 })).length} mode=async`);
  } else if (mode === 'node-walk') {
    console.log(nodeWalk(v2));
  } else {
    console.error(`unknown mode ${mode}`);
    process.exit(2);
  }
}

await main();
