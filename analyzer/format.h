/* Numbers for people: sizes in B/KiB/MiB/GiB, rates, durations in s/min/h,
 * and sparklines. Each writes into the caller's buffer and returns it. */
#ifndef HC_FORMAT_H
#define HC_FORMAT_H

#include <stddef.h>
#include <stdint.h>

char *hc_fmt_bytes(char *buf, size_t cap, double bytes);
char *hc_fmt_rate(char *buf, size_t cap, double bytes_per_s);
char *hc_fmt_duration(char *buf, size_t cap, double seconds);
/* "0.41 s of CPU, 12% of the process's 3.40 s": the collector's CPU time
 * against the process's (the process's left out when it is 0). */
char *hc_fmt_cpu_share(char *buf, size_t cap, uint64_t part_ns, uint64_t whole_ns);
/* The last two components of a path ("Objects/obmalloc.c"), for display;
 * points into path. */
const char *hc_short_path(const char *path);
/* n values as block characters ▁..█ (UTF-8), scaled from 0 to the maximum. */
char *hc_fmt_sparkline(char *buf, size_t cap, const double *v, size_t n);

#endif
