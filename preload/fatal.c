/* Fatal signals: a process killed by SIGSEGV, SIGBUS, SIGABRT, SIGFPE or
 * SIGILL leaves a whole trace, ending with the signal. The post-mortem
 * reader is exactly the one whose process died.
 *
 * Only where the disposition is the default (the process would die): a
 * program's own handler, installed before or after, is the program's
 * business, and one that chains to the handler it replaced reaches this
 * one. The handler asks the collector for its final flush (atomics and a
 * futex: async-signal-safe; bounded), restores the default and raises the
 * signal again, so the process ends as it would have: the same signal, its
 * core dump, its exit status. A fault re-executed after the return would
 * do the same; a signal sent with kill would not, hence the raise.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "internal.h"

#define FATAL_FLUSH_NS 2000000000ull

static const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};

static _Atomic int dying;   /* a thread took the flush */
static _Atomic int flushed; /* and it is done (or gave up) */

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	int e = errno;
	if (!atomic_exchange(&dying, 1)) {
		hc_collector_fatal(sig, FATAL_FLUSH_NS);
		atomic_store(&flushed, 1);
	} else {
		/* Another thread's fatal signal is being flushed: let it end
		 * before this one ends the process. */
		for (int i = 0; i < 200 && !atomic_load(&flushed); i++)
			nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig); /* blocked until this handler returns, then the default */
	errno = e;
}

void hc_fatal_install(void)
{
	struct sigaction sa = {.sa_sigaction = on_fatal, .sa_flags = SA_SIGINFO | SA_ONSTACK};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction old;
		if (sigaction(fatal[i], NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
		    old.sa_handler == SIG_DFL)
			sigaction(fatal[i], &sa, NULL);
	}
}
