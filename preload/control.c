/* Dormant mode's control: how `heapcreep on|off PID` reaches a process
 * that records nothing until asked. The CLI writes a request file,
 * <dir>/<pid>.ctl, and the collector, which looks at it every 200 ms, answers
 * in <dir>/<pid>.status. No signal is taken from the program and no memory
 * is written from outside; a container's process is reached through
 * /proc/PID/root/<dir> by root on the host.
 * The directory is the process's own (mode 0700, its user's): a request
 * names a file the process will create, so a request from anyone else is
 * refused. Called by the collector thread only; never allocates.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static struct {
	char ctl[600], status[600], tmp[610];
	int ok;
	struct stat seen;  /* the request file as last read */
	int have_seen;
	unsigned long long last_id;
} K;

/* Whether a file or directory is the process's user's (or root's, who may
 * write into it from the host) and no one else can write it. */
static int trusted(const struct stat *st)
{
	uid_t me = geteuid();
	return (st->st_uid == me || st->st_uid == 0) && !(st->st_mode & 022);
}

int hc_control_init(void)
{
	const char *dir = hc_config.control;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		hc_log("cannot create control directory '%s': errno %d; dormant with no control",
		       dir, errno);
		return -1;
	}
	struct stat st;
	if (lstat(dir, &st) || !S_ISDIR(st.st_mode) || !trusted(&st)) {
		hc_log("control directory '%s' is not a directory of this user's that only it "
		       "can write; dormant with no control",
		       dir);
		return -1;
	}
	int pid = (int)getpid();
	hc_fmt(K.ctl, sizeof(K.ctl), "%s/%d.ctl", dir, pid);
	hc_fmt(K.status, sizeof(K.status), "%s/%d.status", dir, pid);
	hc_fmt(K.tmp, sizeof(K.tmp), "%s/%d.status.tmp", dir, pid);
	K.have_seen = 0;
	K.last_id = 0;
	K.ok = 1;
	return 0;
}

/* "key value" lines; value up to the end of the line. */
static const char *field(const char *text, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, klen) || l[klen] != ' ')
			continue;
		const char *v = l + klen + 1;
		size_t n = strcspn(v, "\n");
		if (n >= cap)
			return NULL;
		memcpy(out, v, n);
		out[n] = '\0';
		return out;
	}
	return NULL;
}

static int number(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (~0ull - 9) / 10)
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = v;
	return 0;
}

int hc_control_poll(struct hc_control_req *req)
{
	if (!K.ok)
		return 0;
	struct stat st;
	if (lstat(K.ctl, &st))
		return 0;
	if (K.have_seen && st.st_ino == K.seen.st_ino && st.st_size == K.seen.st_size &&
	    st.st_mtim.tv_sec == K.seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == K.seen.st_mtim.tv_nsec)
		return 0;
	K.seen = st;
	K.have_seen = 1;
	char text[6000], v[4200];
	int fd = open(K.ctl, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ssize_t n = -1;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && trusted(&st))
		n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	memset(req, 0, sizeof(*req));
	unsigned long long u;
	if (strncmp(text, "heapcreep-control 1\n", 20) || !field(text, "id", v, sizeof(v)) ||
	    number(v, &req->id) || req->id == K.last_id)
		return 0;
	K.last_id = req->id;
	if (!field(text, "state", v, sizeof(v)) || (strcmp(v, "on") && strcmp(v, "off"))) {
		hc_control_status(HC_CONTROL_ERROR, req->id, "", "malformed request: no state");
		return 0;
	}
	req->on = !strcmp(v, "on");
	if (field(text, "duration_ns", v, sizeof(v))) {
		if (number(v, &u)) {
			hc_control_status(HC_CONTROL_ERROR, req->id, "", "malformed duration_ns");
			return 0;
		}
		req->duration_ns = u;
	}
	if (field(text, "output", req->output, sizeof(req->output)) && req->output[0] != '/') {
		hc_control_status(HC_CONTROL_ERROR, req->id, "", "output must be an absolute path");
		return 0;
	}
	return 1;
}

void hc_control_status(int state, unsigned long long id, const char *trace, const char *error)
{
	if (!K.ok)
		return;
	static const char *const names[] = {"dormant", "on", "error"};
	char text[5000];
	size_t k = hc_fmt(text, sizeof(text),
			  "heapcreep-status 1\npid %d\nstate %s\nrequest %llu\ntrace %s\n",
			  (int)getpid(), names[state], id, trace);
	if (error && *error)
		k += hc_fmt(text + k, sizeof(text) - k, "error %s\n", error);
	int fd = open(K.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	int ok = write(fd, text, k) == (ssize_t)k;
	close(fd);
	if (!ok || rename(K.tmp, K.status))
		unlink(K.tmp);
}

void hc_control_remove(void)
{
	if (!K.ok)
		return;
	unlink(K.ctl);
	unlink(K.status);
	K.ok = 0;
}
