/* `heapcreep run`: runs a command with the shim preloaded and hands the user
 * one trace. The command's stdout, stdin and exit status are its own: the
 * wrapper writes nothing on stdout, forwards termination signals, and exits
 * as the command did (re-raising a fatal signal). Every traced process
 * (forks, and each image of an exec chain such as `sh -c`, `env` or the
 * pyenv shims) writes its own trace into a private directory; afterwards the
 * trace of the process that did the work (the most bytes allocated) becomes
 * FILE and the others are kept, named by pid and program, in FILE.traces/.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "heapcreep/units.h"
#include "run.h"
#include "summary.h"
#include "symbolize.h"

static const char usage[] =
	"usage: heapcreep run [-o FILE] [--sample BYTES] [--allocator jemalloc|tcmalloc|PATH]\n"
	"                     [--promote DURATION] [--interval DURATION] [--fork trace|off]\n"
	"                     [--pymalloc] [--dormant] [-q] [--] COMMAND [ARGS...]\n";

struct trace_info {
	char name[NAME_MAX + 1];
	uint64_t pid, ppid, seq;
	/* Bytes allocated: what tells the program from its helpers. Not the
	 * count of allocations: when sampling, a helper's few small sampled
	 * blocks estimate tens of thousands of allocations (each stands for
	 * the ~512 KiB between samples), more than the program's big ones. */
	uint64_t work;
	char prog[64];
};

static pid_t child;

/* snprintf that says when the path did not fit. */
__attribute__((format(printf, 3, 4))) static int pathf(char *out, size_t cap,
						       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

/* Directory of FILE (for the private trace directory: same file system, so
 * the final rename is atomic). */
static void dir_of(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(out, cap, ".");
	else if (slash == path)
		snprintf(out, cap, "/");
	else
		snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

static int find_shim(char *out, size_t cap)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	/* <prefix>/libexec/heapcreep/heapcreep-cli → <prefix>/lib/libheapcreep.so */
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(exe, '/');
		if (!slash)
			return -1;
		*slash = '\0';
	}
	if (pathf(out, cap, "%s/lib/libheapcreep.so", exe))
		return -1;
	return access(out, R_OK);
}

/* A library name or path for --allocator, found in the usual places. */
static int find_allocator(const char *what, char *out, size_t cap)
{
	const char *soname = what;
	if (!strcmp(what, "jemalloc"))
		soname = "libjemalloc.so.2";
	else if (!strcmp(what, "tcmalloc"))
		soname = "libtcmalloc.so.4";
	else if (!strcmp(what, "tcmalloc-minimal"))
		soname = "libtcmalloc_minimal.so.4";
	if (strchr(soname, '/'))
		return pathf(out, cap, "%s", soname) ? -1 : access(out, R_OK);
	static const char *const dirs[] = {
		"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
		"/usr/local/lib", "/usr/lib64", "/usr/lib", "/lib64", "/lib",
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!pathf(out, cap, "%s/%s", dirs[i], soname) && !access(out, R_OK))
			return 0;
	}
	return -1;
}

int hc_run_option(struct hc_run_opts *o, const char *a, const char *v)
{
	const char **slot = NULL;
	if (!strcmp(a, "--pymalloc")) {
		o->pymalloc = 1;
		return 1;
	}
	if (!strcmp(a, "--dormant")) {
		o->dormant = 1;
		return 1;
	}
	if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
		o->quiet = 1;
		return 1;
	}
	if (!strcmp(a, "-o") || !strcmp(a, "--output"))
		slot = &o->out;
	else if (!strcmp(a, "--sample"))
		slot = &o->sample;
	else if (!strcmp(a, "--promote"))
		slot = &o->promote;
	else if (!strcmp(a, "--interval"))
		slot = &o->interval;
	else if (!strcmp(a, "--fork"))
		slot = &o->fork_mode;
	else if (!strcmp(a, "--allocator"))
		slot = &o->allocator;
	if (!slot)
		return 0;
	if (!v) {
		hc_err("option '%s' needs a value", a);
		return -1;
	}
	*slot = v;
	return 2;
}

