import { catalogEntries } from '../index/gc.js';
import { guardIndex } from '../index/open.js';
import { catalogOrder, type RegistryVersion } from '../layout/catalog.js';
import type { Format } from '../report/format.js';
import { renderCatalog } from '../report/catalog.js';
import { openSession, type SessionOptions } from './session.js';

export interface CatalogOptions extends SessionOptions {
  format: Format;
  version: RegistryVersion;
}

/** What `/v2/_catalog` of that registry version lists for the scanned storage, in its order. */
export async function runCatalog(opts: CatalogOptions): Promise<{ output: string; repositories: string[] }> {
  const s = await openSession(opts);
  try {
    const repositories = catalogOrder(
      guardIndex(opts.dbFile, () => catalogEntries(s.db, s.scan.id)),
      opts.version,
    );
    return { output: renderCatalog(opts.version, repositories, opts.format), repositories };
  } finally {
    s.db.close();
  }
}
