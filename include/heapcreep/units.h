/* Sizes and durations as users write them ("512K", "2M", "1.5s", "500ms"),
 * parsed the same way by the shim (HEAPCREEP_* variables) and the command
 * line. Header-only, no allocation, no locale: safe inside the allocator. */
#ifndef HEAPCREEP_UNITS_H
#define HEAPCREEP_UNITS_H

#include <stdint.h>
#include <string.h>

static inline int hc_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/* "512K", "2M", "1G", "4096", "64KiB" → bytes. 0 or -1 (malformed). */
static inline int hc_parse_size(const char *s, uint64_t *out)
{
	if (!hc_isdigit(*s))
		return -1;
	uint64_t v = 0;
	for (; hc_isdigit(*s); s++) {
		if (v > UINT64_MAX / 10 - 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	unsigned shift = 0;
	switch (*s) {
	case 'k': case 'K': shift = 10; s++; break;
	case 'm': case 'M': shift = 20; s++; break;
	case 'g': case 'G': shift = 30; s++; break;
	case 't': case 'T': shift = 40; s++; break;
	}
	if (*s == 'i' && shift)
		s++;
	if (*s == 'B' || *s == 'b')
		s++;
	if (*s || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

/* "2s", "500ms", "100us", "1.5s", "3" (seconds), "10min", "6h" → ns. */
static inline int hc_parse_duration(const char *s, uint64_t *out)
{
	if (!hc_isdigit(*s))
		return -1;
	uint64_t whole = 0, frac = 0, scale = 1;
	for (; hc_isdigit(*s); s++) {
		if (whole > 1000000000u)
			return -1;
		whole = whole * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '.') {
		s++;
		if (!hc_isdigit(*s))
			return -1;
		for (; hc_isdigit(*s); s++) {
			if (scale < 1000000000u) {
				frac = frac * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
		}
	}
	uint64_t unit;
	if (!*s || !strcmp(s, "s"))
		unit = 1000000000ull;
	else if (!strcmp(s, "ms"))
		unit = 1000000ull;
	else if (!strcmp(s, "us"))
		unit = 1000ull;
	else if (!strcmp(s, "ns"))
		unit = 1ull;
	else if (!strcmp(s, "min") || !strcmp(s, "m"))
		unit = 60000000000ull;
	else if (!strcmp(s, "h"))
		unit = 3600000000000ull;
	else if (!strcmp(s, "d"))
		unit = 86400000000000ull;
	else
		return -1;
	if (whole > UINT64_MAX / unit)
		return -1;
	*out = whole * unit + frac * unit / scale;
	return 0;
}

#endif
