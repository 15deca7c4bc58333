/* `heapcreep on PID` and `heapcreep off PID`: tracing windows of a process
 * that runs under the shim in dormant mode (HEAPCREEP_DORMANT=1, or `run
 * --dormant`). The request goes into the process's control directory
 * (preload/control.c); `on` then wakes the process by writing two words of
 * the shim's memory with process_vm_writev (the state, HC_WAKE, and the
 * entry points' pass-through flag, 0): its next call that reaches the shim
 * (a free: a dormant process's allocating calls go past it, see
 * preload/bypass.c) starts the collector, which reads the request.
 * Nothing runs in the process while it is dormant, no thread, no timer,
 * no signal. The process's files are
 * reached through /proc/PID/root, so a process in a container's mount
 * namespace is switched on from the host by root.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "heapcreep/units.h"

/* preload/internal.h's states */
enum { SHIM_DORMANT = -1, SHIM_OFF = 0, SHIM_ON = 1, SHIM_PENDING = 2, SHIM_WAKE = 3 };

struct target {
	pid_t pid;
	char root[64];        /* /proc/PID/root */
	char dir[600];        /* the control directory, as the process sees it */
	char hostdir[700];    /* the same from here */
	uid_t uid;            /* its effective user */
	gid_t gid;
	int same_ns;          /* same mount namespace as ours */
	uint64_t tracing, pass; /* the shim's words, in its memory */
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

/* Reads a small file whole; its length, or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	ssize_t k;
	while (n + 1 < cap && (k = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)k;
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* The shim's load address and file in the process. */
static int find_shim(pid_t pid, uint64_t *base, char *path, size_t cap)
{
	char maps[64];
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(maps, "re");
	if (!f)
		return -1;
	char line[4600];
	int found = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off;
		int at = 0;
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &lo, &hi, &off, &at) < 3 || !at)
			continue;
		char *p = line + at;
		p[strcspn(p, "\n")] = '\0';
		const char *base_name = strrchr(p, '/');
		if (!base_name || strcmp(base_name, "/libheapcreep.so") || off != 0)
			continue;
		*base = lo;
		snprintf(path, cap, "%s", p);
		found = 0;
		break;
	}
	fclose(f);
	return found;
}

/* The addresses of hc_tracing and hc_pass from the shim's symbol table. */
static int shim_words(struct target *t, const char *file, uint64_t base)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -1;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		hc_err("cannot open the shim of process %d at '%s': %s", (int)t->pid, file,
		       strerror(errno));
		return -1;
	}
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	int need = 2;
	uint64_t first_load = UINT64_MAX;
	size_t nph = 0;
	if (e && !elf_getphdrnum(e, &nph)) {
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    ph.p_vaddr < first_load)
				first_load = ph.p_vaddr & ~(uint64_t)4095;
		}
	}
	Elf_Scn *scn = NULL;
	while (e && need && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && need && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym))
				continue;
			const char *name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (!name)
				continue;
			if (!strcmp(name, "hc_tracing"))
				t->tracing = sym.st_value, need--;
			else if (!strcmp(name, "hc_pass"))
				t->pass = sym.st_value, need--;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	if (need || first_load == UINT64_MAX) {
		hc_err("the shim of process %d ('%s') has no symbol table to find its state in "
		       "(stripped?)",
		       (int)t->pid, file);
		return -1;
	}
	t->tracing += base - first_load;
	t->pass += base - first_load;
	return 0;
}

static int peek_state(const struct target *t, int32_t *state)
{
	struct iovec local = {state, 4}, remote = {(void *)(uintptr_t)t->tracing, 4};
	return process_vm_readv(t->pid, &local, 1, &remote, 1, 0) == 4 ? 0 : -1;
}

/* From /proc/PID/environ: HEAPCREEP_CONTROL, or "". */
static void environ_of(const struct target *t, char *control, size_t cap)
{
	char path[64], *buf = malloc(1 << 20);
	control[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)t->pid);
	ssize_t n = buf ? slurp(path, buf, 1 << 20) : -1;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
		if (!strncmp(buf + i, "HEAPCREEP_CONTROL=", 18))
			snprintf(control, cap, "%s", buf + i + 18);
	free(buf);
}

