import { csv, json, printable, type Format } from './format.js';

/** `catalog`: JSON is the registry's own body plus the version; table is one name per line. */
export function renderCatalog(version: 2 | 3, repositories: string[], format: Format): string {
  if (format === 'json') return json({ registryVersion: version, repositories });
  if (format === 'csv')
    return csv(
      ['repository'],
      repositories.map((r) => [r]),
    );
  return repositories.map((r) => `${printable(r)}\n`).join('');
}
