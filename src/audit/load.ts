import type { ReadableDB } from '../index/open.js';
import type { FindingKind } from './findings.js';
import * as g from '../index/graph.js';
import * as q from '../index/queries.js';
import type { GraphInput } from './graph-rules.js';
import type { AuditInput } from './rules.js';

/** Reads what the rules need from one scan of the index. */
export function loadAuditInput(db: ReadableDB, scanId: number): AuditInput {
  return {
    repositories: q.repositories(db, scanId),
    tags: q.tags(db, scanId),
    badLinks: q.badLinks(db, scanId),
    danglingLayerLinks: q.danglingLayerLinks(db, scanId),
    revisionsWithoutBlob: q.revisionsWithoutBlob(db, scanId),
    uploads: q.uploads(db, scanId),
    debris: q.debris(db, scanId),
  };
}

/** Reads the manifest-graph rows; with `kinds`, only those the listed finding kinds need. */
export function loadGraphInput(db: ReadableDB, scanId: number, kinds?: readonly FindingKind[]): GraphInput {
  const want = (kind: FindingKind): boolean => kinds === undefined || kinds.length === 0 || kinds.includes(kind);
  return {
    untagged: want('untagged-manifest') ? g.untaggedManifests(db, scanId) : [],
    missing: want('missing-blob') ? g.missingReferences(db, scanId) : [],
    unlinked: want('missing-layer-link') ? g.unlinkedReferences(db, scanId) : [],
    unreferencedLayerLinks: want('unreferenced-layer-link') ? g.unreferencedLayerLinks(db, scanId) : [],
    unreferencedBlobs: want('unreferenced-blob') ? g.unreferencedBlobs(db, scanId) : [],
    unreadable: want('unreadable-manifest') ? g.unreadableManifests(db, scanId) : [],
  };
}