/* Everything `on` and `off` need to know of the process; -1 after a message. */
static int target_open(struct target *t, const char *arg)
{
	char *end;
	long pid = strtol(arg, &end, 10);
	if (*end || pid <= 0 || pid > INT_MAX) {
		hc_err("not a process id: '%s'", arg);
		return -1;
	}
	memset(t, 0, sizeof(*t));
	t->pid = (pid_t)pid;
	char path[128], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (slurp(path, buf, sizeof(buf)) <= 0) {
		hc_err("no process %ld", pid);
		return -1;
	}
	const char *u = strstr(buf, "\nUid:"), *g = strstr(buf, "\nGid:");
	unsigned ru, eu, rg, eg;
	if (!u || !g || sscanf(u, "\nUid: %u %u", &ru, &eu) != 2 ||
	    sscanf(g, "\nGid: %u %u", &rg, &eg) != 2) {
		hc_err("cannot read the user of process %ld", pid);
		return -1;
	}
	t->uid = eu;
	t->gid = eg;
	uint64_t base;
	char shim[4200];
	if (find_shim(t->pid, &base, shim, sizeof(shim))) {
		hc_err("process %ld does not run under heapcreep (no libheapcreep.so in its "
		       "maps): start it with 'heapcreep run --dormant' or "
		       "LD_PRELOAD=libheapcreep.so HEAPCREEP_DORMANT=1",
		       pid);
		return -1;
	}
	snprintf(t->root, sizeof(t->root), "/proc/%d/root", (int)pid);
	char file[4300];
	snprintf(file, sizeof(file), "%s%s", t->root, shim);
	if (shim_words(t, file, base))
		return -1;
	char control[512];
	environ_of(t, control, sizeof(control));
	if (control[0])
		snprintf(t->dir, sizeof(t->dir), "%s", control);
	else
		snprintf(t->dir, sizeof(t->dir), "/tmp/heapcreep-%u", (unsigned)t->uid);
	snprintf(t->hostdir, sizeof(t->hostdir), "%s%s", t->root, t->dir);
	char a[64] = "", b[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	ssize_t la = readlink("/proc/self/ns/mnt", a, sizeof(a) - 1);
	ssize_t lb = readlink(path, b, sizeof(b) - 1);
	t->same_ns = la > 0 && la == lb && !memcmp(a, b, (size_t)la);
	return 0;
}

struct status {
	int have;
	char state[4200];
	unsigned long long request;
	char trace[4200];
	char error[4200];
};

static void status_read(const struct target *t, struct status *s)
{
	char path[800], buf[10000];
	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/%d.status", t->hostdir, (int)t->pid);
	if (slurp(path, buf, sizeof(buf)) <= 0 || strncmp(buf, "heapcreep-status 1\n", 19))
		return;
	s->have = 1;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t n = strcspn(l, "\n");
		char line[4200];
		snprintf(line, sizeof(line), "%.*s", (int)(n < 4100 ? n : 4100), l);
		if (!strncmp(line, "state ", 6))
			snprintf(s->state, sizeof(s->state), "%s", line + 6);
		else if (!strncmp(line, "request ", 8))
			s->request = strtoull(line + 8, NULL, 10);
		else if (!strncmp(line, "trace ", 6))
			snprintf(s->trace, sizeof(s->trace), "%s", line + 6);
		else if (!strncmp(line, "error ", 6))
			snprintf(s->error, sizeof(s->error), "%s", line + 6);
	}
}

/* The control directory (made for the process's user if missing) and the
 * request in it, replaced whole (rename). */
