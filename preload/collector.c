/* The collector: the one thread that owns every table. It drains the
 * per-thread rings round by round, keeps the heap model (heap.c), promotes
 * blocks that outlive the nursery, and every interval writes a snapshot and
 * flushes a chunk, so a SIGKILL loses at most one interval.
 * It must never wait for the traced program: no lock a program thread may
 * hold (no dl_iterate_phdr, no stdio, no malloc'd state), or a producer
 * waiting for ring space would wait forever. Its only lock is taken by fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "heapcreep/trace.h"
#include "mapped.h"
#include "internal.h"
#include "mem.h"
#include "writer.h"

_Atomic int hc_tracing = HC_PENDING;
_Atomic int hc_collector_running;
pid_t hc_pid;
uint64_t hc_t0;
int hc_config_loaded;

struct module {
	uint64_t start, end, offset;
};

enum { LOST_RING_FULL, LOST_NO_RING, LOST_TABLES, LOST_CORRUPT, LOST_CAUSES };

static struct {
	pthread_mutex_t lock;     /* held while the collector works; fork takes it */
	_Atomic int start_state;  /* 0 idle, 1 started (or failed) */
	int fork_locked;
	int fork_child;
	int fd;
	int seq;                  /* n-th trace file of this pid (exec chains) */
	int zstd_noted;           /* "cannot load libzstd" said */
	char path[4096];
	struct hc_writer w;
	struct hc_heap heap;
	struct hc_mapped mapped;  /* anonymous mappings, as blocks of heap */
	struct hc_merge merge;
	uint64_t next_snapshot, snapshots, events, corrupt_events;
	uint64_t started;         /* hc_now() when the trace began */
	uint64_t last_block_written;
	uint64_t cpu0;            /* the process's CPU time when the trace began */
	uint64_t lost_noted[4];   /* lost events by cause when last noted */
	/* modules: sorted executable mappings, for "is this frame known" */
	struct module *mods;
	size_t nmods, mods_cap;
	uint64_t mods_sig;        /* checksum of the last MODULES record */
	uint64_t last_scan;
	int rescan;
	int python_written;       /* the PYTHON record is in this trace */
	uint64_t py_unknown_noted; /* Python frames without a code, when last noted */
	uint64_t cut_noted;        /* hc_stacks_cut, when last noted */
	/* exec marker waiting for the flush that follows it */
	int exec_pending;
	uint64_t exec_ts;
	char exec_path[1032];
	/* flush requests: futex words */
	_Atomic uint32_t flush_req, flush_done;
	_Atomic int final_req;
	_Atomic int fatal_signal; /* the final flush is a fatal signal's */
	_Atomic pid_t tid;        /* the collector thread's */
	_Atomic uint32_t wake;
	_Atomic int sleeping;
	/* Paused across a fork (see hc_collector_prefork): the thread has
	 * ended, its state is whole, events wait in the rings. */
	pthread_t thread;
	_Atomic int joinable;     /* 1 until it detaches itself or is joined */
	_Atomic int pause_req;
	_Atomic int paused;       /* PAUSE_* */
	uint64_t resume_at;       /* hc_now() after which a hook call resumes it */
	/* Dormant mode (HEAPCREEP_DORMANT): the collector watches the control
	 * file and writes a trace only for each window switched on. */
	int window;               /* a window is open: its trace is written */
	unsigned windows;         /* windows opened, ever */
	unsigned long long request; /* the control request last acted on */
	uint64_t win_lo, win_hi;  /* the window's first and last event stamps */
	uint64_t win_until;       /* hc_now() when it closes by itself (0: never) */
	uint64_t next_poll;
	uint64_t late, late_noted; /* events of a closed window that came after it */
	uint64_t lost_base[LOST_CAUSES], waits_base; /* counts at the window's start */
	uint64_t *codes_written;  /* bit per code id: its CODE record is in the trace */
	size_t codes_words;
	char window_output[4096]; /* the output the request named ("": the pattern) */
} C = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .win_hi = UINT64_MAX};

/* Recording starts only after the entry points stopped passing calls
 * through (passthru.c), and they pass again only after it stopped. */
static void pass_if(int state)
{
	if (!hc_resolved())
		return;
	atomic_store(&hc_pass, 1);
	/* `heapcreep on` may have written HC_WAKE, then cleared hc_pass, just
	 * now: the entry points must see the wake. */
	if (atomic_load(&hc_tracing) != state)
		atomic_store(&hc_pass, 0);
}

void hc_tracing_set(int state)
{
	int pass = state == HC_OFF || state == HC_DORMANT;
	if (!pass)
		atomic_store(&hc_pass, 0);
	atomic_store(&hc_tracing, state);
	if (pass)
		pass_if(state);
}

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, 0);
}

/* An event stamp as ns since time zero. */
static uint64_t rel(uint64_t ts)
{
	return ts > hc_t0 ? (uint64_t)((double)(ts - hc_t0) * hc_ns_per_stamp()) : 0;
}

static const char *errstr(int err)
{
	/* strerror may allocate (translations); the messages we can meet. */
	switch (err) {
	case ENOSPC: return "No space left on device";
	case EACCES: return "Permission denied";
	case EPERM: return "Operation not permitted";
	case ENOENT: return "No such file or directory";
	case EEXIST: return "File exists";
	case EROFS: return "Read-only file system";
	case EIO: return "Input/output error";
	case EDQUOT: return "Disk quota exceeded";
	case EFBIG: return "File too large";
	case ENOMEM: return "Cannot allocate memory";
	case EAGAIN: return "Resource temporarily unavailable";
	case ELOOP: return "Too many levels of symbolic links";
	case ENOTDIR: return "Not a directory";
	case EISDIR: return "Is a directory";
	case EBADF: return "Bad file descriptor";
	case EPIPE: return "Broken pipe";
	case ENAMETOOLONG: return "File name too long";
	case EINTR: return "Interrupted system call (on every retry)";
	default: return "error";
	}
}

/* --- the trace file ------------------------------------------------------ */

/* Expands %p (pid) and %% in the output pattern; for the n-th try inserts
 * ".n" before a final ".hct" (or appends it), so an exec'd image or a second
 * process with the same name never overwrites a trace. */
static int expand_path(char *out, size_t cap, const char *pattern, int n)
{
	size_t k = 0;
	for (const char *p = pattern; *p && k + 24 < cap; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			k += hc_fmt(out + k, cap - k, "%d", (int)hc_pid);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			out[k++] = '%';
			p++;
		} else {
			out[k++] = *p;
		}
	}
	out[k] = '\0';
	if (n == 0)
		return 0;
	if (k + 16 >= cap)
		return -1;
	char suffix[16];
	size_t ext = (k > 4 && !strcmp(out + k - 4, ".hct")) ? 4 : 0;
	memcpy(suffix, out + k - ext, ext + 1);
	hc_fmt(out + k - ext, cap - (k - ext), ".%d%s", n, suffix);
	return 0;
}

/* The output pattern: HEAPCREEP_OUTPUT, or for a window the path its
 * request named, or the control directory. */
static const char *output_pattern(char *buf, size_t cap)
{
	if (!hc_config.dormant)
		return hc_config.output;
	if (C.window_output[0])
		return C.window_output;
	hc_fmt(buf, cap, "%s/%%p.w%u.hct", hc_config.control, C.windows);
	return buf;
}

