/* Forks while other threads keep the shim's unwinder looking up code it has
 * not met (or has forgotten): 4 096 distinct allocation sites, called in
 * turn, overflow each thread's 2 048-slot rule cache, so nearly every
 * allocation makes the unwinder find a function's frame description. A fork
 * child inherits whatever loader lock a parent thread held at that moment;
 * a child whose unwinder then needs that lock would never end. Each child
 * allocates from sites its thread never called (one block kept, of 5 000 +
 * the fork's number bytes, and 10 allocated and freed) and exits.
 * With "jit", every other call goes through one of 256 copies of a stub
 * in anonymous executable memory: code no loaded object holds, so the
 * unwinder asks the loader's list, and then libunwind, for each new copy.
 *
 * usage: forkunwind FORKS THREADS [jit]
 * prints "forks F hung H": H children that had not ended 10 s after their
 * fork (each killed); exits 0 when H is 0. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SITE(id)                                                                  \
	static __attribute__((noinline)) void *site_##id(size_t n, int keep)     \
	{                                                                         \
		void *volatile p = malloc(n);                                     \
		if (keep)                                                         \
			return p;                                                 \
		free(p);                                                          \
		return NULL;                                                      \
	}
#define LIST(id) site_##id,
#define D0(X, p) X(p##0) X(p##1) X(p##2) X(p##3) X(p##4) X(p##5) X(p##6) X(p##7)
#define D1(X, p) D0(X, p##0) D0(X, p##1) D0(X, p##2) D0(X, p##3) \
	D0(X, p##4) D0(X, p##5) D0(X, p##6) D0(X, p##7)
#define D2(X, p) D1(X, p##0) D1(X, p##1) D1(X, p##2) D1(X, p##3) \
	D1(X, p##4) D1(X, p##5) D1(X, p##6) D1(X, p##7)
#define D3(X, p) D2(X, p##0) D2(X, p##1) D2(X, p##2) D2(X, p##3) \
	D2(X, p##4) D2(X, p##5) D2(X, p##6) D2(X, p##7)

D3(SITE, s)
static void *(*const sites[])(size_t, int) = {D3(LIST, s)};
#define NSITES (sizeof(sites) / sizeof(sites[0]))

/* stub(f, n): calls f(n) and returns what it returns. */
static const unsigned char stub_code[] = {
	0x48, 0x83, 0xec, 0x08, /* sub $8, %rsp */
	0x48, 0x89, 0xf8,       /* mov %rdi, %rax */
	0x48, 0x89, 0xf7,       /* mov %rsi, %rdi */
	0xff, 0xd0,             /* call *%rax */
	0x48, 0x83, 0xc4, 0x08, /* add $8, %rsp */
	0xc3,                   /* ret */
};
#define NSTUBS 256
#define STUB_SPAN 32
static unsigned char *stubs;

static void *stub_malloc(size_t i, size_t n)
{
	void *(*stub)(void *(*)(size_t), size_t) =
		(void *(*)(void *(*)(size_t), size_t))(void *)(stubs + i % NSTUBS * STUB_SPAN);
	return stub(malloc, n);
}

static void one(size_t i, size_t n)
{
	if (stubs && i % 2) {
		void *volatile p = stub_malloc(i / 2, n);
		free(p);
	} else {
		sites[i % NSITES](n, 0);
	}
}

static atomic_int stop;
void *volatile kept; /* not static: the compiler must keep the block */

static void *spinner(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg * 997;
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		one(i++, 48);
	return NULL;
}

static void child(int k)
{
	/* sites no thread of the parent called last: rules not in this ring */
	for (int j = 0; j < 10; j++)
		one((size_t)(k * 131 + j * 409), 64);
	kept = sites[(size_t)(k * 17) % NSITES](5000 + (size_t)k, 1);
	exit(0);
}

/* 1 if the child ended by itself within 10 s, else 0 (killed). */
static int reap(pid_t pid)
{
	for (int ms = 0; ms < 10000; ms++) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	int forks = argc > 1 ? atoi(argv[1]) : 100;
	int nthreads = argc > 2 ? atoi(argv[2]) : 2;
	if (nthreads > 8)
		nthreads = 8;
	if (argc > 3 && strcmp(argv[3], "jit") == 0) {
		stubs = mmap(NULL, NSTUBS * STUB_SPAN, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (stubs == MAP_FAILED) {
			perror("forkunwind: mmap");
			return 2;
		}
		for (int i = 0; i < NSTUBS; i++)
			memcpy(stubs + i * STUB_SPAN, stub_code, sizeof(stub_code));
	}
	pthread_t t[8];
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, spinner, (void *)(uintptr_t)i);
	int hung = 0;
	for (int k = 0; k < forks; k++) {
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
		pid_t pid = fork();
		if (pid == 0)
			child(k);
		if (pid < 0 || !reap(pid))
			hung++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	printf("forks %d hung %d\n", forks, hung);
	return hung != 0;
}
