/* Memory for the analyzer's big random-access tables (the live-block map of
 * pass 3), on transparent huge pages where the kernel offers them
 * (madvise mode): a trace's FREE records land all over hundreds of MB, and
 * with 4 KiB pages nearly each one also misses the TLB.
 *
 *  - hc_huge_zalloc(n): n zeroed bytes; from mmap, 2 MiB-aligned and
 *    advised MADV_HUGEPAGE when n is 2 MiB or more, else from calloc.
 *    hc_huge_free must be given the same n.
 *  - struct hc_pool: zeroed objects of one size carved from 2 MiB slabs;
 *    freed objects are reused, slabs go back only at hc_pool_release, so
 *    memory is bounded by the most objects held at once.
 * Without THP (or where madvise fails) the memory is the same, on small pages.
 */
#ifndef HC_HUGEMEM_H
#define HC_HUGEMEM_H

#include <stddef.h>

void *hc_huge_zalloc(size_t n);
void hc_huge_free(void *p, size_t n);

struct hc_pool {
	size_t obj;      /* object size, a multiple of 16 */
	size_t per_slab; /* objects per slab */
	void **slabs;
	size_t nslabs, slabs_cap;
	void *free_list; /* freed objects, linked through their first word */
	void *next;      /* the next never-used object of the last slab */
	size_t left;     /* how many of those are left */
};

void hc_pool_init(struct hc_pool *p, size_t obj);
void *hc_pool_zalloc(struct hc_pool *p);
void hc_pool_free(struct hc_pool *p, void *o);
void hc_pool_release(struct hc_pool *p);

#endif
