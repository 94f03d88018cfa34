// cli-table3 ships no types for its utils module; format.ts uses only its width measure.
declare module 'cli-table3/src/utils.js' {
  /** The widest line of `s` in terminal columns (ANSI codes ignored, wide characters counted twice). */
  export function strlen(s: string): number;
}
