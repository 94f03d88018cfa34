/**
 * A package loaded on first use instead of at start-up. Every command starts the whole CLI, and
 * packages only some paths need (a YAML parser for --config, a glob walker for quarantine checks, a
 * CSV writer) cost a rerun of `verify` on an unchanged store a third of its time when loaded eagerly.
 */
import { createRequire } from 'node:module';

// Named apart from `require`: the bundled CLI (scripts/build-cli.mjs) declares a module-scope `require` itself.
const requireHere = createRequire(import.meta.url);

export function lazyModule<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= requireHere(id) as T);
}
