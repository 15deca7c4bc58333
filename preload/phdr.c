/* The shim's calls of dl_iterate_phdr, kept out of forks. dl_iterate_phdr
 * holds the loader's write lock, which glibc's fork does not reset: a fork
 * while any thread of the parent is inside it gives the child a lock held
 * by a thread it does not have, and the child's first call waits forever.
 * So the prepare handler closes a gate, waits for the shim's callers inside
 * to leave, and the gate opens again after the fork. A caller waits at the
 * gate for a bound, then goes without: one on an allocation path for
 * HC_PHDR_WAIT_ALLOC only, as it may hold a lock the forking thread needs
 * to fork (stdio's list, flushing a stream that allocates its buffer).
 */
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define PREFORK_WAIT_NS 1000000000ull

enum { OPEN, FORKING, SHUT };
static _Atomic int closed;
static _Atomic int inside;
/* A fork happened with a caller still inside (it did not leave within a
 * second): the child keeps the gate shut, and nobody waits at it. */
static int tainted;

/* The forking thread: between the prepare handler and the fork it may still
 * allocate (a handler registered before the shim's runs after it), and it
 * cannot be inside dl_iterate_phdr at the fork itself. */
static _Atomic pid_t forker;

/* Whether this thread may enter: the gate is open, or it is the forker. */
static int may_pass(void)
{
	if (!atomic_load(&closed))
		return 1;
	pid_t f = atomic_load(&forker);
	return f && f == (pid_t)syscall(SYS_gettid);
}

static int try_enter(void)
{
	if (!may_pass())
		return 0;
	/* Sequentially consistent both: either the prepare handler sees this
	 * increment, or this thread sees the gate closed. */
	atomic_fetch_add(&inside, 1);
	if (!may_pass()) {
		atomic_fetch_sub(&inside, 1);
		return 0;
	}
	return 1;
}

int hc_phdr_enter(uint64_t wait_ns)
{
	uint64_t until = 0;
	while (!try_enter()) {
		if (atomic_load_explicit(&closed, memory_order_relaxed) == SHUT)
			return 0;
		uint64_t now = hc_now();
		if (!until)
			until = now + wait_ns;
		else if (now >= until)
			return 0;
		sched_yield();
	}
	return 1;
}

void hc_phdr_leave(void)
{
	atomic_fetch_sub_explicit(&inside, 1, memory_order_release);
}

int hc_phdr_iterate(int (*fn)(struct dl_phdr_info *, size_t, void *), void *arg,
		    uint64_t wait_ns)
{
	if (!hc_phdr_enter(wait_ns))
		return -1;
	int r = dl_iterate_phdr(fn, arg);
	hc_phdr_leave();
	return r;
}

void hc_phdr_prefork(void)
{
	if (atomic_load(&closed) == SHUT)
		return;
	atomic_store(&closed, FORKING);
	uint64_t until = hc_now() + PREFORK_WAIT_NS;
	while (atomic_load(&inside) > 0) {
		if (hc_now() >= until) {
			tainted = 1;
			break;
		}
		sched_yield();
	}
	atomic_store(&forker, (pid_t)syscall(SYS_gettid));
}

void hc_phdr_postfork_parent(void)
{
	atomic_store(&forker, 0);
	if (atomic_load(&closed) == SHUT)
		return;
	tainted = 0;
	atomic_store(&closed, OPEN);
}

void hc_phdr_postfork_child(void)
{
	atomic_store(&inside, 0);
	atomic_store(&forker, 0);
	if (atomic_load(&closed) != SHUT)
		atomic_store(&closed, tainted ? SHUT : OPEN);
	tainted = 0;
}
