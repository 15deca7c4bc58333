/* Storing symbols in a trace (symbolize.c), for `symbolize` and `run`. */
#ifndef HC_SYMBOLIZE_H
#define HC_SYMBOLIZE_H

/* Resolves the frames of path's stacks and appends them as SYMBOLS
 * records. Returns 0, or -errno after an error line; quiet: no summary line. */
int hc_symbolize_file(const char *path, int quiet);

#endif
