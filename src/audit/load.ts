import type { DB } from '../index/open.js';
import * as q from '../index/queries.js';
import type { AuditInput } from './rules.js';

/** Reads what the rules need from one scan of the index. */
export function loadAuditInput(db: DB, scanId: number): AuditInput {
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
