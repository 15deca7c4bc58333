/* Facts about the traced process that the collector writes into the trace:
 * resident set size, the cgroup memory limit, build-ids of ELF files; and
 * its thread count, for a pause across fork. Read with plain open/read (no
 * stdio, no malloc), never under a lock the program might hold (so no
 * dl_iterate_phdr).
 */
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

ssize_t hc_proc_read(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t k = read(fd, buf + n, cap - 1 - n);
		if (k < 0) {
			close(fd);
			return -1;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

uint64_t hc_proc_rss(void)
{
	char buf[128];
	if (hc_proc_read("/proc/self/statm", buf, sizeof(buf)) <= 0)
		return 0;
	char *p = buf;
	strtoull(p, &p, 10); /* size */
	uint64_t resident = strtoull(p, NULL, 10);
	return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* /proc/self/stat's field n (from 1), or NULL. */
static const char *stat_field(char *buf, size_t cap, int n)
{
	if (hc_proc_read("/proc/self/stat", buf, cap) <= 0)
		return NULL;
	char *p = strrchr(buf, ')'); /* the command may hold spaces and ')' */
	for (int field = 2; field < n && p; field++)
		p = strchr(p + 1, ' ');
	return p ? p + 1 : NULL;
}

int hc_proc_threads(void)
{
	char buf[1024];
	const char *f = stat_field(buf, sizeof(buf), 20);
	return f ? atoi(f) : -1;
}

uint64_t hc_proc_start_realtime(void)
{
	char buf[1024];
	const char *f = stat_field(buf, sizeof(buf), 22); /* starttime, ticks since boot */
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t boot = hc_clock_ns(CLOCK_BOOTTIME), real = hc_clock_ns(CLOCK_REALTIME);
	if (!f || hz <= 0 || !boot || !real)
		return 0;
	uint64_t since_boot = strtoull(f, NULL, 10) * (1000000000ull / (uint64_t)hz);
	uint64_t age = boot > since_boot ? boot - since_boot : 0;
	return real > age ? real - age : 0;
}

/* "max" or a number of bytes; 0 for none or unreadable. */
static uint64_t read_limit(const char *path)
{
	char buf[64];
	if (hc_proc_read(path, buf, sizeof(buf)) <= 0 || !strncmp(buf, "max", 3))
		return 0;
	uint64_t v = strtoull(buf, NULL, 10);
	return v >= (1ull << 62) ? 0 : v; /* cgroup v1 says "no limit" this way */
}

uint64_t hc_proc_cgroup_limit(void)
{
	char cg[4096], path[4096 + 64];
	if (hc_proc_read("/proc/self/cgroup", cg, sizeof(cg)) <= 0)
		return 0;
	uint64_t best = 0;
	for (char *line = cg; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *rel = NULL;
		int v2 = !strncmp(line, "0::", 3);
		if (v2)
			rel = line + 3;
		else if (strstr(line, ":memory:"))
			rel = strstr(line, ":memory:") + 8;
		/* The tightest limit on the way up from our cgroup applies. */
		while (rel) {
			hc_fmt(path, sizeof(path), "%s%s/%s",
			       v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory", rel,
			       v2 ? "memory.max" : "memory.limit_in_bytes");
			uint64_t lim = read_limit(path);
			if (lim && (!best || lim < best))
				best = lim;
			char *slash = strrchr(rel, '/');
			if (!slash || !*rel)
				break;
			*slash = '\0';
		}
		line = nl ? nl + 1 : NULL;
	}
	return best;
}

/* The file's first bytes, read once: the ELF header, the program headers
 * and the build-id note lie there in every file seen, so one read serves a
 * module where a read for each header took up to 15 (77 system calls fewer
 * for the modules of a traced /bin/true). */
struct head {
	int fd;
	size_t len;
	uint8_t b[4096];
};

static int read_at(struct head *h, void *buf, size_t n, uint64_t off)
{
	if (off <= h->len && n <= h->len - off) {
		memcpy(buf, h->b + off, n);
		return 0;
	}
	return pread(h->fd, buf, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

size_t hc_elf_build_id(const char *path, uint8_t *out, size_t cap)
{
	struct head h;
	h.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (h.fd < 0)
		return 0;
	ssize_t got = pread(h.fd, h.b, sizeof(h.b), 0);
	h.len = got > 0 ? (size_t)got : 0;
	size_t found = 0;
	Elf64_Ehdr eh;
	if (read_at(&h, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum > 256)
		goto out;
	for (unsigned i = 0; i < eh.e_phnum && !found; i++) {
		Elf64_Phdr ph;
		if (read_at(&h, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)))
			goto out;
		if (ph.p_type != PT_NOTE || ph.p_filesz > 65536)
			continue;
		uint8_t notes[65536];
		if (read_at(&h, notes, ph.p_filesz, ph.p_offset))
			continue;
		for (size_t off = 0; off + sizeof(Elf64_Nhdr) <= ph.p_filesz;) {
			Elf64_Nhdr nh;
			memcpy(&nh, notes + off, sizeof(nh));
			size_t name_at = off + sizeof(nh);
			size_t desc_at = name_at + ((nh.n_namesz + 3) & ~3u);
			size_t next = desc_at + ((nh.n_descsz + 3) & ~3u);
			if (next > ph.p_filesz || next <= off)
				break;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp(notes + name_at, "GNU", 4) && nh.n_descsz <= cap) {
				memcpy(out, notes + desc_at, nh.n_descsz);
				found = nh.n_descsz;
				break;
			}
			off = next;
		}
	}
out:
	close(h.fd);
	return found;
}
