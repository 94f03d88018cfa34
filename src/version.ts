import { readFileSync } from 'node:fs';

/**
 * The package version, read once from the nearest package.json named regaudit above this module:
 * dist/src/ (tsc), dist/src/cli/ and dist/src/cli/bundle/ (the bundled CLI), or src/ under tsx.
 */
export const TOOL_VERSION: string = (() => {
  for (let rel = '../package.json'; rel.length <= '../../../../../package.json'.length; rel = `../${rel}`) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'regaudit' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
})();
