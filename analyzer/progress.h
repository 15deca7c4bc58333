/* A progress line on the terminal while the passes over a big trace run:
 * "heapcreep: analysing big.hct: pass 3 of 3, 42%". Only when standard error
 * is a terminal, only once a model build has run for PROGRESS_DELAY (small
 * traces never show it), redrawn at most five times a second, and erased
 * when the build ends, so what follows on the terminal reads as without it.
 * Standard output is never touched. HEAPCREEP_PROGRESS=0 turns it off, =1
 * shows it from the start (still only on a terminal).
 */
#ifndef HC_PROGRESS_H
#define HC_PROGRESS_H

#include <stdint.h>

/* A build of path (size bytes, 0 if unknown) in `passes` passes begins. */
void hc_progress_begin(const char *path, uint64_t size, int passes);
/* Pass `pass` (1-based) begins. */
void hc_progress_pass(int pass);
/* The pass has read up to file offset pos (cheap: call once per chunk). */
void hc_progress_at(uint64_t pos);
/* The build ended: the line, if shown, is erased. */
void hc_progress_end(void);

#endif
