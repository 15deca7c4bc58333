/* Memory for the shim's own bookkeeping: anonymous mmap, never the traced
 * program's heap, so the collector cannot disturb what it measures and a
 * fork child can drop all of it. Every byte is counted for the trace. */
#ifndef HC_MEM_H
#define HC_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Zeroed pages, rounded up to the page size; NULL on failure. */
void *hc_map(size_t size);
void hc_unmap(void *p, size_t size);
/* Grows (or shrinks) a mapping, keeping its contents; NULL on failure, in
 * which case the old mapping is untouched. */
void *hc_remap(void *p, size_t old_size, size_t new_size);
/* Zeroes a whole mapping of hc_map's: its pages are dropped, so that
 * pages never written cost nothing and written ones are not copied (a fork
 * child's); written over where the kernel will not drop them. */
void hc_map_zero(void *p, size_t size);
/* Bytes mapped through these functions right now. */
uint64_t hc_mapped_bytes(void);

#endif
