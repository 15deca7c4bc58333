/* Looks like a CPython interpreter to the shim's detection, but is not one:
 * it exports _PyRuntime, PyCode_Type, Py_Version and the rest (built with
 * -rdynamic), with a version or a layout the walker must refuse. Python
 * frames must then stay off with a NOTE saying why, and the native frames
 * go on. FAKE_VERSION (PY_VERSION_HEX) picks the case: 3.99 by default (no
 * layout known); 3.12.1 with a code object of the wrong size; 3.13.0 with
 * a damaged _Py_DebugOffsets cookie. Then allocates a known block.
 * With "fork", forks first and prints its thread count just after, which a
 * 3.12 or later must find to be 1 (the collector paused across the fork).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FAKE_VERSION
#define FAKE_VERSION 0x036300f0
#endif
#define EXPORT __attribute__((visibility("default"), used))

struct member { /* PyMemberDef */
	const char *name;
	int type;
	long offset;
	int flags;
	const char *doc;
};
static struct member members[] = {
	{"co_filename", 0, 112, 0, 0}, {"co_name", 0, 120, 0, 0},
	{"co_firstlineno", 0, 68, 0, 0}, {"co_qualname", 0, 128, 0, 0}, {0, 0, 0, 0, 0},
};
struct type { /* PyTypeObject, as far as the checks read it */
	char pad0[32];
	long basicsize;
	char pad1[240 - 40];
	struct member *members;
	char pad2[256];
};
/* 3.13's code object is 200 bytes to its bytecode, 3.12's 192: 3.12 with
 * 200 is a layout the table does not describe. */
EXPORT struct type PyCode_Type = {.basicsize = 200, .members = members};
EXPORT struct type PyUnicode_Type, PyBytes_Type;
EXPORT const unsigned long Py_Version = FAKE_VERSION;
EXPORT struct {
	char cookie[8];
	unsigned long version, free_threaded;
	char rest[16384];
} _PyRuntime = {"xdebugpX", FAKE_VERSION, 0, {0}};

EXPORT __attribute__((noinline)) void *_PyEval_EvalFrameDefault(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 1, n);
	return p;
}

/* The process's thread count, as CPython 3.12 reads it after a fork. */
static int threads(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	for (int field = 2; field < 20 && p; field++)
		p = strchr(p + 1, ' ');
	return p ? atoi(p + 1) : -1;
}

/* usage: fakepython [fork]; with fork, forks (the child exits at once) and
 * prints the parent's thread count just after, as 3.12's os.fork() does. */
int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "fork")) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		printf("threads %d\n", threads());
		waitpid(pid, NULL, 0);
	}
	void *p = _PyEval_EvalFrameDefault(123457);
	printf("%d\n", p != NULL);
	usleep(100000); /* past a 10 ms promotion age: a BLOCK in the trace */
	free(p);
	return 0;
}
