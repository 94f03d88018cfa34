import { catalogEntries } from '../index/gc.js';
import { catalogOrder, type RegistryVersion } from '../layout/catalog.js';
import type { Format } from '../report/format.js';
import { renderCatalog } from '../report/catalog.js';
import { withSession, type SessionOptions } from './session.js';

export interface CatalogOptions extends SessionOptions {
  format: Format;
  version: RegistryVersion;
}

/** What `/v2/_catalog` of that registry version lists for the scanned storage, in its order. */
export async function runCatalog(opts: CatalogOptions): Promise<{ output: string; repositories: string[] }> {
  return withSession(opts, (s) => {
    const repositories = catalogOrder(
      s.guard(() => catalogEntries(s.db, s.scan.id)),
      opts.version,
    );
    return { output: renderCatalog(opts.version, repositories, opts.format), repositories };
  });
}
