/* The source line of a CPython instruction from its code object's raw line
 * table (pylines.h), decoded the way CPython's co_lines() walks it. Offline
 * only: every read is checked against the table's length, since the bytes
 * come from a trace and may be damaged.
 */
#include "pylines.h"

#include <limits.h>

/* A line as CPython computed it, or 0 when it is no source line: below 1
 * (line 0 is a module's RESUME from 3.11; -1 is CPython's "no line"), or
 * beyond an int (only a damaged table gets there). */
static int source_line(int64_t line)
{
	return line >= 1 && line <= INT_MAX ? (int)line : 0;
}

/* 3.10, PEP 626 (Objects/lnotab_notes.txt): byte pairs (unsigned delta of
 * bytecode bytes, signed line delta), each pair its own range of bytes
 * [start, start + delta), the line accumulated from co_firstlineno; a line
 * delta of -128 means no line for that range and leaves the line as it was.
 * Empty ranges carry line jumps beyond +-127 and are never an answer. A
 * lone last byte (a cut table) pairs with a line delta of 0, as in CPython,
 * whose bytes objects all end in a NUL it then reads. */
static int line_310(int firstlineno, const uint8_t *t, size_t len, int64_t index)
{
	if (index > INT64_MAX / 2)
		return 0;
	int64_t addr = index * 2, end = 0, line = firstlineno;
	for (size_t i = 0; i < len; i += 2) {
		int ldelta = i + 1 < len ? (int8_t)t[i + 1] : 0;
		end += t[i]; /* at most 255 * len: cannot overflow */
		if (ldelta != -128)
			line += ldelta;
		if (addr < end) /* the ranges before ended at or before addr */
			return ldelta == -128 ? 0 : source_line(line);
	}
	return 0;
}

/* An unsigned varint of the location table: 6-bit chunks, least significant
 * first, bit 6 set on every chunk but the last. Like CPython's scan_varint
 * it does not stop at the entry's end, but it stops at the table's; bits
 * beyond 32 are dropped (CPython shifts an int there: undefined). */
static uint32_t varint(const uint8_t *t, size_t len, size_t i)
{
	uint32_t v = 0;
	for (unsigned shift = 0; i < len; shift += 6) {
		uint8_t b = t[i++];
		if (shift < 32)
			v |= (uint32_t)(b & 63) << shift;
		if (!(b & 64))
			break;
	}
	return v;
}

/* A signed varint: the magnitude shifted left by one, the sign in bit 0. */
static int64_t svarint(const uint8_t *t, size_t len, size_t i)
{
	uint32_t v = varint(t, len, i);
	return v & 1 ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
}

/* 3.11 to 3.13, the location table (InternalDocs/locations.md): entries of
 * a first byte with bit 7 set, the code in bits 3-6 and the length in code
 * units less one in bits 0-2, then bytes with bit 7 clear. Only the start
 * line matters here; its delta, from the previous entry's line (from
 * co_firstlineno for the first), is by code:
 *   15  none: no location; the line stays as it was
 *   14  long form: svarint (then end-line delta, columns: not needed)
 *   13  no columns: svarint
 *   10-12  one-line forms: code - 10
 *   0-9  short forms: 0
 * As in CPython, the next entry starts at the next byte with bit 7 set, and
 * the first at byte 0 whatever it holds. */
static int line_311(int firstlineno, const uint8_t *t, size_t len, int64_t index)
{
	int64_t end = 0, line = firstlineno;
	size_t i = 0;
	while (i < len) {
		uint8_t first = t[i];
		int code = (first >> 3) & 15;
		if (code == 13 || code == 14)
			line += svarint(t, len, i + 1);
		else if (code >= 10 && code <= 12)
			line += code - 10;
		/* |delta| < 2^31, so held within +-2^40 the sum cannot overflow
		 * however long the table; CPython's int has overflowed long before */
		if (line > INT64_C(1) << 40 || line < -(INT64_C(1) << 40))
			line = line > 0 ? INT64_C(1) << 40 : -(INT64_C(1) << 40);
		end += (first & 7) + 1;
		if (index < end)
			return (first >> 3) == 0x1f ? 0 : source_line(line);
		do
			i++;
		while (i < len && !(t[i] & 0x80));
	}
	return 0;
}

int hc_pylines_line(unsigned minor, int firstlineno, const uint8_t *table, size_t len,
		    int64_t index)
{
	if (index < 0)
		return firstlineno;
	if (!table)
		return 0;
	if (minor == 10)
		return line_310(firstlineno, table, len, index);
	if (minor >= 11 && minor <= 13)
		return line_311(firstlineno, table, len, index);
	return 0;
}
