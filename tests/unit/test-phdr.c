/* The fork gate around the shim's calls of dl_iterate_phdr (preload/phdr.c):
 * the prepare handler waits for callers inside to leave and keeps new ones
 * out until the fork is over; a caller waits at a closed gate only as long
 * as it was told (a stack libunwind would take is then cut to what the walk
 * found, and counted); a child forked while a caller stayed inside (past the
 * handler's second) never calls it again, and nobody there waits at it.
 * The forking thread itself goes through. The handlers are called here as
 * fork calls them, without forking.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "internal.h"
#include "tap.h"

static double ms_since(uint64_t t0)
{
	return (double)(hc_now() - t0) / 1e6;
}

static int count_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)info, (void)size;
	++*(int *)arg;
	return 0;
}

/* A caller that stays inside for hold_ms, then leaves. */
static _Atomic int entered;
static void *holder(void *arg)
{
	long hold_ms = (long)(intptr_t)arg;
	if (!hc_phdr_enter(HC_PHDR_WAIT))
		return NULL;
	atomic_store(&entered, 1);
	struct timespec ts = {hold_ms / 1000, (hold_ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
	hc_phdr_leave();
	return NULL;
}

struct unwound {
	int n, first_is_caller;
};

/* This function's caller's stack, as a hook takes it, through libunwind. */
__attribute__((noinline)) static struct unwound unwind_here(void)
{
	uint64_t buf[HC_MAX_FRAMES + HC_UNWIND_SLACK], hash;
	const uint64_t *found;
	const struct hc_frame *from = HC_CALLER();
	int n = hc_unwind(NULL, from, buf, HC_MAX_FRAMES, &hash, &found);
	return (struct unwound){n, n > 0 && found[0] == from->ip};
}

/* What another thread meets at the gate during a fork. */
struct other {
	int entered, iterated;
	double enter_ms, unwind_ms;
	struct unwound u;
};

static void *other_thread(void *arg)
{
	struct other *r = arg;
	int n = 0;
	uint64_t t0 = hc_now();
	r->entered = hc_phdr_enter(5000000);
	r->enter_ms = ms_since(t0);
	if (r->entered)
		hc_phdr_leave();
	r->iterated = hc_phdr_iterate(count_one, &n, HC_PHDR_WAIT);
	t0 = hc_now();
	r->u = unwind_here();
	r->unwind_ms = ms_since(t0);
	return NULL;
}

int main(void)
{
	plan(15);

	int n = 0;
	is_int(hc_phdr_iterate(count_one, &n, HC_PHDR_WAIT), 0, "an open gate: dl_iterate_phdr runs");
	ok(n >= 3, "and visits the loaded objects (%d)", n);

	/* A fork with a caller inside for 50 ms: the handler waits for it. */
	pthread_t t;
	atomic_store(&entered, 0);
	pthread_create(&t, NULL, holder, (void *)(intptr_t)50);
	while (!atomic_load(&entered))
		sched_yield();
	uint64_t t0 = hc_now();
	hc_phdr_prefork();
	double waited = ms_since(t0);
	ok(waited >= 30 && waited < 900, "prepare waits for the caller inside to leave (%.1f ms)", waited);
	pthread_t o;
	struct other r;
	pthread_create(&o, NULL, other_thread, &r);
	pthread_join(o, NULL);
	is_int(r.entered, 0, "during the fork another thread is kept out");
	ok(r.enter_ms >= 4 && r.enter_ms < 500, "after waiting what it was told, 5 ms (%.1f ms)",
	   r.enter_ms);
	is_int(r.iterated, -1, "hc_phdr_iterate gives up after its second");
	ok(r.u.n == 1 && r.u.first_is_caller && atomic_load(&hc_stacks_cut) == 1 &&
		   r.unwind_ms >= 15,
	   "a stack it wants through libunwind is cut to its caller after 20 ms, and counted "
	   "(%d frames, %.1f ms)", r.u.n, r.unwind_ms);
	is_int(hc_phdr_enter(0), 1, "the forking thread itself goes through");
	hc_phdr_leave();
	hc_phdr_postfork_parent();
	pthread_join(t, NULL);
	is_int(hc_phdr_enter(0), 1, "after the fork, the parent's gate is open");
	hc_phdr_leave();
	struct unwound u = unwind_here();
	ok(u.n >= 3 && u.first_is_caller && atomic_load(&hc_stacks_cut) == 1,
	   "and a stack is whole again (%d frames)", u.n);

	/* A caller stays inside past the handler's second: the child's gate
	 * stays shut, for good and for its own children, and nobody waits. */
	atomic_store(&entered, 0);
	pthread_create(&t, NULL, holder, (void *)(intptr_t)1500);
	while (!atomic_load(&entered))
		sched_yield();
	t0 = hc_now();
	hc_phdr_prefork();
	waited = ms_since(t0);
	ok(waited >= 900 && waited < 1400, "prepare gives up after a second (%.0f ms)", waited);
	hc_phdr_postfork_child();
	t0 = hc_now();
	is_int(hc_phdr_enter(HC_PHDR_WAIT), 0, "the child of that fork never enters");
	waited = ms_since(t0);
	ok(waited < 50, "nor waits to (%.1f ms)", waited);
	hc_phdr_prefork();
	hc_phdr_postfork_parent();
	is_int(hc_phdr_enter(0), 0, "a fork of its own leaves its gate shut");
	hc_phdr_prefork();
	hc_phdr_postfork_child();
	is_int(hc_phdr_enter(0), 0, "and its child's");
	pthread_join(t, NULL);
	return done_testing();
}
