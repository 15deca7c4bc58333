/* Messages from the shim: one line on stderr, built without stdio or malloc
 * (both may be unusable inside an allocator hook or after fork). Only the
 * conversions the shim needs are supported: %s %d %u %lu %llu %x %lx. */
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static size_t put(char *buf, size_t cap, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < len && n + 1 < cap; i++)
		buf[n++] = s[i];
	return n;
}

static size_t put_num(char *buf, size_t cap, size_t n, unsigned long long v, int neg,
		      unsigned base)
{
	char tmp[24];
	size_t k = 0;
	do {
		tmp[k++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[k++] = '-';
	while (k && n + 1 < cap)
		buf[n++] = tmp[--k];
	return n;
}

static size_t vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
	size_t n = 0;
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			n = put(buf, cap, n, f, 1);
			continue;
		}
		f++;
		int longs = 0;
		while (*f == 'l') {
			longs++;
			f++;
		}
		switch (*f) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			n = put(buf, cap, n, s, strlen(s));
			break;
		}
		case 'd': {
			long long v = longs ? va_arg(ap, long) : va_arg(ap, int);
			n = put_num(buf, cap, n, v < 0 ? -(unsigned long long)v : (unsigned long long)v,
				    v < 0, 10);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v = longs == 2   ? va_arg(ap, unsigned long long)
					       : longs == 1 ? va_arg(ap, unsigned long)
							    : va_arg(ap, unsigned);
			n = put_num(buf, cap, n, v, 0, *f == 'x' ? 16 : 10);
			break;
		}
		case '%':
			n = put(buf, cap, n, "%", 1);
			break;
		default:
			return n; /* unsupported: stop rather than misread varargs */
		}
	}
	if (cap)
		buf[n < cap ? n : cap - 1] = '\0';
	return n;
}

size_t hc_fmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = vfmt(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

void hc_log(const char *fmt, ...)
{
	char line[1024] = "heapcreep: ";
	size_t n = strlen(line);
	va_list ap;
	va_start(ap, fmt);
	n += vfmt(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	const char *p = line;
	while (n > 0) {
		ssize_t k = write(2, p, n);
		if (k <= 0)
			return; /* stderr closed or broken: nothing more to do */
		p += k;
		n -= (size_t)k;
	}
}