static int request_write(const struct target *t, unsigned long long id, int on,
			 uint64_t duration_ns, const char *output)
{
	if (mkdir(t->hostdir, 0700) && errno != EEXIST) {
		hc_err("cannot create control directory '%s': %s", t->hostdir, strerror(errno));
		return -1;
	}
	if (geteuid() == 0 && t->uid != 0 && chown(t->hostdir, t->uid, t->gid) && errno != EPERM) {
		hc_err("cannot give '%s' to user %u: %s", t->hostdir, (unsigned)t->uid,
		       strerror(errno));
		return -1;
	}
	/* What the shim accepts (preload/control.c): said here, not left to
	 * a wait that times out. */
	struct stat st;
	if (lstat(t->hostdir, &st) || !S_ISDIR(st.st_mode) ||
	    (st.st_uid != t->uid && st.st_uid != 0) || (st.st_mode & 022)) {
		hc_err("control directory '%s' is not a directory of user %u (or root) that only "
		       "it can write: process %d would not read a request there",
		       t->hostdir, (unsigned)t->uid, (int)t->pid);
		return -1;
	}
	char tmp[800], path[800];
	snprintf(tmp, sizeof(tmp), "%s/%d.ctl.tmp", t->hostdir, (int)t->pid);
	snprintf(path, sizeof(path), "%s/%d.ctl", t->hostdir, (int)t->pid);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		hc_err("cannot write '%s': %s", tmp, strerror(errno));
		return -1;
	}
	if (geteuid() == 0 && t->uid != 0 && fchown(fd, t->uid, t->gid)) {
		/* root's request is trusted as it is */
	}
	char text[5000];
	int n = snprintf(text, sizeof(text),
			 "heapcreep-control 1\nid %llu\nstate %s\nduration_ns %" PRIu64 "\n%s%s%s",
			 id, on ? "on" : "off", duration_ns, output ? "output " : "",
			 output ? output : "", output ? "\n" : "");
	int ok = n > 0 && (size_t)n < sizeof(text) && write(fd, text, (size_t)n) == n;
	if (close(fd) || !ok || rename(tmp, path)) {
		hc_err("cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Waits until the status answers request id; 0, or -1 after a message. */
static int answer_wait(const struct target *t, unsigned long long id, double timeout_s,
		       struct status *s)
{
	double until = now_s() + timeout_s;
	for (;;) {
		status_read(t, s);
		if (s->have && s->request == id)
			return 0;
		if (kill(t->pid, 0) && errno == ESRCH) {
			hc_err("process %d ended before it answered", (int)t->pid);
			return -1;
		}
		if (now_s() > until)
			return -1;
		nap_ms(20);
	}
}

static unsigned long long new_id(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* The trace path as seen from here. */
static void host_path(const struct target *t, const char *trace, char *out, size_t cap)
{
	if (t->same_ns)
		snprintf(out, cap, "%s", trace);
	else
		snprintf(out, cap, "%s%s", t->root, trace);
}

static int copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rbe"), *out = in ? fopen(to, "wbe") : NULL;
	if (!in || !out) {
		if (in)
			fclose(in);
		return -1;
	}
	char buf[1 << 16];
	size_t n;
	int rc = 0;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	fclose(in);
	return fclose(out) || rc ? -1 : 0;
}

static const char on_usage[] =
	"usage: heapcreep on [--duration DURATION] [-o FILE] PID\n"
	"Starts a tracing window in process PID, which runs under heapcreep in dormant\n"
	"mode (heapcreep run --dormant, or HEAPCREEP_DORMANT=1): its trace begins now and\n"
	"knows nothing of the blocks allocated before. The window ends with 'heapcreep off\n"
	"PID', after DURATION (then this command waits for it and prints the trace's\n"
	"path), or when the process ends. Each window is a trace of its own: FILE, or one\n"
	"in the process's control directory. The window opens at the process's next\n"
	"allocation.\n";

static const char off_usage[] =
	"usage: heapcreep off PID\n"
	"Ends the tracing window of process PID and prints its trace's path.\n";

/* After a window closed by itself: its trace, copied to FILE if asked. */
static int window_done(const struct target *t, const struct status *s, const char *copy_to)
{
	char path[4400];
	host_path(t, s->trace, path, sizeof(path));
	if (s->error[0]) {
		hc_err("window of process %d: %s", (int)t->pid, s->error);
		return HC_EXIT_USAGE;
	}
	if (copy_to && !t->same_ns) {
		if (copy_file(path, copy_to)) {
			hc_err("cannot copy '%s' to '%s': %s", path, copy_to, strerror(errno));
			return HC_EXIT_USAGE;
		}
		snprintf(path, sizeof(path), "%s", copy_to);
	}
	printf("window of process %d ended: %s\n", (int)t->pid, path);
	return 0;
}

int hc_cmd_on(int argc, char **argv)
{
	uint64_t duration = 0;
	const char *out = NULL, *pid = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(on_usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--duration") && i + 1 < argc) {
			if (hc_parse_duration(argv[++i], &duration) || !duration) {
				hc_err("bad duration '%s': expected one such as 30s, 10m or 2h",
				       argv[i]);
				return HC_EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = argv[++i];
		} else if (argv[i][0] != '-' && !pid) {
			pid = argv[i];
		} else {
			fputs(on_usage, stderr);
			return HC_EXIT_USAGE;
		}
	}
	if (!pid) {
		fputs(on_usage, stderr);
		return HC_EXIT_USAGE;
	}
	struct target t;
	if (target_open(&t, pid))
		return HC_EXIT_USAGE;
	int32_t state;
	if (peek_state(&t, &state)) {
		hc_err("cannot read the memory of process %d: %s (it takes its user, or root; "
		       "and kernel.yama.ptrace_scope at most 1 for its parent, 0 for others)",
		       (int)t.pid, strerror(errno));
		return HC_EXIT_USAGE;
	}
	if (state != SHIM_DORMANT) {
		hc_err("process %d is not dormant: %s", (int)t.pid,
		       state == SHIM_ON || state == SHIM_PENDING ? "a window is on (or it runs "
								    "traced from its start)"
		       : state == SHIM_WAKE ? "it is being switched on"
					    : "its tracing is off (bad configuration?)");
		return HC_EXIT_USAGE;
	}
	char abs[PATH_MAX + 8];
	const char *output = NULL;
	if (out && t.same_ns) {
		if (out[0] == '/') {
			snprintf(abs, sizeof(abs), "%s", out);
		} else {
			char cwd[PATH_MAX];
			if (!getcwd(cwd, sizeof(cwd))) {
				hc_err("cannot find the current directory: %s", strerror(errno));
				return HC_EXIT_USAGE;
			}
			snprintf(abs, sizeof(abs), "%s/%s", cwd, out);
		}
		if (strchr(abs, '%') || strchr(abs, '\n')) {
			hc_err("output path '%s' holds '%%' or a newline", abs);
			return HC_EXIT_USAGE;
		}
		output = abs;
	} else if (out && !duration) {
		hc_err("process %d is in another mount namespace: with -o, give --duration "
		       "(the trace is copied to FILE when the window ends)",
		       (int)t.pid);
		return HC_EXIT_USAGE;
	}
	unsigned long long id = new_id();
	if (request_write(&t, id, 1, duration, output))
		return HC_EXIT_USAGE;
	/* The state first: the entry points, once they stop passing calls
	 * through, must find HC_WAKE. */
	int32_t wake = SHIM_WAKE;
	uint8_t pass = 0;
	struct iovec l1 = {&wake, 4}, r1 = {(void *)(uintptr_t)t.tracing, 4};
	struct iovec l2 = {&pass, 1}, r2 = {(void *)(uintptr_t)t.pass, 1};
	if (process_vm_writev(t.pid, &l1, 1, &r1, 1, 0) != 4 ||
	    process_vm_writev(t.pid, &l2, 1, &r2, 1, 0) != 1) {
		hc_err("cannot write to the memory of process %d: %s", (int)t.pid, strerror(errno));
		return HC_EXIT_USAGE;
	}
	struct status s;
	if (answer_wait(&t, id, 10, &s)) {
		if (kill(t.pid, 0) == 0)
			hc_err("process %d has not answered in 10 s: the window opens at its "
			       "next free",
			       (int)t.pid);
		return HC_EXIT_USAGE;
	}
	if (s.error[0] || strcmp(s.state, "on")) {
		hc_err("process %d could not start a window: %s", (int)t.pid,
		       s.error[0] ? s.error : s.state);
		return HC_EXIT_USAGE;
	}
	char path[4400];
	host_path(&t, s.trace, path, sizeof(path));
	printf("window of process %d on: %s\n", (int)t.pid, path);
	if (!duration)
		return 0;
	fflush(stdout);
	/* The process closes the window itself; wait for it to say so. */
	double until = now_s() + (double)duration / 1e9 + 30;
	for (;;) {
		nap_ms(100);
		status_read(&t, &s);
		if (s.have && s.request == id && strcmp(s.state, "on"))
			return window_done(&t, &s, out);
		if (kill(t.pid, 0) && errno == ESRCH) {
			printf("process %d ended during the window: %s\n", (int)t.pid, path);
			return 0;
		}
		if (now_s() > until) {
			hc_err("process %d did not close its window in time", (int)t.pid);
			return HC_EXIT_USAGE;
		}
	}
}

int hc_cmd_off(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(off_usage, stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fputs(off_usage, stderr);
		return HC_EXIT_USAGE;
	}
	struct target t;
	if (target_open(&t, argv[1]))
		return HC_EXIT_USAGE;
	int32_t state;
	if (!peek_state(&t, &state) && state == SHIM_DORMANT) {
		hc_err("process %d has no window on", (int)t.pid);
		return HC_EXIT_USAGE;
	}
	unsigned long long id = new_id();
	if (request_write(&t, id, 0, 0, NULL))
		return HC_EXIT_USAGE;
	struct status s;
	if (answer_wait(&t, id, 10, &s)) {
		if (kill(t.pid, 0) == 0)
			hc_err("process %d has not answered in 10 s", (int)t.pid);
		return HC_EXIT_USAGE;
	}
	return window_done(&t, &s, NULL);
}
