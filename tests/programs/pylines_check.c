/* Checks analyzer/pylines.c against CPython: reads what tests/pylines-dump.py
 * wrote (each code object's version, co_firstlineno, raw co_linetable and
 * the line co_lines() gives every code unit) and asks hc_pylines_line() the
 * same of every unit and of index -1. Prints the counts, the first
 * mismatches in detail; exits 1 on any mismatch, 2 on input it cannot read.
 * usage: pylines_check <DUMP
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The decoder itself, as the analyzer builds it: test programs link libc only. */
#include "../../analyzer/pylines.c"

#define SHOWN 10 /* mismatches detailed; the rest are only counted */

struct stats {
	unsigned long long codes, units, with_line, negative, mismatches;
	unsigned long long forms[16];                 /* 3.11+: entries by code */
	unsigned long long pairs, empty, noline, back; /* 3.10 */
	unsigned minors;                              /* bit per minor seen */
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The table's entries by kind, so the test can see every form was checked. */
static void count_forms(struct stats *st, unsigned minor, const uint8_t *t, size_t len)
{
	if (minor == 10) {
		for (size_t i = 0; i + 1 < len; i += 2) {
			st->pairs++;
			st->empty += t[i] == 0;
			st->noline += t[i + 1] == 0x80;
			st->back += t[i + 1] > 0x80;
		}
		return;
	}
	for (size_t i = 0; i < len; i++)
		if (t[i] & 0x80)
			st->forms[(t[i] >> 3) & 15]++;
}

static void mismatch(struct stats *st, const char *label, unsigned minor, long long index,
		     long long want, int got)
{
	if (++st->mismatches <= SHOWN)
		printf("mismatch: 3.%u %s: index %lld: CPython says %lld, hc_pylines_line %d\n",
		       minor, label, index, want, got);
}

/* The next number of the line at *p, after optional spaces: 0, or -1 when
 * there is none or it does not fit. */
static int number(char **p, long long *v)
{
	char *end;
	errno = 0;
	*v = strtoll(*p, &end, 10);
	if (end == *p || errno)
		return -1;
	*p = end;
	return 0;
}

/* The table's hex ('-': empty) into a buffer of exactly its length, so
 * that a sanitizer sees any read past it. Returns the length, or -1. */
static long long unhex(const char *hex, size_t n, uint8_t **table)
{
	int empty = n == 1 && *hex == '-';
	if (!empty && (n == 0 || n % 2))
		return -1;
	size_t len = empty ? 0 : n / 2;
	free(*table);
	*table = malloc(len ? len : 1);
	if (!*table)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		(*table)[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long long)len;
}

/* One line of the dump: MINOR FIRSTLINENO TABLE N LINE... LABEL. Returns 0,
 * or -1 when it is malformed. */
static int check_line(struct stats *st, char *s, uint8_t **table)
{
	long long minor, first, n, want;
	char *p = s;
	if (number(&p, &minor) || minor < 0 || minor > 31 || number(&p, &first) ||
	    first < INT_MIN || first > INT_MAX || *p++ != ' ')
		return -1;
	size_t hexlen = strcspn(p, " \n");
	long long len = unhex(p, hexlen, table);
	p += hexlen;
	if (len < 0 || number(&p, &n) || n < 0)
		return -1;
	/* the label is the rest of the line, after the N lines */
	char *label = p;
	for (long long i = 0; i < n; i++)
		if (number(&label, &want))
			return -1;
	label += strspn(label, " ");
	label[strcspn(label, "\n")] = 0;

	st->codes++;
	st->minors |= 1u << minor;
	count_forms(st, (unsigned)minor, *table, (size_t)len);
	int got = hc_pylines_line((unsigned)minor, (int)first, *table, (size_t)len, -1);
	if (got != first)
		mismatch(st, label, (unsigned)minor, -1, first, got);
	for (long long i = 0; i < n; i++) {
		number(&p, &want);
		/* line 0, "no line" and the negative lines 3.12 gives for tables
		 * that go below 0 (3.10 and 3.11 give None) are all no source line */
		if (want < 1) {
			st->negative += want < 0;
			want = 0;
		}
		st->units++;
		st->with_line += want != 0;
		got = hc_pylines_line((unsigned)minor, (int)first, *table, (size_t)len, i);
		if (got != want)
			mismatch(st, label, (unsigned)minor, i, want, got);
	}
	return 0;
}

int main(void)
{
	struct stats st;
	memset(&st, 0, sizeof(st));
	char *line = NULL;
	size_t linecap = 0;
	uint8_t *table = NULL;
	unsigned long long lineno = 0;
	ssize_t r;
	while ((r = getline(&line, &linecap, stdin)) > 0) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (check_line(&st, line, &table)) {
			fprintf(stderr, "pylines_check: malformed dump line %llu\n", lineno);
			return 2;
		}
	}
	free(line);
	free(table);

	printf("versions:");
	for (unsigned m = 0; m < 32; m++)
		if (st.minors & 1u << m)
			printf(" 3.%u", m);
	printf("\n%llu code objects, %llu instructions checked (%llu with a line, %llu without; "
	       "%llu negative in co_lines), %llu mismatches\n",
	       st.codes, st.units, st.with_line, st.units - st.with_line, st.negative,
	       st.mismatches);
	if (st.minors & 1u << 10)
		printf("3.10 pairs: %llu, empty ranges %llu, no-line %llu, negative line deltas %llu\n",
		       st.pairs, st.empty, st.noline, st.back);
	if (st.minors & ~(1u << 10)) {
		unsigned long long s = 0;
		for (int c = 0; c <= 9; c++)
			s += st.forms[c];
		printf("location entries: short %llu, one-line %llu, no-column %llu, long %llu, none %llu\n",
		       s, st.forms[10] + st.forms[11] + st.forms[12], st.forms[13], st.forms[14],
		       st.forms[15]);
	}
	return st.mismatches ? 1 : 0;
}
