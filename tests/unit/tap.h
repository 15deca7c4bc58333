/* A tiny TAP producer for the unit tests: plan(), ok(), is_int(), is_u64(),
 * is_str(), diag(), done_testing(). Header-only (every test is one file);
 * failures print where they happened, and done_testing() returns the exit
 * status: non-zero when a test failed or the plan was not met.
 */
#ifndef HC_TAP_H
#define HC_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_planned = -1, tap_run, tap_failed;

static inline void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
}

static inline void tap_vdesc(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static inline void tap_vdesc(const char *fmt, va_list ap)
{
	if (fmt && *fmt) {
		fputs(" - ", stdout);
		vprintf(fmt, ap);
	}
	putchar('\n');
}

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
}

static inline int tap_vok(const char *file, int line, int cond, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static inline int tap_vok(const char *file, int line, int cond, const char *fmt, va_list ap)
{
	tap_run++;
	printf("%sok %d", cond ? "" : "not ", tap_run);
	tap_vdesc(fmt, ap);
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

static inline int tap_ok(const char *file, int line, int cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int tap_ok(const char *file, int line, int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = tap_vok(file, line, cond, fmt, ap);
	va_end(ap);
	return r;
}

static inline int tap_is_int(const char *file, int line, long long got, long long want,
			     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline int tap_is_int(const char *file, int line, long long got, long long want,
			     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = tap_vok(file, line, got == want, fmt, ap);
	va_end(ap);
	if (!r)
		printf("#          got: %lld\n#     expected: %lld\n", got, want);
	return r;
}

static inline int tap_is_u64(const char *file, int line, uint64_t got, uint64_t want,
			     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline int tap_is_u64(const char *file, int line, uint64_t got, uint64_t want,
			     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = tap_vok(file, line, got == want, fmt, ap);
	va_end(ap);
	if (!r)
		printf("#          got: %" PRIu64 "\n#     expected: %" PRIu64 "\n", got, want);
	return r;
}

static inline int tap_is_str(const char *file, int line, const char *got, const char *want,
			     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline int tap_is_str(const char *file, int line, const char *got, const char *want,
			     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int same = got && want ? strcmp(got, want) == 0 : got == want;
	int r = tap_vok(file, line, same, fmt, ap);
	va_end(ap);
	if (!r)
		printf("#          got: '%s'\n#     expected: '%s'\n", got ? got : "(null)",
		       want ? want : "(null)");
	return r;
}

#define ok(cond, ...) tap_ok(__FILE__, __LINE__, !!(cond), __VA_ARGS__)
#define is_int(got, want, ...) \
	tap_is_int(__FILE__, __LINE__, (long long)(got), (long long)(want), __VA_ARGS__)
#define is_u64(got, want, ...) \
	tap_is_u64(__FILE__, __LINE__, (uint64_t)(got), (uint64_t)(want), __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str(__FILE__, __LINE__, (got), (want), __VA_ARGS__)

/* Ends the run: prints the plan if none was given, returns the exit status. */
static inline int done_testing(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_run);
	else if (tap_planned != tap_run)
		diag("planned %d tests but ran %d", tap_planned, tap_run);
	if (tap_failed)
		diag("failed %d of %d tests", tap_failed, tap_run);
	return tap_failed || (tap_planned >= 0 && tap_planned != tap_run) ? 1 : 0;
}

#endif
