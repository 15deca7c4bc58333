/* The traced process's life: the constructor reads the configuration and
 * starts the collector; main's return and exit() mark where teardown begins;
 * the destructor, _exit and _Exit write the final state; the exec family
 * flushes the trace before the image is replaced; fork gives the child its
 * own trace (or none). None of this may change what the program sees: every
 * wrapper calls through with the same arguments and returns the same result.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "heapcreep/trace.h"
#include "internal.h"

#define EXPORT __attribute__((visibility("default")))

/* How long a flush at exec or exit may hold the program up. */
#define FLUSH_TIMEOUT_NS 5000000000ull

static int owner(void)
{
	/* A vfork child runs in our memory but must not flush our trace. */
	return getpid() == hc_pid;
}

/* Looks up the next definition with the guard held: what dlsym allocates is
 * ours, not the program's. */
static void *next_sym(const char *name)
{
	sigset_t saved;
	hc_own_enter(&saved);
	void *f = dlsym(RTLD_NEXT, name);
	hc_own_leave(&saved);
	return f;
}

/* The collector first: pausing it (for CPython 3.12 and later) joins it,
 * and it must not be waiting at phdr.c's closed gate then. */
static void prefork(void)
{
	hc_collector_prefork();
	hc_phdr_prefork();
}

static void postfork_parent(void)
{
	hc_phdr_postfork_parent();
	hc_collector_postfork_parent();
}

static void postfork_child(void)
{
	hc_phdr_postfork_child();
	hc_collector_postfork_child();
}

__attribute__((constructor)) static void heapcreep_init(void)
{
	sigset_t saved;
	hc_own_enter(&saved); /* what libc allocates for us here is not the program's */
	if (hc_config_load()) {
		hc_resolve();
		hc_tracing_set(HC_OFF);
		goto out;
	}
	hc_resolve();
	hc_clock_choose(hc_config.clock);
	if (hc_config.sample_bytes && hc_sampled_init())
		hc_log("cannot map the sampled-block set; every free is recorded");
	hc_config_loaded = 1;
	if (pthread_atfork(prefork, postfork_parent, postfork_child)) {
		hc_log("cannot register fork handlers; tracing off");
		hc_tracing_set(HC_OFF);
		goto out;
	}
	hc_own_leave(&saved);
	hc_collector_start();
	if (atomic_load(&hc_tracing) != HC_OFF)
		hc_fatal_install();
	return;
out:
	hc_own_leave(&saved);
}

__attribute__((destructor)) static void heapcreep_fini(void)
{
	if (owner())
		hc_collector_flush(1, FLUSH_TIMEOUT_NS);
}

/* --- where teardown begins --------------------------------------------- */

typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

static int main_wrapper(int argc, char **argv, char **envp)
{
	int rc = real_main(argc, argv, envp);
	if (hc_recording() && owner())
		hc_record_exit(HC_EXIT_MAIN);
	return rc;
}

EXPORT int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
			     void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
	int (*next)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void),
		    void *) = next_sym("__libc_start_main");
	real_main = main;
	return next(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

typedef void (*exit_fn)(int) __attribute__((noreturn));

EXPORT void exit(int status)
{
	static exit_fn next;
	if (!next)
		next = (exit_fn)next_sym("exit");
	if (hc_recording() && owner())
		hc_record_exit(HC_EXIT_CALL);
	next(status);
}

/* _exit skips destructors: write the final state here, or the last interval
 * would be lost (multiprocessing workers and fork children end this way). */
#define QUICK_EXIT(name)                                                         \
	EXPORT void name(int status)                                             \
	{                                                                        \
		static exit_fn next;                                             \
		if (!next)                                                       \
			next = (exit_fn)next_sym(#name);                         \
		if (owner())                                                     \
			hc_collector_flush(1, FLUSH_TIMEOUT_NS);                 \
		next(status);                                                    \
	}
QUICK_EXIT(_exit)
QUICK_EXIT(_Exit)

/* --- exec: flush first, since a successful exec never returns -------- */

static void before_exec(const char *path)
{
	if (!owner())
		return; /* a vfork child: the trace is the parent's */
	hc_collector_unpause();
	if (hc_recording() && atomic_load_explicit(&hc_collector_running, memory_order_relaxed)) {
		int e = errno;
		hc_record_exec(path);
		errno = e;
	}
}

#define NEXT(name, type) ((type)next_sym(name))

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	before_exec(path);
	return NEXT("execve", int (*)(const char *, char *const[], char *const[]))(path, argv,
										  envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	before_exec(path);
	return NEXT("execv", int (*)(const char *, char *const[]))(path, argv);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	before_exec(file);
	return NEXT("execvp", int (*)(const char *, char *const[]))(file, argv);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	before_exec(file);
	return NEXT("execvpe", int (*)(const char *, char *const[], char *const[]))(file, argv,
										   envp);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	before_exec("(fexecve)");
	return NEXT("fexecve", int (*)(int, char *const[], char *const[]))(fd, argv, envp);
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		    int flags)
{
	before_exec(path);
	return NEXT("execveat", int (*)(int, const char *, char *const[], char *const[],
					int))(dirfd, path, argv, envp, flags);
}

/* execl, execle, execlp: gather the variadic list into an array on the
 * stack (no malloc: the exec may follow a fork in a threaded program).
 * libc declares arg non-null, but callers do pass NULL (no arguments): the
 * empty asm keeps the compiler from dropping the test. */
#define COUNT_ARGS(first, ap, n)                                                  \
	do {                                                                      \
		va_list cp;                                                       \
		const char *f0 = first;                                           \
		__asm__("" : "+r"(f0));                                           \
		va_copy(cp, ap);                                                  \
		n = 1;                                                            \
		if (f0)                                                           \
			while (va_arg(cp, char *))                                \
				n++;                                              \
		va_end(cp);                                                       \
	} while (0)

EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t n;
	va_start(ap, arg);
	COUNT_ARGS(arg, ap, n);
	char *argv[n + 1];
	argv[0] = (char *)arg;
	for (size_t i = 1; i <= n; i++)
		argv[i] = i < n ? va_arg(ap, char *) : NULL;
	va_end(ap);
	return execv(path, argv);
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	size_t n;
	va_start(ap, arg);
	COUNT_ARGS(arg, ap, n);
	char *argv[n + 1];
	argv[0] = (char *)arg;
	for (size_t i = 1; i <= n; i++)
		argv[i] = i < n ? va_arg(ap, char *) : NULL;
	va_end(ap);
	return execvp(file, argv);
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t n;
	va_start(ap, arg);
	COUNT_ARGS(arg, ap, n);
	char *argv[n + 1];
	argv[0] = (char *)arg;
	for (size_t i = 1; i <= n; i++)
		argv[i] = i < n ? va_arg(ap, char *) : NULL;
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}
