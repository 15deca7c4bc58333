/* The CI verdict on one trace, shared by `gate` and `soak`: writes the
 * stderr lines (and JUnit XML when junit is set) and returns the exit
 * status: 0 no leak, 1 leak (or inconclusive with strict), 2 bad input.
 * With a baseline trace (NULL: none), only growth that is new or faster
 * than in the baseline fails. */
#ifndef HC_GATE_H
#define HC_GATE_H

#include "detect.h"

int hc_gate_trace(const char *path, const struct hc_detect_opts *o, int strict,
		  const char *junit, const char *baseline);

#endif
