/* A deep-bound plugin with an allocator of its own: its malloc and free
 * serve a static buffer. With RTLD_DEEPBIND its own calls bind to them, and
 * must go on doing so under the shim (pointed at libc's, its free would be
 * handed blocks libc never made). */
#include <stddef.h>
#include <stdint.h>

static _Alignas(16) unsigned char pool[1 << 16];
static size_t used;

void *malloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (used + n > sizeof pool)
		return NULL;
	used += n;
	return pool + used - n;
}

void free(void *p)
{
	(void)p; /* a bump pool gives nothing back */
}

/* 1 when this plugin's malloc and free are the ones its code reaches */
int deep_own_roundtrip(void)
{
	unsigned char *p = malloc(100);
	int mine = p >= pool && p < pool + sizeof pool;
	free(p);
	return mine;
}
