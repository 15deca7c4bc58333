/* Anonymous mappings made and unmapped in every way the shim must follow,
 * each in a function of its own (so a test can name the site), with known
 * sizes; and mappings it must leave out. Pages are 4 KiB here.
 *
 *   kept()     8 × 256 KiB mapped, kept                   2 MiB live
 *   scratch()  1 MiB mapped, unmapped                      0
 *   trimmed()  4 MiB mapped, 1 MiB cut off each end        2 MiB live (one block)
 *   holed()    1 MiB mapped, 256 KiB cut from the middle   768 KiB live (two blocks)
 *   grown()    64 KiB mapped, mremap'd to 512 KiB (moved)  512 KiB live, grown()'s mremap
 *   decommit() 1 MiB mapped, its back half replaced by a
 *              MAP_FIXED PROT_NONE mapping                 512 KiB live
 *   odd()      5000 bytes mapped: two pages                8 KiB live
 *   handed()   thread A maps N × 64 KiB, thread B unmaps   0
 *   skipped()  a file mapping, a PROT_NONE reservation, a
 *              MAP_NORESERVE one, a read-only one          never traced
 * Then the program keeps the live ones to its end: 6 037 504 bytes in
 * 8 + 1 + 2 + 1 + 1 + 1 = 14 blocks.
 *
 * mapper reserve SECONDS: memory no hook sees grow. One 1 GiB MAP_NORESERVE
 * reservation (address space, not traced), 1 MiB of it touched every
 * second: RSS climbs outside the traced heap.
 * usage: mapper [N]   (N hand-overs, default 2000) | mapper reserve SECONDS
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define KiB 1024ul
#define MiB (1024ul * 1024ul)

static void *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static void unmap(void *p, size_t len)
{
	if (munmap(p, len)) {
		perror("munmap");
		exit(1);
	}
}

static void *live[16];
static int nlive;

__attribute__((noinline)) static void kept(void)
{
	for (int i = 0; i < 8; i++)
		live[nlive++] = map(256 * KiB);
}

__attribute__((noinline)) static void scratch(void)
{
	char *p = map(1 * MiB);
	p[0] = 1;
	unmap(p, 1 * MiB);
}

__attribute__((noinline)) static void trimmed(void)
{
	char *p = map(4 * MiB);
	unmap(p, 1 * MiB);
	unmap(p + 3 * MiB, 1 * MiB);
	live[nlive++] = p + 1 * MiB;
}

__attribute__((noinline)) static void holed(void)
{
	char *p = map(1 * MiB);
	unmap(p + 256 * KiB, 256 * KiB);
	live[nlive++] = p;
}

__attribute__((noinline)) static void grown(void)
{
	char *p = map(64 * KiB);
	/* a neighbour that stops it growing in place */
	char *q = mmap(p + 64 * KiB, 4 * KiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_FIXED_NOREPLACE, -1, 0);
	p = mremap(p, 64 * KiB, 512 * KiB, MREMAP_MAYMOVE);
	if (p == MAP_FAILED) {
		perror("mremap");
		exit(1);
	}
	if (q != MAP_FAILED)
		munmap(q, 4 * KiB);
	live[nlive++] = p;
}

__attribute__((noinline)) static void decommit(void)
{
	char *p = map(1 * MiB);
	if (mmap(p + 512 * KiB, 512 * KiB, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED) {
		perror("mmap fixed");
		exit(1);
	}
	live[nlive++] = p;
}

__attribute__((noinline)) static void odd(void)
{
	live[nlive++] = map(5000);
}

/* The hand-over goes through a pipe: a spinning thread would starve under
 * valgrind, which runs one thread at a time. */
static int pipefd[2];

static void *unmapper(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++) {
		void *p;
		if (read(pipefd[0], &p, sizeof(p)) != (ssize_t)sizeof(p)) {
			perror("read");
			exit(1);
		}
		unmap(p, 64 * KiB);
	}
	return NULL;
}

__attribute__((noinline)) static void handed(long n)
{
	pthread_t t;
	if (pipe(pipefd)) {
		perror("pipe");
		exit(1);
	}
	pthread_create(&t, NULL, unmapper, (void *)n);
	for (long i = 0; i < n; i++) {
		void *p = map(64 * KiB);
		if (write(pipefd[1], &p, sizeof(p)) != (ssize_t)sizeof(p)) {
			perror("write");
			exit(1);
		}
	}
	pthread_join(t, NULL);
	close(pipefd[0]);
	close(pipefd[1]);
}

__attribute__((noinline)) static void skipped(void)
{
	int fd = open("/proc/self/exe", O_RDONLY);
	void *f = fd >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	void *r = mmap(NULL, 64 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *n = mmap(NULL, 64 * MiB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	void *ro = mmap(NULL, 64 * KiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd >= 0)
		close(fd);
	live[nlive++] = f;
	live[nlive++] = r;
	live[nlive++] = n;
	live[nlive++] = ro;
}

static int reserve(double seconds)
{
	char *p = mmap(NULL, 1ul << 30, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (long i = 0; i < (long)(seconds * 100); i++) {
		memset(p + i * (10 * KiB), 1, 10 * KiB); /* 1 MiB a second */
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "reserve"))
		return reserve(atof(argv[2]));
	long n = argc > 1 ? atol(argv[1]) : 2000;
	kept();
	scratch();
	trimmed();
	holed();
	grown();
	decommit();
	odd();
	handed(n);
	skipped();
	printf("%d mappings kept\n", nlive);
	return 0;
}