int hc_run_check(const struct hc_run_opts *o)
{
	uint64_t v;
	if (o->sample && hc_parse_size(o->sample, &v)) {
		hc_err("run: bad --sample '%s': expected a size such as 512K", o->sample);
		return -1;
	}
	if (o->promote && hc_parse_duration(o->promote, &v)) {
		hc_err("run: bad --promote '%s': expected a duration such as 2s", o->promote);
		return -1;
	}
	if (o->interval && hc_parse_duration(o->interval, &v)) {
		hc_err("run: bad --interval '%s': expected a duration such as 1s", o->interval);
		return -1;
	}
	if (o->fork_mode && strcmp(o->fork_mode, "trace") && strcmp(o->fork_mode, "off")) {
		hc_err("run: bad --fork '%s': expected 'trace' or 'off'", o->fork_mode);
		return -1;
	}
	if (o->out && !*o->out) {
		hc_err("run: empty output path");
		return -1;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct hc_run_opts *o, int *first)
{
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			exit(0);
		}
		int took = hc_run_option(o, a, i + 1 < argc ? argv[i + 1] : NULL);
		if (took < 0)
			return -1;
		if (!took) {
			hc_err("run: unknown option '%s'", a);
			return -1;
		}
		i += took - 1;
	}
	*first = i;
	if (hc_run_check(o))
		return -1;
	if (i >= argc) {
		hc_err("run: no command given");
		fputs(usage, stderr);
		return -1;
	}
	return 0;
}

/* In the child: the environment of the traced command, then exec. tmp:
 * where the traces go; NULL in dormant mode (each window's trace goes to
 * FILE, FILE.1.hct... with -o, else to the process's control directory). */
