/**
 * Exit status of `get imagepulljob --watch` for each outcome (documented in --help and README). Its own module so
 * that declaring the `get` command loads none of its implementation (cli/main.ts keeps every role lean).
 */
export const EXIT_SUCCEEDED = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_TIMEOUT = 3;
export const EXIT_INTERRUPTED = 130;
