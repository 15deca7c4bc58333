/* A plugin that tests/programs/deepbind opens with RTLD_DEEPBIND: its calls
 * to malloc, calloc, realloc, free, mmap and munmap bind to libc's past any
 * preloaded interposer unless that interposer points them back. Blocks
 * cross between it and the program both ways. Built without -z now: its
 * PLT slots are bound lazily. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *deep_kept[3];

/* made here, freed by the program */
char *deep_make(size_t n)
{
	char *p = malloc(n);
	memset(p, 1, n);
	return p;
}

/* made by the program, freed here */
void deep_take(void *p)
{
	free(p);
}

/* kept here: the plugin's leak */
void deep_keep(int i, size_t n)
{
	deep_kept[i] = calloc(1, n);
}

/* a block of the program's, grown here */
void *deep_grow(void *p, size_t n)
{
	return realloc(p, n);
}

void *deep_map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int deep_unmap(void *p, size_t n)
{
	return munmap(p, n);
}

/* the address of malloc as the plugin sees it, against the program's */
void *deep_malloc_addr(void)
{
	return (void *)malloc;
}