static void exec_child(char **cmd, const struct hc_run_opts *o, const char *shim,
		       const char *alloc, const char *tmp)
{
	char preload[3 * PATH_MAX + 64], output[PATH_MAX + 16];
	const char *old = getenv("LD_PRELOAD");
	/* The shim first, so its malloc is the one the program binds to; the
	 * allocator right after it, so it is the shim's "next"; then whatever
	 * the user preloads already. */
	if (pathf(preload, sizeof(preload), "%s%s%s%s%s", shim, alloc ? ":" : "",
		  alloc ? alloc : "", old && *old ? ":" : "", old ? old : "") ||
	    (tmp && pathf(output, sizeof(output), "%s/%%p.hct", tmp)) ||
	    (!tmp && o->out && pathf(output, sizeof(output), "%s", o->out))) {
		hc_err("run: paths too long");
		_exit(126);
	}
	setenv("LD_PRELOAD", preload, 1);
	if (tmp || o->out)
		setenv("HEAPCREEP_OUTPUT", output, 1);
	if (!tmp)
		setenv("HEAPCREEP_DORMANT", "1", 1);
	if (o->sample)
		setenv("HEAPCREEP_SAMPLE", o->sample, 1);
	if (o->promote)
		setenv("HEAPCREEP_PROMOTE", o->promote, 1);
	if (o->interval)
		setenv("HEAPCREEP_INTERVAL", o->interval, 1);
	if (o->fork_mode)
		setenv("HEAPCREEP_FORK", o->fork_mode, 1);
	/* Python serves objects of 512 bytes or less from its own arenas
	 * (pymalloc), where no malloc hook sees them: every object goes to
	 * malloc instead, unless asked or already chosen by the user. */
	if (!o->pymalloc && !getenv("PYTHONMALLOC"))
		setenv("PYTHONMALLOC", "malloc", 1);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	execvp(cmd[0], cmd);
	int e = errno;
	hc_err("cannot run '%s': %s", cmd[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

static int by_work(const void *a, const void *b)
{
	const struct trace_info *x = a, *y = b;
	if (x->work != y->work)
		return x->work > y->work ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->seq > y->seq ? -1 : (x->seq < y->seq);
}

static size_t list_traces(const char *tmp, struct trace_info **out)
{
	DIR *d = opendir(tmp);
	size_t n = 0, cap = 0;
	struct trace_info *v = NULL;
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".hct"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct trace_info *nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		struct trace_info *t = &v[n];
		memset(t, 0, sizeof(*t));
		snprintf(t->name, sizeof(t->name), "%s", e->d_name);
		char path[PATH_MAX];
		if (pathf(path, sizeof(path), "%s/%s", tmp, e->d_name))
			continue;
		struct hc_summary s;
		hc_summary_read(&s, path); /* a damaged trace still counts as one */
		t->pid = s.have_header ? s.header.pid : strtoull(e->d_name, NULL, 10);
		t->ppid = s.have_header ? s.header.ppid : 0;
		t->seq = s.have_header ? s.header.exec_seq : 0;
		t->work = s.have_snapshot ? s.last.total_bytes_allocated : 0;
		const char *prog = "unknown";
		size_t plen = 7;
		if (s.have_header && s.header.exe.len) {
			const char *exe = s.header.exe.p;
			size_t elen = s.header.exe.len;
			const char *slash = memrchr(exe, '/', elen);
			prog = slash ? slash + 1 : exe;
			plen = elen - (size_t)(prog - exe);
		}
		if (plen >= sizeof(t->prog))
			plen = sizeof(t->prog) - 1;
		memcpy(t->prog, prog, plen);
		for (size_t k = 0; k < plen; k++)
			if (t->prog[k] == '/' || t->prog[k] == ' ')
				t->prog[k] = '_';
		hc_summary_release(&s);
		n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), by_work);
	*out = v;
	return n;
}

/* Whether t[i] is the last image of its process (exec chains). */
static int final_image(const struct trace_info *t, size_t n, size_t i)
{
	for (size_t j = 0; j < n; j++)
		if (t[j].pid == t[i].pid && t[j].seq > t[i].seq)
			return 0;
	return 1;
}

/* The trace the user means: the last image of the process we started (an
 * exec chain of sh -c, env or pyenv shims ends in the real program), unless
 * that image did next to nothing and one of its children did the work (a
 * shell that ran the program). Grandchildren are helpers of that program
 * (pyenv's own scripts), not the work. t is sorted by work. */
static size_t main_trace(const struct trace_info *t, size_t n, pid_t root)
{
	size_t own = n, kid = n;
	for (size_t i = 0; i < n; i++) {
		if (!final_image(t, n, i))
			continue;
		if (t[i].pid == (uint64_t)root && own == n)
			own = i;
		else if (t[i].ppid == (uint64_t)root && kid == n)
			kid = i; /* the first in order of work: the busiest */
	}
	if (own == n)
		return kid == n ? 0 : kid;
	if (kid != n && t[own].work * 10 < t[kid].work)
		return kid;
	return own;
}

/* Moves the traces out of the private directory: the main one to `out`, the
 * others into <stem>.traces/. */
static void place_traces(const char *tmp, const char *out_opt, const char *out_dir,
			 pid_t root, int quiet, char *placed, size_t placed_cap)
{
	struct trace_info *t = NULL;
	size_t n = list_traces(tmp, &t);
	char from[PATH_MAX], to[PATH_MAX], out[PATH_MAX], others[PATH_MAX];
	if (n == 0) {
		if (!quiet)
			hc_err("no trace was written");
		goto out;
	}
	size_t m = main_trace(t, n, root);
	struct trace_info first = t[m];
	memmove(t + 1, t, m * sizeof(*t));
	t[0] = first;
	int too_long = out_opt ? pathf(out, sizeof(out), "%s", out_opt)
			       : pathf(out, sizeof(out), "%s/heapcreep.%llu.hct", out_dir,
				       (unsigned long long)t[0].pid);
	if (too_long || pathf(from, sizeof(from), "%s/%s", tmp, t[0].name)) {
		hc_err("output path too long; the traces stay in '%s'", tmp);
		goto out;
	}
	if (rename(from, out)) {
		hc_err("cannot move the trace to '%s': %s (it stays in '%s')", out, strerror(errno),
		       from);
		pathf(placed, placed_cap, "%s", from);
		goto out;
	}
	pathf(placed, placed_cap, "%s", out);
	size_t stem = strlen(out);
	if (stem > 4 && !strcmp(out + stem - 4, ".hct"))
		stem -= 4;
	pathf(others, sizeof(others), "%.*s.traces", (int)stem, out); /* shorter than out */
	size_t moved = 0;
	if (n > 1) {
		/* Stale traces of an earlier run with the same name would mislead. */
		DIR *old = opendir(others);
		if (old) {
			for (struct dirent *e; (e = readdir(old)) != NULL;) {
				size_t len = strlen(e->d_name);
				if (len > 4 && !strcmp(e->d_name + len - 4, ".hct") &&
				    !pathf(to, sizeof(to), "%s/%s", others, e->d_name))
					unlink(to);
			}
			closedir(old);
		} else if (mkdir(others, 0700) && errno != EEXIST) {
			hc_err("cannot create '%s': %s (other traces stay in '%s')", others,
			       strerror(errno), tmp);
			goto report;
		}
		for (size_t i = 1; i < n; i++) {
			if (!pathf(from, sizeof(from), "%s/%s", tmp, t[i].name) &&
			    !pathf(to, sizeof(to), "%s/%llu.%llu.%s.hct", others,
				   (unsigned long long)t[i].pid, (unsigned long long)t[i].seq,
				   t[i].prog) &&
			    !rename(from, to)) {
				moved++;
				hc_symbolize_file(to, 1); /* each process's, as the main one's */
			}
		}
	}
report:
	if (!quiet) {
		if (moved)
			hc_err("trace of '%s' (pid %llu) in '%s'; %zu other traced process%s in '%s'",
			       t[0].prog, (unsigned long long)t[0].pid, out, moved,
			       moved == 1 ? "" : "es", others);
		else
			hc_err("trace of '%s' (pid %llu) in '%s'", t[0].prog,
			       (unsigned long long)t[0].pid, out);
	}
out:
	free(t);
}

int hc_exit_like(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		/* Die the same way, so a parent shell sees what it would have
		 * seen without us; no core of our own. */
		struct rlimit none = {0, 0};
		setrlimit(RLIMIT_CORE, &none);
		signal(sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		return 128 + sig;
	}
	return 1;
}

/* --- the trace at its place while the command runs --------------------------
 * The output path is a symbolic link, from the command's start, to the trace
 * its process writes in the private directory (to the latest image's, as
 * exec chains go on), so that `report OUT` reads the trace while it grows,
 * and finds it after a SIGKILL of run and command alike. When the command
 * ends, the trace itself replaces the link. */
struct live_link {
	char out[PATH_MAX];   /* the output path */
	char dir[PATH_MAX];   /* the private directory's name, relative to out's */
	char tmp[PATH_MAX];   /* the private directory */
	char target[PATH_MAX];
	pid_t pid;
	int on;
};

/* The newest trace of the command's own pid: PID.hct, then PID.1.hct ... */
static int newest_own(const struct live_link *l, char *name, size_t cap)
{
	int found = 0;
	for (int n = 0; n < 1000; n++) {
		char cand[64], path[PATH_MAX];
		if (n)
			snprintf(cand, sizeof(cand), "%d.%d.hct", (int)l->pid, n);
		else
			snprintf(cand, sizeof(cand), "%d.hct", (int)l->pid);
		if (pathf(path, sizeof(path), "%s/%s", l->tmp, cand) || access(path, F_OK))
			break;
		if (pathf(name, cap, "%s/%s", l->dir, cand))
			break;
		found = 1;
	}
	return found;
}

static void link_update(struct live_link *l)
{
	char name[PATH_MAX], staged[PATH_MAX + 16];
	if (!l->on || !newest_own(l, name, sizeof(name)) || !strcmp(name, l->target))
		return;
	/* a new link beside, renamed over: the path never goes missing */
	if (pathf(staged, sizeof(staged), "%s.link%d", l->out, (int)getpid()))
		return;
	unlink(staged);
	if (symlink(name, staged) || rename(staged, l->out)) {
		unlink(staged);
		l->on = 0;
		return;
	}
	pathf(l->target, sizeof(l->target), "%s", name);
}

/* After the traces were placed: the link, if the main trace did not take
 * its place, goes when it leads nowhere (no trace was written, or the main
 * one was another process's and has another name); one to a trace that
 * could not be moved stays. */
static void link_drop(struct live_link *l)
{
	struct stat st;
	char got[PATH_MAX];
	if (!l->target[0] || lstat(l->out, &st) || !S_ISLNK(st.st_mode) || !stat(l->out, &st))
		return;
	ssize_t n = readlink(l->out, got, sizeof(got) - 1);
	if (n > 0) {
		got[n] = 0;
		if (!strcmp(got, l->target))
			unlink(l->out);
	}
}

/* Waits for the command, keeping the link up to date; with a duration
 * (soak), asks it to stop when the time is up (SIGTERM to its process
 * group), and kills it after the grace. */
static int wait_child(const struct hc_run_opts *o, struct live_link *l)
{
	int status = 0;
	struct timespec start, now, nap = {0, 20000000};
	clock_gettime(CLOCK_MONOTONIC, &start);
	int stage = 0, ticks = 0;
	for (;;) {
		pid_t r = waitpid(child, &status, WNOHANG);
		if (r == child || (r < 0 && errno != EINTR))
			return status;
		if (!l->target[0] || ticks % 10 == 0) /* every 20 ms until there, then 200 */
			link_update(l);
		ticks++;
		if (o->duration_s <= 0) {
			nanosleep(&nap, NULL);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		double t = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
		if (stage == 0 && t >= o->duration_s) {
			kill(-child, SIGTERM);
			stage = 1;
		} else if (stage == 1 && t >= o->duration_s + o->grace_s) {
			hc_err("soak: the command did not stop %.0f s after SIGTERM; killing it",
			       o->grace_s);
			kill(-child, SIGKILL);
			stage = 2;
		}
		nanosleep(&nap, NULL);
	}
}

int hc_run(struct hc_run_opts *o, char **cmd)
{
	char shim[PATH_MAX], alloc[PATH_MAX], out_dir[PATH_MAX], tmp[PATH_MAX + 32];
	o->trace[0] = '\0';
	o->status = 0;
	if (find_shim(shim, sizeof(shim))) {
		hc_err("run: cannot find libheapcreep.so next to this program ('%s')", shim);
		return HC_EXIT_USAGE;
	}
	if (o->allocator && find_allocator(o->allocator, alloc, sizeof(alloc))) {
		hc_err("run: cannot find allocator '%s' (for jemalloc: apt-get install libjemalloc2)",
		       o->allocator);
		return HC_EXIT_USAGE;
	}
	/* Absolute: the command may change directory before it forks. An
	 * unusable output directory costs the trace, never the run. */
	char rel_dir[PATH_MAX];
	dir_of(o->out ? o->out : "./x", rel_dir, sizeof(rel_dir));
	/* --dormant: the shim loaded, recording nothing until `heapcreep
	 * on PID`; each window writes a trace of its own, not placed here. */
	int tracing = !o->dormant && realpath(rel_dir, out_dir) &&
		      !pathf(tmp, sizeof(tmp), "%s/.heapcreep-run.XXXXXX", out_dir) &&
		      mkdtemp(tmp) != NULL;
	if (!tracing && !o->dormant)
		hc_err("cannot write traces in '%s': %s; running without tracing", rel_dir,
		       strerror(errno));

	/* Like system(): the terminal's ^C and ^\ go to the command, which
	 * decides; termination requests sent to us are passed on. */
	struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward}, old_int,
			 old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	int forwarded[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGCONT};
	fflush(NULL);
	child = fork();
	if (child < 0) {
		hc_err("run: cannot fork: %s", strerror(errno));
		if (tracing)
			rmdir(tmp);
		return HC_EXIT_USAGE;
	}
	if (child == 0) {
		if (o->duration_s > 0)
			setpgid(0, 0); /* soak stops the whole tree it started */
		if (o->dormant)
			exec_child(cmd, o, shim, o->allocator ? alloc : NULL, NULL);
		if (!tracing) {
			signal(SIGINT, SIG_DFL);
			signal(SIGQUIT, SIG_DFL);
			execvp(cmd[0], cmd);
			hc_err("cannot run '%s': %s", cmd[0], strerror(errno));
			_exit(errno == ENOENT ? 127 : 126);
		}
		exec_child(cmd, o, shim, o->allocator ? alloc : NULL, tmp);
	}
	if (o->duration_s > 0)
		setpgid(child, child); /* whichever of the two runs first */
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &fwd, NULL);
	if (o->dormant && !o->quiet)
		fprintf(stderr,
			HC_PROG ": pid %d runs dormant: 'heapcreep on %d' starts a tracing window\n",
			(int)child, (int)child);
	struct live_link link = {.pid = child};
	if (tracing) {
		const char *slash = strrchr(tmp, '/');
		link.on = !(o->out ? pathf(link.out, sizeof(link.out), "%s", o->out)
				   : pathf(link.out, sizeof(link.out), "%s/heapcreep.%d.hct", out_dir,
					   (int)child)) &&
			  !pathf(link.dir, sizeof(link.dir), "%s", slash ? slash + 1 : tmp) &&
			  !pathf(link.tmp, sizeof(link.tmp), "%s", tmp);
	}
	o->status = wait_child(o, &link);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		signal(forwarded[i], SIG_DFL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);

	if (tracing) {
		place_traces(tmp, o->out, out_dir, child, o->quiet, o->trace, sizeof(o->trace));
		link_drop(&link);
		/* Whatever could not be moved stays; an empty directory goes. */
		rmdir(tmp);
		/* Symbols now, on the machine that has the binaries: the trace
		 * can then be analysed anywhere. */
		if (o->trace[0])
			hc_symbolize_file(o->trace, 1);
	}
	return 0;
}

int hc_cmd_run(int argc, char **argv)
{
	struct hc_run_opts o = {0};
	int first;
	if (parse_opts(argc, argv, &o, &first))
		return HC_EXIT_USAGE;
	int rc = hc_run(&o, argv + first);
	return rc ? rc : hc_exit_like(o.status);
}
