import type { Terminal } from '../report/format.js';

/**
 * Table width and colour for stdout. COLUMNS, when set to a number, wins (scripts and tests set it);
 * otherwise a terminal's own width; piped to a file, tables keep their full width. Colour only on
 * a terminal and never with NO_COLOR (https://no-color.org: any non-empty value).
 */
export function detectTerminal(
  out: { isTTY?: boolean; columns?: number },
  env: Readonly<Record<string, string | undefined>>,
): Terminal {
  const columns = /^\d+$/.test(env.COLUMNS ?? '') ? Number(env.COLUMNS) : undefined;
  const width = columns !== undefined && columns > 0 ? columns : out.isTTY ? out.columns : undefined;
  return { width, colour: Boolean(out.isTTY) && !env.NO_COLOR };
}
