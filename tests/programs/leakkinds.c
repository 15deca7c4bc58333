/* The kinds of leak LeakSanitizer's and valgrind's test cases are made of,
 * each in a function of its own, so a tool must name that function: a block
 * only a global points to, one only a dead thread's TLS pointed to, one
 * pointed to only in its middle, a cycle of two, a block reachable only
 * from a leaked one, a strdup, an asprintf, getline's buffer, a
 * posix_memalign'd block; and the calls that allocate nothing or free all
 * they make: realloc to 0, calloc that overflows, fopen/fclose, qsort.
 * usage: leakkinds; prints nothing, exits 0. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *global_holder, *string_holder;
void *volatile sink; /* stores the compiler cannot drop */
static __thread void *tls_holder;
char *middle;
void *cycle_head_lost;

__attribute__((noinline)) void leak_global(void) { global_holder = malloc(1000); }

static void *tls_thread(void *arg)
{
	(void)arg;
	tls_holder = malloc(2000);
	sink = tls_holder;
	sink = NULL;
	return NULL;
}

__attribute__((noinline)) void leak_in_dead_tls(void)
{
	pthread_t th;
	pthread_create(&th, NULL, tls_thread, NULL);
	pthread_join(th, NULL);
}

__attribute__((noinline)) void leak_middle(void) { middle = (char *)malloc(3000) + 1500; }

__attribute__((noinline)) void leak_cycle(void)
{
	void **a = malloc(4000), **b = malloc(4000);
	a[0] = b, b[0] = a; /* each keeps the other; nothing else does */
	sink = a;
	sink = NULL;
}

__attribute__((noinline)) void *leak_inner(void) { return malloc(5000); }

__attribute__((noinline)) void leak_outer(void)
{
	void **outer = malloc(6000);
	outer[0] = leak_inner(); /* reachable only from a lost block */
	sink = outer;
	sink = NULL;
}

__attribute__((noinline)) void leak_strdup(void) { string_holder = strdup("a string that is never freed"); }

__attribute__((noinline)) void leak_asprintf(void)
{
	char *s;
	if (asprintf(&s, "%d leaks", 7) < 0)
		exit(1);
	sink = s;
	sink = NULL;
}

__attribute__((noinline)) void leak_getline(void)
{
	FILE *f = tmpfile();
	char *line = NULL;
	size_t cap = 0;
	if (!f || fputs("a line of a known length, read back with getline\n", f) < 0)
		exit(1);
	rewind(f);
	if (getline(&line, &cap, f) < 0)
		exit(1);
	sink = line;
	sink = NULL;
	fclose(f);
}

__attribute__((noinline)) void leak_memalign(void)
{
	void *p;
	if (posix_memalign(&p, 256, 7000))
		exit(1);
	sink = p;
	sink = NULL;
}

static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

__attribute__((noinline)) void no_leaks(void)
{
	sink = realloc(malloc(100), 0); /* frees: glibc's realloc(p, 0) */
	static volatile size_t huge = SIZE_MAX / 2;
	if ((sink = calloc(huge, 4)) != NULL) /* overflows: NULL, nothing made */
		exit(1);
	int v[2000];
	for (int i = 0; i < 2000; i++)
		v[i] = (i * 7919) % 2000;
	qsort(v, 2000, sizeof v[0], cmp);
	FILE *f = fopen("/dev/null", "w");
	if (f) {
		fprintf(f, "%d\n", v[0]);
		fclose(f);
	}
}

int main(void)
{
	leak_global();
	leak_in_dead_tls();
	leak_middle();
	leak_cycle();
	leak_outer();
	leak_strdup();
	leak_asprintf();
	leak_getline();
	leak_memalign();
	no_leaks();
	return 0;
}