static int open_trace(void)
{
	char pat[1024];
	const char *pattern = output_pattern(pat, sizeof(pat));
	for (int n = 0; n < 1000; n++) {
		if (expand_path(C.path, sizeof(C.path), pattern, n))
			return -ENAMETOOLONG;
		/* O_EXCL|O_NOFOLLOW: never follow a planted link, never clobber;
		 * 0600: a trace holds addresses and paths. */
		int fd = open(C.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			C.fd = fd;
			C.seq = n;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* --- records ------------------------------------------------------------- */

static void write_header(void)
{
	struct hc_writer *w = &C.w;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	size_t cmd_cap = 64u << 10;
	char *cmd = hc_map(cmd_cap);
	ssize_t cmd_len = cmd ? hc_proc_read("/proc/self/cmdline", cmd, cmd_cap) : -1;
	if (cmd_len > 0 && cmd[cmd_len - 1] == '\0')
		cmd_len--; /* arguments are separated, not terminated, by NUL */
	uint8_t bid[64];
	size_t bid_len = exe[0] ? hc_elf_build_id(exe, bid, sizeof(bid)) : 0;
	uint64_t real_now = hc_clock_ns(CLOCK_REALTIME);
	uint64_t mono_now = hc_now();
	uint64_t since_t0 = rel(hc_stamp());

	hc_rec_begin(w, HC_REC_HEADER);
	hc_rec_u(w, HC_TRACE_VERSION);
	hc_rec_u(w, (uint64_t)hc_pid);
	hc_rec_u(w, (uint64_t)getppid());
	hc_rec_u(w, (uint64_t)C.seq);
	hc_rec_u(w, real_now - since_t0);
	hc_rec_u(w, mono_now - since_t0);
	hc_rec_u(w, (uint64_t)sysconf(_SC_PAGESIZE));
	hc_rec_u(w, hc_proc_cgroup_limit());
	hc_rec_u(w, (hc_config.sample_bytes ? HC_HDR_SAMPLED : 0) |
			    (C.fork_child ? HC_HDR_FORK_CHILD : 0) |
			    (hc_config.dormant ? HC_HDR_WINDOW : 0));
	hc_rec_u(w, hc_config.sample_bytes);
	hc_rec_u(w, hc_config.promotion_ns);
	hc_rec_u(w, hc_config.interval_ns);
	hc_rec_str(w, exe, strlen(exe));
	hc_rec_str(w, cmd, cmd_len > 0 ? (size_t)cmd_len : 0);
	hc_rec_str(w, bid, bid_len);
	hc_rec_str(w, hc_config.text, strlen(hc_config.text));
	hc_rec_u(w, hc_proc_start_realtime());
	hc_rec_u(w, hc_config.dormant ? C.windows : 0);
	hc_rec_end(w);
	hc_unmap(cmd, cmd_cap);

	/* Stack 0 stands for allocations whose stack event was lost. */
	hc_rec_begin(w, HC_REC_STACK);
	hc_rec_u(w, 0);
	hc_rec_u(w, 0);
	hc_rec_end(w);
}

static void note(int level, const char *msg)
{
	hc_rec_begin(&C.w, HC_REC_NOTE);
	hc_rec_u(&C.w, rel(hc_stamp()));
	hc_rec_u(&C.w, (uint64_t)level);
	hc_rec_str(&C.w, msg, strlen(msg));
	hc_rec_end(&C.w);
}

/* A warning with a count, the first time it is not 0 and each time it has
 * doubled since. */
static void note_doubling(uint64_t count, uint64_t *noted, const char *what)
{
	if (!count || count < 2 * *noted)
		return;
	char msg[256];
	hc_fmt(msg, sizeof(msg), "%llu %s", (unsigned long long)count, what);
	note(HC_NOTE_WARNING, msg);
	*noted = count;
}

static int grow_mods(size_t need)
{
	if (need <= C.mods_cap)
		return 0;
	size_t ncap = C.mods_cap ? C.mods_cap * 2 : 256;
	struct module *n = hc_remap(C.mods, C.mods_cap * sizeof(*n), ncap * sizeof(*n));
	if (!n)
		return -1;
	C.mods = n;
	C.mods_cap = ncap;
	return 0;
}

static int frame_known(uint64_t pc)
{
	size_t lo = 0, hi = C.nmods;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (pc < C.mods[mid].start)
			hi = mid;
		else if (pc >= C.mods[mid].end)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

static void write_python(void);

/* Executable file mappings from /proc/self/maps, with their build-ids. Written
 * when they differ from the last MODULES record. */
static void scan_modules(void)
{
	size_t cap = 1u << 20, len = 0;
	char *buf = hc_map(cap);
	if (!buf)
		return;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		hc_unmap(buf, cap);
		return;
	}
	for (;;) {
		if (len + 65536 > cap) {
			char *n = hc_remap(buf, cap, cap * 2);
			if (!n)
				break;
			buf = n;
			cap *= 2;
		}
		ssize_t k = read(fd, buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';

	/* Pass 1: collect; pass 2 (if changed): write. Files not yet known
	 * to be an interpreter or not are looked at after. */
	static struct {
		size_t at;
		uint64_t start, offset;
	} cand[64];
	size_t ncand = 0;
	size_t count = 0;
	uint64_t sig = 1469598103934665603ull;
	for (int pass = 0; pass < 2; pass++) {
		char last_path[4096] = "";
		uint8_t bid[64];
		size_t bid_len = 0;
		if (pass == 1) {
			hc_rec_begin(&C.w, HC_REC_MODULES);
			hc_rec_u(&C.w, rel(hc_stamp()));
			hc_rec_u(&C.w, count);
		}
		count = 0;
		for (char *line = buf; line && *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			char *p = line;
			uint64_t start = strtoull(p, &p, 16);
			uint64_t end = strtoull(p + 1, &p, 16);
			char perms[5] = {0};
			while (*p == ' ')
				p++;
			memcpy(perms, p, 4);
			p += 4;
			uint64_t offset = strtoull(p, &p, 16);
			for (int field = 0; field < 2 && *p; field++) { /* dev, inode */
				while (*p == ' ')
					p++;
				while (*p && *p != ' ')
					p++;
			}
			while (*p == ' ')
				p++;
			if (perms[2] == 'x' && *p == '/') {
				if (pass == 0) {
					sig = (sig ^ start ^ (end << 1) ^ (offset << 2)) * 1099511628211ull;
					if (!grow_mods(count + 1)) {
						C.mods[count].start = start;
						C.mods[count].end = end;
						C.mods[count].offset = offset;
					}
				} else {
					if (strcmp(p, last_path)) {
						if (!atomic_load(&hc_py_on) &&
						    ncand < sizeof(cand) / sizeof(cand[0])) {
							cand[ncand].at = (size_t)(p - buf);
							cand[ncand].start = start;
							cand[ncand++].offset = offset;
						}
						size_t l = strlen(p);
						if (l >= sizeof(last_path))
							l = sizeof(last_path) - 1;
						memcpy(last_path, p, l);
						last_path[l] = '\0';
						bid_len = hc_elf_build_id(p, bid, sizeof(bid));
					}
					hc_rec_u(&C.w, start);
					hc_rec_u(&C.w, end);
					hc_rec_u(&C.w, offset);
					hc_rec_str(&C.w, p, strlen(p));
					hc_rec_str(&C.w, bid, bid_len);
				}
				count++;
			}
			if (nl)
				*nl = '\n';
			line = nl ? nl + 1 : NULL;
		}
		if (pass == 0) {
			C.nmods = count < C.mods_cap ? count : C.mods_cap;
			if (sig == C.mods_sig)
				break;
			if (C.mods_sig) /* code moved: threads drop their unwind rules */
				atomic_fetch_add(&hc_code_epoch, 1);
			C.mods_sig = sig;
		} else {
			hc_rec_end(&C.w);
		}
	}
	for (size_t i = 0; i < ncand; i++) {
		char *p = buf + cand[i].at, *nl = strchr(p, '\n'), msg[640];
		if (nl)
			*nl = '\0';
		int py = hc_py_consider(p, cand[i].start, cand[i].offset, msg, sizeof(msg));
		if (py)
			note(py > 0 ? HC_NOTE_INFO : HC_NOTE_WARNING, msg);
		if (nl)
			*nl = '\n';
	}
	if (atomic_load(&hc_py_on) && !C.python_written)
		write_python();
	hc_unmap(buf, cap);
	C.last_scan = hc_now();
	C.rescan = 0;
}

static void write_stack(uint32_t id, const uint64_t *frames, unsigned n)
{
	struct hc_writer *w = &C.w;
	hc_rec_begin(w, HC_REC_STACK);
	hc_rec_u(w, id);
	hc_rec_u(w, n);
	uint64_t prev = 0;
	for (unsigned i = 0; i < n; i++) {
		hc_rec_s(w, (int64_t)(frames[i] - prev));
		prev = frames[i];
		if (!C.rescan && !(frames[i] & HC_PY_FRAME) && !frame_known(frames[i]))
			C.rescan = 1; /* a module loaded since the last scan */
	}
	hc_rec_end(w);
}

static void emit_block(void *ctx, const struct hc_block *b)
{
	(void)ctx;
	hc_rec_begin(&C.w, HC_REC_BLOCK);
	hc_rec_u(&C.w, hc_block_id(b) - C.last_block_written);
	hc_rec_u(&C.w, hc_block_site(b));
	hc_rec_u(&C.w, hc_block_size(b));
	hc_rec_u(&C.w, rel(b->ts));
	hc_rec_u(&C.w, b->ptr);
	hc_rec_end(&C.w);
	C.last_block_written = hc_block_id(b);
}

static void emit_free(void *ctx, uint64_t id, uint64_t ts)
{
	(void)ctx;
	hc_rec_begin(&C.w, HC_REC_FREE);
	hc_rec_u(&C.w, id);
	hc_rec_u(&C.w, rel(ts));
	hc_rec_end(&C.w);
}

/* --- Python ------------------------------------------------------------- */

/* A str's characters (1, 2 or 4 bytes each, as CPython keeps them) as
 * UTF-8; returns the length. Surrogates and invalid code points become
 * U+FFFD. */
static size_t utf8_of(const uint8_t *d, size_t bytes, unsigned kind, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i + kind <= bytes && k + 4 <= cap; i += kind) {
		uint32_t c = d[i];
		if (kind == 2)
			c |= (uint32_t)d[i + 1] << 8;
		else if (kind == 4)
			c |= (uint32_t)d[i + 1] << 8 | (uint32_t)d[i + 2] << 16 | (uint32_t)d[i + 3] << 24;
		if ((c >= 0xd800 && c < 0xe000) || c > 0x10ffff)
			c = 0xfffd;
		if (c < 0x80) {
			out[k++] = (char)c;
		} else if (c < 0x800) {
			out[k++] = (char)(0xc0 | c >> 6);
			out[k++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[k++] = (char)(0xe0 | c >> 12);
			out[k++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[k++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[k++] = (char)(0xf0 | c >> 18);
			out[k++] = (char)(0x80 | ((c >> 12) & 0x3f));
			out[k++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[k++] = (char)(0x80 | (c & 0x3f));
		}
	}
	return k;
}

/* A CODE event (pyframes.c, send_code) as a CODE record. */
static int write_code(const uint64_t *e)
{
	static char name[4 * 4096 + 4], file[4 * 4096 + 4];
	unsigned words = HC_EV_WORDS(e[0]);
	uint64_t qlen = e[3], flen = e[4] & 0xffffffffu, tlen = e[4] >> 32;
	unsigned qk = (e[2] >> 40) & 0xff, fk = (e[2] >> 48) & 0xff;
	if (words < 5 || qlen + flen + tlen > (uint64_t)(words - 5) * 8 || !qk || qk > 4 || !fk ||
	    fk > 4)
		return -1;
	const uint8_t *d = (const uint8_t *)(e + 5);
	size_t nl = utf8_of(d, qlen, qk, name, sizeof(name));
	size_t fl = utf8_of(d + qlen, flen, fk, file, sizeof(file));
	hc_rec_begin(&C.w, HC_REC_CODE);
	hc_rec_u(&C.w, e[1]);
	hc_rec_s(&C.w, (int32_t)(uint32_t)e[2]);
	hc_rec_u(&C.w, (e[2] >> 32) & 1 ? HC_CODE_TABLE_CUT : 0);
	hc_rec_str(&C.w, name, nl);
	hc_rec_str(&C.w, file, fl);
	hc_rec_str(&C.w, d + qlen + flen, tlen);
	hc_rec_end(&C.w);
	return 0;
}

/* Once an interpreter is followed, every trace of the process (a fork
 * child's too) says so before the first stack with Python frames. */
static void write_python(void)
{
	struct hc_py_info pi;
	hc_py_info(&pi);
	hc_rec_begin(&C.w, HC_REC_PYTHON);
	hc_rec_u(&C.w, pi.version);
	hc_rec_u(&C.w, pi.eval_lo);
	hc_rec_u(&C.w, pi.eval_hi);
	hc_rec_str(&C.w, pi.path, strlen(pi.path));
	hc_rec_str(&C.w, hc_config.pymalloc, strlen(hc_config.pymalloc));
	hc_rec_end(&C.w);
	C.python_written = 1;
}

/* --- draining ------------------------------------------------------------ */

/* Whether a code's CODE record is in this trace; marks it so. */
static int code_written(uint64_t id)
{
	size_t w = (size_t)(id / 64);
	if (w >= C.codes_words) {
		size_t n = C.codes_words ? C.codes_words : 512;
		while (n <= w)
			n *= 2;
		uint64_t *b = hc_remap(C.codes_written, C.codes_words * 8, n * 8);
		if (!b)
			return 0; /* written again: the analyzer keeps the first */
		C.codes_written = b;
		C.codes_words = n;
	}
	int was = (int)(C.codes_written[w] >> (id % 64) & 1);
	C.codes_written[w] |= 1ull << (id % 64);
	return was;
}

/* A stack sent in an earlier window, written into this one's trace (with
 * the code objects its Python frames name): its site, or 0. */
static uint32_t kept_site(uint64_t hash)
{
	unsigned n;
	const uint64_t *frames = hc_kept_stack(hash, &n);
	if (!frames)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t code = frames[i] & HC_PY_FRAME ? (frames[i] >> 32) & 0x3fffffff : 0;
		if (code && !code_written(code)) {
			const uint64_t *e = hc_kept_code(code);
			if (e)
				write_code(e);
		}
	}
	int created;
	uint32_t id = hc_heap_intern(&C.heap, hash, &created);
	if (created)
		write_stack(id, frames, n);
	return id;
}

static inline uint32_t site_of(uint64_t hash)
{
	uint32_t id = hc_heap_site(&C.heap, hash);
	return likely(id) || !hc_config.dormant ? id : kept_site(hash);
}

/* Whether an event stamped ts belongs to the open window (always, outside
 * dormant mode). */
static inline int within(uint64_t ts)
{
	return ts >= C.win_lo && ts <= C.win_hi;
}

/* The same, counting one of a window that closed. */
static inline int in_window(uint64_t ts)
{
	if (likely(within(ts)))
		return 1;
	if (ts < C.win_lo)
		C.late++;
	return 0;
}

/* One event; `now`: a free in it may be applied at once (merge.c). */
static void process(const uint64_t *e, int now)
{
	struct hc_heap *h = &C.heap;
	unsigned kind = HC_EV_KIND(e[0]);
	int out = hc_config.dormant && !C.window; /* no window open: no trace */
	if (out && kind != HC_EV_STACK && kind != HC_EV_CODE) {
		if (kind != HC_EV_EXEC && kind <= HC_EV_MREMAP)
			C.late++; /* dormant: a closed window's, come after it */
		return;
	}
	switch (kind) {
	case HC_EV_STACK: {
		unsigned n = (unsigned)HC_EV_COUNT(e[0]);
		if (n + 2 > HC_EV_WORDS(e[0]))
			break;
		if (hc_config.dormant)
			hc_keep_stack(e[1], e + 2, n);
		if (out)
			return;
		int created;
		uint32_t id = hc_heap_intern(h, e[1], &created);
		if (created)
			write_stack(id, e + 2, n);
		else if (!id)
			h->dropped++;
		return;
	}
	case HC_EV_ALLOC:
		if (in_window(e[3]))
			hc_heap_alloc(h, e[1], e[2], e[3], site_of(e[4]));
		return;
	case HC_EV_FREE:
		if (in_window(e[2]))
			hc_heap_free_sized(h, e[1], e[2], HC_EV_WORDS(e[0]) >= 4 ? e[3] : 0, now);
		return;
	case HC_EV_REALLOC:
		if (in_window(e[4]))
			hc_heap_free_sized(h, e[1], e[4], HC_EV_WORDS(e[0]) >= 8 ? e[7] : 0, now);
		if (in_window(e[5]))
			hc_heap_alloc(h, e[2], e[3], e[5], site_of(e[6]));
		return;
	case HC_EV_MMAP:
		if (in_window(e[3]))
			hc_mapped_map(&C.mapped, h, e[1], e[2], e[3], site_of(e[4]));
		return;
	case HC_EV_MUNMAP:
		if (HC_EV_WORDS(e[0]) < 4)
			break;
		if (in_window(e[2]))
			hc_mapped_unmap(&C.mapped, h, e[1], e[3], e[2], now);
		return;
	case HC_EV_MREMAP:
		if (HC_EV_WORDS(e[0]) < 8)
			break;
		if (in_window(e[4]) && in_window(e[5])) {
			hc_mapped_remap(&C.mapped, h, e[1], e[7], e[2], e[3], e[4], e[5],
					site_of(e[6]), now);
		} else if (within(e[4])) {
			hc_mapped_unmap(&C.mapped, h, e[1], e[7], e[4], now); /* moved after the close */
		} else if (within(e[5])) {
			hc_mapped_map(&C.mapped, h, e[2], e[3], e[5], site_of(e[6]));
		}
		return;
	case HC_EV_EXIT:
		if (!in_window(e[2]))
			return;
		hc_rec_begin(&C.w, HC_REC_EXIT);
		hc_rec_u(&C.w, rel(e[2]));
		hc_rec_u(&C.w, e[1]);
		hc_rec_end(&C.w);
		return;
	case HC_EV_CODE:
		if (hc_config.dormant)
			hc_keep_code(e[1], e);
		if (out || (hc_config.dormant && code_written(e[1])))
			return;
		if (write_code(e))
			break;
		return;
	case HC_EV_EXEC: {
		size_t len = (size_t)HC_EV_COUNT(e[0]);
		if (len > sizeof(C.exec_path) - 1 || len > (HC_EV_WORDS(e[0]) - 2) * 8)
			break;
		memcpy(C.exec_path, e + 2, len);
		C.exec_path[len] = '\0';
		C.exec_ts = e[1];
		C.exec_pending = 1;
		return;
	}
	}
	C.corrupt_events++; /* cannot happen: rings are only written by record.c */
}

static void process_event(void *ctx, const uint64_t *e, int now)
{
	(void)ctx;
	process(e, now);
}

static size_t drain_all(void)
{
	hc_merge_look(&C.merge, atomic_load_explicit(&hc_rings, memory_order_acquire));
	/* The registry read again: rings linked since the first look are
	 * drained too. */
	size_t n = hc_merge_drain(&C.merge, atomic_load_explicit(&hc_rings, memory_order_acquire),
				  process_event, NULL, &C.corrupt_events);
	C.events += n;
	return n;
}

/* --- snapshots ----------------------------------------------------------- */

#define SITES_PER_RECORD 16384

struct sites_ctx {
	size_t i, total;
};

static void emit_site(void *ctx, uint32_t id, const struct hc_site *s, const uint32_t *hist)
{
	struct sites_ctx *sc = ctx;
	struct hc_writer *w = &C.w;
	if (sc->i % SITES_PER_RECORD == 0) {
		size_t left = sc->total - sc->i;
		hc_rec_begin(w, HC_REC_SITES);
		hc_rec_u(w, left < SITES_PER_RECORD ? left : SITES_PER_RECORD);
	}
	hc_rec_u(w, id);
	hc_rec_u(w, s->live_bytes > 0 ? (uint64_t)s->live_bytes : 0);
	hc_rec_u(w, s->live_blocks > 0 ? (uint64_t)s->live_blocks : 0);
	hc_rec_u(w, s->allocs);
	hc_rec_u(w, s->frees);
	hc_rec_u(w, s->bytes_alloc);
	hc_rec_u(w, s->peak);
	unsigned nh = 0;
	for (unsigned b = 0; hist && b < HC_HIST_BUCKETS; b++)
		nh += hist[b] != 0;
	hc_rec_u(w, nh);
	for (unsigned b = 0; hist && b < HC_HIST_BUCKETS; b++) {
		if (hist[b]) {
			hc_rec_u(w, b);
			hc_rec_u(w, hist[b]);
		}
	}
	sc->i++;
	if (sc->i % SITES_PER_RECORD == 0 || sc->i == sc->total)
		hc_rec_end(w);
}

static uint64_t lost_events(uint64_t by_cause[LOST_CAUSES], uint64_t *waits)
{
	by_cause[LOST_RING_FULL] = 0;
	by_cause[LOST_NO_RING] = hc_record_lost_no_ring();
	by_cause[LOST_TABLES] = C.heap.dropped;
	by_cause[LOST_CORRUPT] = C.corrupt_events;
	*waits = 0;
	for (struct hc_ring *r = atomic_load_explicit(&hc_rings, memory_order_acquire); r;
	     r = r->next) {
		by_cause[LOST_RING_FULL] += atomic_load_explicit(&r->lost, memory_order_relaxed);
		*waits += atomic_load_explicit(&r->waits, memory_order_relaxed);
	}
	/* A window counts from its start. */
	by_cause[LOST_RING_FULL] -= C.lost_base[LOST_RING_FULL];
	by_cause[LOST_NO_RING] -= C.lost_base[LOST_NO_RING];
	*waits -= C.waits_base;
	uint64_t lost = 0;
	for (int i = 0; i < LOST_CAUSES; i++)
		lost += by_cause[i];
	return lost;
}

/* Lost events are in every SNAPSHOT; the NOTE says why. One when a cause
 * first appears and one each time its count has doubled since, so a run
 * that keeps losing leaves a few dozen notes, not one per snapshot. */
static void note_lost(const uint64_t by_cause[LOST_CAUSES])
{
	static const char *const why[LOST_CAUSES] = {
		"the thread's ring stayed full for HEAPCREEP_WAIT (the collector fell behind, "
		"or its disk hung)",
		NULL,
		"the collector's tables could not grow (out of memory)",
		"malformed events in a ring",
	};
	for (int i = 0; i < LOST_CAUSES; i++) {
		uint64_t n = by_cause[i], was = C.lost_noted[i];
		if (!n || (was && n < 2 * was))
			continue;
		C.lost_noted[i] = n;
		char msg[256];
		if (i == LOST_NO_RING) {
			uint64_t f[HC_RING_FAIL_CAUSES];
			hc_thread_ring_failures(f);
			hc_fmt(msg, sizeof(msg),
			       "%llu events lost so far: a thread could get no ring (%llu times "
			       "no memory to map one, %llu times all %d rings in use, %llu times "
			       "the collector stuck)",
			       (unsigned long long)n, (unsigned long long)f[HC_RING_FAIL_NOMEM],
			       (unsigned long long)f[HC_RING_FAIL_LIMIT], HC_MAX_RINGS,
			       (unsigned long long)f[HC_RING_FAIL_STUCK]);
		} else {
			hc_fmt(msg, sizeof(msg), "%llu events lost so far: %s", (unsigned long long)n,
			       why[i]);
		}
		note(HC_NOTE_WARNING, msg);
	}
}

static void write_threads(void)
{
	int refresh = C.snapshots % 10 == 0;
	for (struct hc_ring *r = atomic_load_explicit(&hc_rings, memory_order_acquire); r;
	     r = r->next) {
		if (atomic_load_explicit(&r->state, memory_order_acquire) != HC_RING_OWNED)
			continue;
		uint32_t gen = atomic_load_explicit(&r->owner_gen, memory_order_acquire);
		if (gen == r->seen_gen && !refresh)
			continue;
		pid_t tid = atomic_load_explicit(&r->tid, memory_order_relaxed);
		char path[64], name[32];
		hc_fmt(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
		ssize_t n = hc_proc_read(path, name, sizeof(name));
		if (n <= 0)
			continue; /* already gone */
		if (name[n - 1] == '\n')
			name[--n] = '\0';
		if (gen == r->seen_gen && !strcmp(name, r->seen_name))
			continue;
		r->seen_gen = gen;
		memcpy(r->seen_name, name, (size_t)n + 1 < sizeof(r->seen_name) ? (size_t)n + 1
										 : sizeof(r->seen_name));
		r->seen_name[sizeof(r->seen_name) - 1] = '\0';
		hc_rec_begin(&C.w, HC_REC_THREAD);
		hc_rec_u(&C.w, rel(hc_stamp()));
		hc_rec_u(&C.w, (uint64_t)tid);
		hc_rec_str(&C.w, name, (size_t)n);
		hc_rec_end(&C.w);
	}
}

/* When the snapshot after the n-th (from 0) is due: the first two come
 * early, 50 and 200 ms into the trace (when the interval is longer), so that
 * a process that dies in its first second, even by SIGKILL, leaves what it
 * allocated; then one an interval after the last. The analyzer leaves the
 * early ones out of its windows when regular ones follow. */
static uint64_t snapshot_due(uint64_t n, uint64_t now)
{
	static const uint64_t early_ns[] = {50000000u, 200000000u};
	if (n < 2 && early_ns[n] < hc_config.interval_ns / 2)
		return C.started + early_ns[n];
	return now + hc_config.interval_ns;
}

static void snapshot(void)
{
	struct hc_heap *h = &C.heap;
	struct hc_writer *w = &C.w;
	hc_clock_calibrate();
	h->ns_per_stamp = hc_ns_per_stamp();
	uint64_t now = hc_stamp();
	uint64_t age = (uint64_t)((double)hc_config.promotion_ns / hc_ns_per_stamp());
	hc_heap_promote(h, now > age ? now - age : 0, emit_block, NULL);
	uint64_t by_cause[LOST_CAUSES], waits, lost = lost_events(by_cause, &waits);
	note_lost(by_cause);
	note_doubling(atomic_load_explicit(&hc_py_unknown_code, memory_order_relaxed),
		      &C.py_unknown_noted,
		      "Python frames so far name a code object the trace does not hold (the "
		      "shim's table of code objects is full, or a ring had no room to copy "
		      "one): they show as unknown Python code");
	note_doubling(atomic_load_explicit(&hc_stacks_cut, memory_order_relaxed), &C.cut_noted,
		      "allocation stacks so far end early: the walk met a frame only libunwind "
		      "reads while the process was forking, when the loader's list must not "
		      "be read");
	hc_rec_begin(w, HC_REC_SNAPSHOT);
	hc_rec_u(w, rel(now));
	hc_rec_u(w, hc_proc_rss());
	hc_rec_u(w, h->live_bytes > 0 ? (uint64_t)h->live_bytes : 0);
	hc_rec_u(w, h->live_blocks > 0 ? (uint64_t)h->live_blocks : 0);
	hc_rec_u(w, h->peak_bytes);
	hc_rec_u(w, h->total_allocs);
	hc_rec_u(w, h->total_frees);
	hc_rec_u(w, h->total_bytes);
	hc_rec_u(w, C.events);
	hc_rec_u(w, lost);
	hc_rec_u(w, waits);
	hc_rec_u(w, h->unknown_frees);
	hc_rec_u(w, hc_mapped_bytes());
	/* What tracing costs the process, as far as the collector can tell:
	 * its own CPU time (snapshots are written by the collector thread) and
	 * the whole process's since the trace began (an exec does not reset a
	 * process's clock). The time spent in the hooks is in the latter only.
	 * CPU-time clocks are system calls: once a snapshot, never per event. */
	uint64_t proc = hc_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	hc_rec_u(w, hc_clock_ns(CLOCK_THREAD_CPUTIME_ID));
	hc_rec_u(w, proc > C.cpu0 ? proc - C.cpu0 : 0);
	hc_rec_u(w, hc_mapped_live_bytes(&C.mapped));
	hc_rec_u(w, h->unknown_free_bytes);
	hc_rec_end(w);
	struct sites_ctx sc = {0, h->ndirty};
	hc_heap_flush_sites(h, emit_site, &sc);
	write_threads();
	C.snapshots++;
}

/* --- the trace and its windows ----------------------------------------- */

/* The END record: reason HC_END_*, and the signal's number for a fatal one. */
static void write_end(uint64_t ts, unsigned reason, int sig)
{
	hc_rec_begin(&C.w, HC_REC_END);
	hc_rec_u(&C.w, rel(ts));
	hc_rec_u(&C.w, reason);
	if (reason == HC_END_SIGNAL)
		hc_rec_u(&C.w, (uint64_t)sig);
	hc_rec_end(&C.w);
}

/* After the last drain: every pending free applied, the modules the stacks
 * met written, the last snapshot. */
static void settle_and_snapshot(void)
{
	hc_heap_settle(&C.heap);
	hc_mapped_settle(&C.mapped, &C.heap);
	if (C.rescan)
		scan_modules(); /* before the trace ends: frames must map to modules */
	char solo[256];
	if (hc_clock_describe_solo(solo, sizeof(solo)))
		note(HC_NOTE_INFO, solo);
	snapshot();
}

/* A new trace's counters: nothing of the last one is carried over. */
static void trace_counters_reset(void)
{
	C.events = C.corrupt_events = C.snapshots = C.last_block_written = 0;
	C.mods_sig = 0;
	C.python_written = 0;
	C.exec_pending = 0;
	memset(C.lost_noted, 0, sizeof(C.lost_noted));
}

/* Ends the trace: what is in the writer is flushed, the file closed; in a
 * dormant process the window's tables go (the next window starts afresh). */
static void end_trace(void)
{
	if (C.fd >= 0)
		close(C.fd);
	C.fd = -1;
	if (!hc_config.dormant || !C.window)
		return;
	C.window = 0;
	C.win_lo = 0;
	hc_writer_release(&C.w);
	hc_heap_release(&C.heap);
	hc_mapped_release(&C.mapped);
}

/* Returns 1 when the collector must end: outside dormant mode a trace that
 * cannot be written ends tracing; a dormant process goes back to waiting. */
static int stop_tracing(const char *why, int err)
{
	char msg[4200];
	hc_fmt(msg, sizeof(msg), "tracing stopped: %s '%s': %s", why, C.path, errstr(-err));
	hc_tracing_set(hc_config.dormant ? HC_DORMANT : HC_OFF);
	/* Try to leave the reason in the trace, if it still takes writes. */
	hc_writer_recover(&C.w);
	note(HC_NOTE_ERROR, msg);
	write_end(hc_stamp(), HC_END_STOPPED, 0);
	hc_writer_flush(&C.w);
	/* Not one chunk made it (no memory for the writer's buffers, say): a
	 * file with no record in it would only say "empty" or "incomplete"
	 * where the reason is this line. The file is ours (O_EXCL). */
	int gone = C.fd >= 0 && C.w.good_bytes <= HC_FILE_HEADER_SIZE && !unlink(C.path);
	if (gone)
		hc_log("%s; no trace left", msg);
	else
		hc_log("%s", msg);
	end_trace();
	if (hc_config.dormant) {
		hc_bypass_set(1);
		hc_control_status(HC_CONTROL_ERROR, C.request, gone ? "" : C.path, msg);
	}
	return !hc_config.dormant;
}

/* Opens the trace and writes its beginning; tables fresh. 0, or an errno
 * (tracing is then off, or dormant again, with one line on stderr). */
static int begin_trace(void)
{
	int rc = open_trace();
	if (rc) {
		char where[4200], pat[1024];
		expand_path(where, sizeof(where), output_pattern(pat, sizeof(pat)), 0);
		char msg[4400];
		hc_fmt(msg, sizeof(msg), "cannot create trace '%s': %s", where, errstr(-rc));
		hc_log("%s; tracing %s", msg, hc_config.dormant ? "stays dormant" : "off");
		hc_tracing_set(hc_config.dormant ? HC_DORMANT : HC_OFF);
		if (hc_config.dormant)
			hc_control_status(HC_CONTROL_ERROR, C.request, "", msg);
		return rc;
	}
	C.window = hc_config.dormant;
	/* Said once; every later trace of the process is uncompressed too. */
	int level = hc_config.zstd_level;
	if (level > 0 && hc_zstd_load()) {
		if (!C.zstd_noted++)
			hc_log("%s; the trace is written uncompressed", hc_zstd_error());
		level = 0;
	}
	if (hc_writer_init(&C.w, C.fd, level) ||
	    hc_heap_init(&C.heap, hc_config.sample_bytes)) {
		stop_tracing("cannot start trace", C.w.err ? C.w.err : -ENOMEM);
		return -ENOMEM;
	}
	C.heap.on_free = emit_free;
	hc_mapped_init(&C.mapped, (uint64_t)sysconf(_SC_PAGESIZE));
	if (!C.fork_child || hc_config.dormant) /* a fork child's clock began at the fork */
		C.cpu0 = hc_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	hc_clock_calibrate();
	C.heap.ns_per_stamp = hc_ns_per_stamp();
	write_header();
	char clock[192];
	hc_clock_describe(clock, sizeof(clock));
	note(HC_NOTE_INFO, clock);
	scan_modules();
	rc = hc_writer_flush(&C.w);
	if (rc) {
		stop_tracing("cannot write trace", rc);
		return rc;
	}
	C.started = hc_now();
	C.next_snapshot = snapshot_due(0, C.started);
	return 0;
}

/* A window switched on: a trace of its own from now, nothing carried over
 * from an earlier one but the stacks and code objects (keep.c). */
static void open_window(const struct hc_control_req *req)
{
	drain_all(); /* what a closed window left: counted as late */
	if (!C.windows)
		C.late = 0; /* recorded before the constructor knew the process dormant */
	hc_fmt(C.window_output, sizeof(C.window_output), "%s", req->output);
	C.windows++;
	trace_counters_reset();
	if (C.codes_words)
		memset(C.codes_written, 0, C.codes_words * 8);
	uint64_t base[LOST_CAUSES], waits;
	memset(C.lost_base, 0, sizeof(C.lost_base));
	C.waits_base = 0;
	lost_events(base, &waits);
	C.lost_base[LOST_RING_FULL] = base[LOST_RING_FULL];
	C.lost_base[LOST_NO_RING] = base[LOST_NO_RING];
	C.waits_base = waits;
	C.py_unknown_noted = atomic_load(&hc_py_unknown_code);
	C.cut_noted = atomic_load(&hc_stacks_cut);
	for (struct hc_ring *r = atomic_load_explicit(&hc_rings, memory_order_acquire); r;
	     r = r->next)
		r->seen_gen = 0; /* thread names again */
	/* The collector's own allocations (zstd's) go to its heap from here. */
	atomic_store(&hc_pass, 0);
	hc_t0 = hc_stamp();
	C.win_lo = hc_t0;
	C.win_hi = UINT64_MAX;
	if (begin_trace()) {
		C.win_hi = C.win_lo; /* nothing is in a window that did not open */
		C.windows--;
		return;
	}
	if (C.late > C.late_noted) {
		char msg[256];
		hc_fmt(msg, sizeof(msg),
		       "%llu events of earlier windows reached the collector after their "
		       "window had closed (a thread held up longer than the close allows): "
		       "those windows' figures miss them",
		       (unsigned long long)(C.late - C.late_noted));
		note(HC_NOTE_WARNING, msg);
		C.late_noted = C.late;
	}
	C.win_until = req->duration_ns ? hc_now() + req->duration_ns : 0;
	hc_bypass_set(0); /* the program's calls reach the shim again */
	hc_tracing_set(HC_ON);
	hc_control_status(HC_CONTROL_ON, C.request, C.path, "");
}

/* How long a closing window keeps draining: a thread that saw tracing on
 * just before the close publishes its event within this (else it is
 * counted as late). */
#define CLOSE_GRACE_NS 50000000u

/* Switched off (or its duration over): the hooks stop recording, the
 * events stamped up to now are drained, and the trace ends. */
static void close_window(void)
{
	hc_tracing_set(HC_DORMANT);
	C.win_hi = hc_stamp();
	uint64_t until = hc_now() + CLOSE_GRACE_NS;
	do {
		drain_all();
		hc_heap_round(&C.heap);
		hc_mapped_round(&C.mapped, &C.heap);
		struct timespec ts = {0, 5000000};
		nanosleep(&ts, NULL);
	} while (hc_now() < until);
	drain_all();
	settle_and_snapshot();
	write_end(C.win_hi, HC_END_WINDOW, 0);
	int rc = hc_writer_flush(&C.w);
	if (rc) {
		stop_tracing("cannot write trace", rc);
		return;
	}
	end_trace();
	hc_bypass_set(1);
	hc_control_status(HC_CONTROL_DORMANT, C.request, C.path, "");
}

/* A window's collector looks at the control file this often. */
#define CONTROL_NS 200000000u

/* Acts on the control file (every 200 ms) and on a window's duration. */
static void control(uint64_t now)
{
	if (C.window && C.win_until && now >= C.win_until) {
		C.win_until = 0;
		close_window();
	}
	if (now < C.next_poll)
		return;
	C.next_poll = now + CONTROL_NS;
	struct hc_control_req req;
	if (!hc_control_poll(&req))
		return;
	C.request = req.id;
	if (req.on && !C.window)
		open_window(&req);
	else if (!req.on && C.window)
		close_window();
	else
		hc_control_status(C.window ? HC_CONTROL_ON : HC_CONTROL_DORMANT, C.request,
				  C.windows ? C.path : "", "");
}

/* --- the thread ---------------------------------------------------------- */

/* Drains everything published before the request, then writes. Returns 1
 * when the collector must end (final flush or failure). */
static int serve_flush(void)
{
	int final = atomic_load(&C.final_req);
	if (hc_config.dormant && !C.window) {
		drain_all(); /* late events only */
		C.exec_pending = 0;
		if (final) {
			hc_tracing_set(HC_OFF);
			hc_control_remove();
		}
		return final;
	}
	/* Three drains: every event published before the request is in after
	 * the first, and its predecessors after the second; the third narrows
	 * what threads still running during exit can leave half-matched. */
	for (int i = 0; i < 3; i++) {
		drain_all();
		hc_heap_round(&C.heap);
		hc_mapped_round(&C.mapped, &C.heap);
	}
	uint64_t now = hc_now();
	settle_and_snapshot();
	if (C.exec_pending) {
		hc_rec_begin(&C.w, HC_REC_EXEC);
		hc_rec_u(&C.w, rel(C.exec_ts));
		hc_rec_str(&C.w, C.exec_path, strlen(C.exec_path));
		hc_rec_end(&C.w);
	}
	if (final || C.exec_pending) {
		int sig = atomic_load(&C.fatal_signal);
		write_end(hc_stamp(), !final ? HC_END_EXEC : sig ? HC_END_SIGNAL : HC_END_EXIT, sig);
	}
	C.exec_pending = 0;
	int rc = hc_writer_flush(&C.w);
	if (rc)
		return stop_tracing("cannot write trace", rc) || final;
	C.next_snapshot = snapshot_due(C.snapshots, now);
	if (final) {
		hc_tracing_set(HC_OFF);
		if (hc_config.dormant)
			hc_control_remove();
		end_trace();
		return 1;
	}
	return 0;
}

static void finish_request(void)
{
	atomic_store_explicit(&C.flush_done, atomic_load(&C.flush_req), memory_order_release);
	futex(&C.flush_done, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

static void idle(uint64_t ns)
{
	uint32_t seen = atomic_load(&C.wake);
	atomic_store(&C.sleeping, 1);
	if (atomic_load(&C.flush_req) == atomic_load(&C.flush_done)) {
		struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
		futex(&C.wake, FUTEX_WAIT_PRIVATE, seen, &ts);
	}
	atomic_store(&C.sleeping, 0);
}

/* The collector's sleep between drains, from 200 us to 20 ms, and the
 * events a drain must find to go on without one (about 32 KiB of them). */
#define NAP_MIN_NS 200000u
#define NAP_MAX_NS 20000000u
#define BUSY_EVENTS 1024

static void *collector_main(void *arg)
{
	(void)arg;
	/* Everything this thread allocates is the shim's own, from its own
	 * heap; its signals are blocked from its start. */
	hc_tls.guard = 1;
	hc_tls.own = 1;
	hc_tls.sample_left = 0;
	hc_stamp_fence_self();
	atomic_store(&C.tid, (pid_t)syscall(SYS_gettid));
	prctl(PR_SET_NAME, "heapcreep", 0, 0, 0);
	uint64_t nap = NAP_MIN_NS;
	for (;;) {
		pthread_mutex_lock(&C.lock);
		int done = 0;
		size_t n = drain_all();
		uint64_t now = hc_now();
		if (hc_config.dormant) {
			control(now);
			now = hc_now();
		}
		if (!C.window && hc_config.dormant) {
			/* Dormant again (or woken for nothing): the thread
			 * ends; the next `heapcreep on` starts another. */
			if (atomic_load(&C.flush_req) != atomic_load(&C.flush_done))
				serve_flush();
			if (atomic_load(&hc_tracing) == HC_DORMANT)
				pass_if(HC_DORMANT); /* woken for nothing: passing again */
			pthread_mutex_unlock(&C.lock);
			break;
		}
		hc_heap_round(&C.heap);
		hc_mapped_round(&C.mapped, &C.heap);
		/* A stack met an unknown address: a library was loaded. Re-read
		 * the maps at most every 100 ms (JIT code never maps to one). */
		if (C.rescan && now - C.last_scan > 100000000u)
			scan_modules();
		if (atomic_load(&C.flush_req) != atomic_load(&C.flush_done)) {
			done = serve_flush();
			finish_request();
		} else if (now >= C.next_snapshot) {
			snapshot();
			C.next_snapshot = snapshot_due(C.snapshots, now);
			if (C.snapshots % 30 == 0)
				C.rescan = 1; /* catch dlclose + reload at the same place */
			int rc = hc_writer_flush(&C.w);
			if (rc)
				done = stop_tracing("cannot write trace", rc);
		}
		if (!done && C.w.err && C.fd >= 0)
			done = stop_tracing("cannot write trace", C.w.err);
		pthread_mutex_unlock(&C.lock);
		if (done)
			break;
		if (atomic_load(&C.pause_req))
			return NULL; /* the forking thread joins it */
		/* Busy (a batch worth the trip, or events held for the next
		 * drain): drain again at once. A trickle (sampled mode, a quiet
		 * program) is left to pile up, the nap doubling to 20 ms: a
		 * thread past half its ring wakes the collector anyway
		 * (hc_collector_kick), and each wake costs a system call and a
		 * core the program may want. */
		if (n >= BUSY_EVENTS || C.merge.left) {
			nap = NAP_MIN_NS;
			continue;
		}
		uint64_t until = C.next_snapshot > now ? C.next_snapshot - now : 0;
		if (hc_config.dormant && until > CONTROL_NS)
			until = CONTROL_NS; /* the control file */
		idle(nap < until ? nap : until + 1000);
		if (nap < NAP_MAX_NS)
			nap *= 2;
	}
	atomic_store(&hc_collector_running, 0);
	finish_request();
	if (atomic_exchange(&C.joinable, 0))
		pthread_detach(pthread_self()); /* no one joins it */
	return NULL;
}

static void resume(int now_or_never);

void hc_collector_kick(void)
{
	if (unlikely(atomic_load_explicit(&C.paused, memory_order_relaxed))) {
		/* Paused across a fork: a ring past half full waits for the
		 * resume's time like any hook call (resuming now would put the
		 * thread back before CPython counts threads); a full one
		 * resumes it at once (hc_collector_start, from the wait). */
		resume(0);
		return;
	}
	/* One waker per sleep: a thread past half its ring kicks on every
	 * event until the collector runs, each a system call otherwise. */
	if (atomic_load_explicit(&C.sleeping, memory_order_relaxed) &&
	    atomic_exchange(&C.sleeping, 0)) {
		atomic_fetch_add(&C.wake, 1);
		futex(&C.wake, FUTEX_WAKE_PRIVATE, 1, NULL);
	}
}

/* The collector thread, joinable (a pause joins it); 0 or an errno. */
static int spawn(void)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 1u << 20);
	atomic_store(&C.joinable, 1);
	int rc = pthread_create(&C.thread, &attr, collector_main, NULL);
	if (rc)
		atomic_store(&C.joinable, 0);
	pthread_attr_destroy(&attr);
	return rc;
}

enum { PAUSE_NO, PAUSE_YES, PAUSE_RESUMING };

/* A paused collector started again (now, or when its time has come). */
static void resume(int now_or_never)
{
	if (atomic_load(&C.paused) != PAUSE_YES || (!now_or_never && hc_now() < C.resume_at))
		return;
	int yes = PAUSE_YES;
	if (!atomic_compare_exchange_strong(&C.paused, &yes, PAUSE_RESUMING))
		return;
	sigset_t saved;
	hc_own_enter(&saved);
	atomic_store(&hc_collector_running, 1);
	hc_tracing_set(HC_ON);
	int rc = spawn();
	if (rc) {
		atomic_store(&hc_collector_running, 0);
		if (C.fd >= 0)
			stop_tracing("cannot start the collector thread again for", -rc);
		else
			hc_log("cannot start the collector thread again: %s; tracing off",
			       errstr(rc));
		hc_tracing_set(HC_OFF); /* no collector: dormant or not, nothing can record */
	}
	atomic_store(&C.paused, PAUSE_NO);
	hc_own_leave(&saved);
}

void hc_collector_unpause(void)
{
	resume(1);
}

/* `heapcreep on` wrote HC_WAKE into hc_tracing (and cleared hc_pass): the
 * first hook call to see it starts the collector, which reads the request
 * from the control file and opens the window. */
static void wake(void)
{
	if (atomic_load(&hc_collector_running))
		return; /* the last window's collector is ending: a later call wakes */
	int expect = HC_WAKE;
	if (!atomic_compare_exchange_strong(&hc_tracing, &expect, HC_DORMANT))
		return;
	sigset_t saved;
	hc_own_enter(&saved);
	if (hc_control_init()) {
		hc_tracing_set(HC_DORMANT); /* no control: passing through again */
		goto out;
	}
	C.next_poll = 0;
	atomic_store(&hc_collector_running, 1);
	int rc = spawn();
	if (rc) {
		atomic_store(&hc_collector_running, 0);
		char msg[128];
		hc_fmt(msg, sizeof(msg), "cannot start the collector thread: %s", errstr(rc));
		hc_log("%s; dormant", msg);
		hc_control_status(HC_CONTROL_ERROR, 0, "", msg);
		hc_tracing_set(HC_DORMANT);
	}
	/* else the collector opens the window, or passes through again */
out:
	hc_own_leave(&saved);
}

void hc_collector_poke(void)
{
	if (atomic_load_explicit(&hc_tracing, memory_order_relaxed) == HC_WAKE)
		wake();
	else if (atomic_load_explicit(&C.paused, memory_order_relaxed))
		resume(0);
	else
		hc_collector_start();
}

void hc_collector_start(void)
{
	if (unlikely(atomic_load_explicit(&C.paused, memory_order_relaxed))) {
		resume(1); /* a thread that cannot wait: its ring is full */
		return;
	}
	if (!hc_config_loaded || atomic_load(&hc_tracing) == HC_OFF)
		return;
	int idle_state = 0;
	if (!atomic_compare_exchange_strong(&C.start_state, &idle_state, 1))
		return;
	sigset_t saved;
	hc_own_enter(&saved);
	if (hc_config.dormant) {
		/* No trace and no thread until `heapcreep on` wakes the
		 * process (hc_collector_poke). */
		hc_tracing_set(HC_DORMANT);
		hc_bypass_set(1);
		goto out;
	}
	if (begin_trace())
		goto out;

	/* The collector takes no signals: they belong to the program (its
	 * mask is this one, hc_own_enter's: all blocked). Its DTV, which
	 * pthread_create allocates, comes from the own heap. */
	atomic_store(&hc_collector_running, 1);
	hc_tracing_set(HC_ON);
	int rc = spawn();
	if (rc) {
		atomic_store(&hc_collector_running, 0);
		stop_tracing("cannot start the collector thread for", -rc);
	}
out:
	hc_own_leave(&saved);
}

int hc_collector_flush(int final, uint64_t timeout_ns)
{
	if (!atomic_load(&C.fatal_signal))
		resume(1); /* never from a signal handler */
	if (!atomic_load(&hc_collector_running) || getpid() != hc_pid)
		return -1;
	if (final)
		atomic_store(&C.final_req, 1);
	uint32_t seq = atomic_fetch_add(&C.flush_req, 1) + 1;
	atomic_fetch_add(&C.wake, 1);
	futex(&C.wake, FUTEX_WAKE_PRIVATE, 1, NULL);
	uint64_t deadline = hc_now() + timeout_ns;
	for (;;) {
		uint32_t done = atomic_load_explicit(&C.flush_done, memory_order_acquire);
		if ((int32_t)(done - seq) >= 0)
			return 0;
		if (!atomic_load(&hc_collector_running))
			return -1;
		uint64_t now = hc_now();
		if (now >= deadline)
			return -1;
		uint64_t left = deadline - now;
		if (left > 100000000u)
			left = 100000000u; /* re-check that the collector still runs */
		struct timespec ts = {0, (long)left};
		futex(&C.flush_done, FUTEX_WAIT_PRIVATE, done, &ts);
	}
}

/* --- fork ---------------------------------------------------------------- */

int hc_collector_fatal(int sig, uint64_t timeout_ns)
{
	if (atomic_load(&C.tid) == (pid_t)syscall(SYS_gettid))
		return -1; /* the collector itself: no one left to flush */
	atomic_store(&C.fatal_signal, sig);
	return hc_collector_flush(1, timeout_ns);
}

/* Python 3.12 and later print a DeprecationWarning (shown by default for
 * a call from __main__) when os.fork() finds the process multi-threaded,
 * which they read from /proc/self/stat in the parent just after the fork:
 * the collector thread would count. So in such a process the collector
 * ends before the fork (its state stays whole; events wait in the rings)
 * and the parent's first hook call 10 ms after the fork starts it again
 * (or at once: a ring full, a flush, exit, exec; not a fatal signal's
 * flush, which cannot start a thread). A parent that allocates nothing
 * after the fork gets no snapshot until it does. */
#define RESUME_AFTER_NS 10000000u

static int pause_for_fork(void)
{
	struct hc_py_info py;
	hc_py_info(&py);
	return py.interpreter >= 0x030c0000u;
}

void hc_collector_prefork(void)
{
	int running = atomic_load(&hc_collector_running);
	if (running && pause_for_fork() && atomic_load(&C.tid) != (pid_t)syscall(SYS_gettid) &&
	    atomic_exchange(&C.joinable, 0)) {
		int before = hc_proc_threads();
		atomic_store(&C.pause_req, 1);
		atomic_fetch_add(&C.wake, 1);
		futex(&C.wake, FUTEX_WAKE_PRIVATE, 1, NULL);
		pthread_join(C.thread, NULL);
		atomic_store(&C.pause_req, 0);
		/* else it ended by itself: the trace stopped, or a window
		 * closed */
		if (atomic_load(&hc_tracing) == HC_ON) {
			atomic_store(&hc_collector_running, 0);
			hc_tracing_set(HC_PENDING);
			/* no resume by time before postfork_parent sets it */
			C.resume_at = UINT64_MAX;
			atomic_store(&C.paused, PAUSE_YES);
		}
		/* joined: its stack is free; the kernel drops it from the
		 * count a moment later */
		uint64_t until = hc_now() + 5000000u;
		while (before > 0 && hc_proc_threads() >= before && hc_now() < until)
			sched_yield();
	}
	/* A fork while the collector is mid-round would give the child a torn
	 * copy of its tables; wait for the round to end (and keep one that
	 * another thread resumes meanwhile from starting one). */
	C.fork_locked = running || atomic_load(&C.paused);
	if (C.fork_locked)
		pthread_mutex_lock(&C.lock);
}

void hc_collector_postfork_parent(void)
{
	if (C.fork_locked)
		pthread_mutex_unlock(&C.lock);
	if (atomic_load(&C.paused))
		C.resume_at = hc_now() + RESUME_AFTER_NS;
}

void hc_collector_postfork_child(void)
{
	hc_tls.guard++;
	pthread_mutex_init(&C.lock, NULL);
	hc_slots_postfork_child();
	int was_off = atomic_load(&hc_tracing) == HC_OFF;
	if (C.fork_locked) {
		/* The parent's collector thread does not exist here: drop its
		 * state (all of it in mmap memory) and its file. */
		hc_writer_release(&C.w);
		hc_heap_release(&C.heap);
		hc_mapped_release(&C.mapped);
		hc_merge_release(&C.merge);
		if (C.fd >= 0)
			close(C.fd);
	}
	C.fd = -1;
	C.fork_locked = 0;
	trace_counters_reset();
	C.nmods = 0;
	C.py_unknown_noted = 0;
	atomic_store(&hc_py_unknown_code, 0);
	C.cut_noted = 0;
	atomic_store(&hc_stacks_cut, 0);
	hc_py_postfork_child();
	atomic_store(&C.flush_req, 0);
	atomic_store(&C.flush_done, 0);
	atomic_store(&C.final_req, 0);
	atomic_store(&C.fatal_signal, 0);
	atomic_store(&C.tid, 0);
	atomic_store(&C.sleeping, 0);
	atomic_store(&C.start_state, 0);
	atomic_store(&C.paused, PAUSE_NO);
	atomic_store(&C.pause_req, 0);
	atomic_store(&hc_collector_running, 0);
	for (struct hc_ring *r = atomic_load(&hc_rings); r; r = r->next) {
		hc_ring_reset(r);
		atomic_store(&r->lost, 0);
		atomic_store(&r->waits, 0);
		r->seen_gen = 0;
		if (r != hc_tls.ring)
			atomic_store(&r->state, HC_RING_FREE); /* its thread is gone */
	}
	hc_pid = getpid();
	hc_thread_postfork_child();
	hc_sampled_reset();
	hc_clock_reset();
	hc_stamp_postfork_child();
	hc_t0 = hc_stamp();
	C.fork_child = 1;
	C.cpu0 = 0;
	/* A dormant process's child is dormant: windows are switched on per
	 * process. Its collector starts at its first allocator call. */
	C.window = 0;
	C.windows = 0;
	C.request = 0;
	C.win_lo = C.late = C.late_noted = C.win_until = C.next_poll = 0;
	C.win_hi = UINT64_MAX;
	C.window_output[0] = '\0';
	memset(C.lost_base, 0, sizeof(C.lost_base));
	C.waits_base = 0;
	hc_tracing_set(was_off ? HC_OFF
		       : hc_config.dormant ? HC_DORMANT
		       : hc_config.fork_mode == HC_FORK_OFF ? HC_OFF
					     : HC_PENDING);
	hc_tls.guard--;
}
