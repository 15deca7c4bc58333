/* A process that dies young: it keeps 16 MiB (16 blocks of 1 MiB, in
 * leak_early) and then, 5 ms after its start:
 *   abort    calls abort()                      (SIGABRT, status 134)
 *   segv     writes through a null pointer      (SIGSEGV, status 139)
 *   handled  the same, with its own SIGSEGV handler that exits with 3
 *   wait     prints "ready" and sleeps (for a test to SIGKILL it)
 * usage: dieyoung MODE */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *kept[16];

__attribute__((noinline)) static void leak_early(void)
{
	for (int i = 0; i < 16; i++) {
		kept[i] = malloc(1 << 20);
		memset(kept[i], 1, 4096);
	}
}

static void on_segv(int sig)
{
	(void)sig;
	_exit(3);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "abort";
	if (!strcmp(mode, "handled"))
		signal(SIGSEGV, on_segv);
	leak_early();
	nanosleep(&(struct timespec){0, 5000000}, NULL);
	if (!strcmp(mode, "abort"))
		abort();
	if (!strcmp(mode, "segv") || !strcmp(mode, "handled"))
		*(volatile int *)(uintptr_t)(argc - argc) = 1;
	if (write(1, "ready\n", 6) != 6)
		return 1;
	for (;;)
		pause();
}
