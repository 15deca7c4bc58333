/* A program whose heap is the same on every run: it allocates and frees in
 * a fixed pattern on the main thread and on a second thread, and prints
 * where each block landed (its offset from the first block of its thread)
 * and the main arena's mallinfo2 figures. Run bare and under the shim, the
 * output must be the same: the shim keeps its own work out of the
 * program's heap, and leaves no dlerror() behind. tests/t0220-own-memory.sh
 * compares the two. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEPS 400

static void shape(const char *who, char *out, size_t cap, uintptr_t *basep)
{
	void *live[64] = {0};
	uintptr_t base = *basep;
	size_t len = 0;
	unsigned x = 12345;
	for (int i = 0; i < STEPS; i++) {
		x = x * 1103515245u + 12345u;
		int slot = (int)(x >> 16) % 64;
		/* sizes that meet the stdio buffer (4096), a FILE (472), a
		 * thread's DTV (304) and the small classes */
		static const size_t sizes[] = {16, 24, 32, 48, 64, 100, 304, 472, 1000, 4096, 5000};
		size_t size = sizes[(x >> 8) % (sizeof sizes / sizeof sizes[0])];
		if (live[slot]) {
			free(live[slot]);
			live[slot] = NULL;
			continue;
		}
		live[slot] = malloc(size);
		memset(live[slot], (int)i, size);
		if (!base)
			base = *basep = (uintptr_t)live[slot];
		if (len + 32 < cap)
			len += (size_t)snprintf(out + len, cap - len, "%s %d %zu %+ld\n", who, i, size,
						 (long)((uintptr_t)live[slot] - base));
	}
	for (int i = 0; i < 64; i++)
		free(live[i]);
}

static char thread_out[1 << 16];

static void *second(void *arg)
{
	(void)arg;
	uintptr_t base = 0;
	shape("thread", thread_out, sizeof thread_out, &base);
	return NULL;
}

int main(void)
{
	/* No error is pending for a program that made no dl call. */
	printf("dlerror %s\n", dlerror() ? "pending" : "none");
	static char main_out[1 << 16];
	uintptr_t base = 0;
	shape("main", main_out, sizeof main_out, &base);
	pthread_t th;
	if (pthread_create(&th, NULL, second, NULL))
		return 1;
	pthread_join(th, NULL);
	/* and after the thread: what the main arena holds */
	void *after = malloc(304);
	shape("again", main_out + strlen(main_out), sizeof main_out - strlen(main_out), &base);
	struct mallinfo2 mi = mallinfo2();
	fputs(main_out, stdout);
	fputs(thread_out, stdout);
	printf("after %+ld\n", (long)((uintptr_t)after - base));
	printf("arena %zu ordblks %zu uordblks %zu fordblks %zu hblks %zu keepcost %zu\n", mi.arena,
	       mi.ordblks, mi.uordblks, mi.fordblks, mi.hblks, mi.keepcost);
	free(after);
	return 0;
}
