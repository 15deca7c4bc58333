/* The bootstrap arena: while hc_resolve() looks up the next allocator with
 * dlsym, dlsym itself calls calloc (for its error buffer), before any real
 * allocator is known. Those few requests are served from this static buffer;
 * free() recognises its pointers and ignores them, realloc() copies out.
 * Bounded by design: dlsym needs well under a kilobyte. */
#include <stdatomic.h>
#include <stdint.h>

#include "internal.h"

_Alignas(64) unsigned char hc_boot_arena[HC_BOOT_SIZE];
static _Atomic size_t used;

void *hc_boot_alloc(size_t size, size_t align)
{
	if (align < 16)
		align = 16;
	if (size > HC_BOOT_SIZE || (align & (align - 1)) || align > 4096)
		return NULL;
	for (;;) {
		size_t off = atomic_load_explicit(&used, memory_order_relaxed);
		/* 16 bytes before each block hold its size for realloc and
		 * malloc_usable_size. */
		size_t start = (off + 16 + align - 1) & ~(align - 1);
		size_t end = start + size;
		if (end > HC_BOOT_SIZE)
			return NULL;
		if (atomic_compare_exchange_weak_explicit(&used, &off, end, memory_order_relaxed,
							  memory_order_relaxed)) {
			*(size_t *)(hc_boot_arena + start - 16) = size;
			return hc_boot_arena + start; /* static storage: already zero */
		}
	}
}

size_t hc_boot_size(const void *p)
{
	return *(const size_t *)((const unsigned char *)p - 16);
}
