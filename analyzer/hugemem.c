/* Zeroed memory on transparent huge pages for big tables, and a pool of
 * equal objects on such slabs (hugemem.h). Only the analyzer uses it; it
 * never fails where calloc would not. */
#include "hugemem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE (2u << 20)

static size_t round_huge(size_t n)
{
	return (n + HUGE - 1) & ~(size_t)(HUGE - 1);
}

void *hc_huge_zalloc(size_t n)
{
	if (n < HUGE)
		return calloc(1, n ? n : 1);
	size_t len = round_huge(n);
	if (len < n)
		return NULL;
	/* Map a huge page more than needed and trim it to 2 MiB alignment. */
	uint8_t *m = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)m + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	if (p > m)
		munmap(m, (size_t)(p - m));
	if (m + len + HUGE > p + len)
		munmap(p + len, (size_t)(m + len + HUGE - (p + len)));
#ifdef MADV_HUGEPAGE
	madvise(p, len, MADV_HUGEPAGE); /* advice only: small pages if refused */
#endif
	return p;
}

void hc_huge_free(void *p, size_t n)
{
	if (!p)
		return;
	if (n < HUGE)
		free(p);
	else
		munmap(p, round_huge(n));
}

void hc_pool_init(struct hc_pool *p, size_t obj)
{
	memset(p, 0, sizeof(*p));
	p->obj = (obj + 15) & ~(size_t)15;
	p->per_slab = HUGE / p->obj ? HUGE / p->obj : 1;
}

void *hc_pool_zalloc(struct hc_pool *p)
{
	if (p->free_list) {
		void *o = p->free_list;
		memcpy(&p->free_list, o, sizeof(void *));
		memset(o, 0, p->obj);
		return o;
	}
	if (!p->left) {
		if (p->nslabs == p->slabs_cap) {
			size_t n = p->slabs_cap ? p->slabs_cap * 2 : 16;
			void **s = realloc(p->slabs, n * sizeof(*s));
			if (!s)
				return NULL;
			p->slabs = s;
			p->slabs_cap = n;
		}
		void *slab = hc_huge_zalloc(p->per_slab * p->obj > HUGE ? p->per_slab * p->obj : HUGE);
		if (!slab)
			return NULL;
		p->slabs[p->nslabs++] = slab;
		p->next = slab;
		p->left = p->per_slab;
	}
	void *o = p->next;
	p->next = (uint8_t *)o + p->obj;
	p->left--;
	return o; /* fresh from mmap: zero */
}

void hc_pool_free(struct hc_pool *p, void *o)
{
	if (!o)
		return;
	memcpy(o, &p->free_list, sizeof(void *));
	p->free_list = o;
}

void hc_pool_release(struct hc_pool *p)
{
	size_t slab = p->per_slab * p->obj > HUGE ? p->per_slab * p->obj : HUGE;
	for (size_t i = 0; i < p->nslabs; i++)
		hc_huge_free(p->slabs[i], slab);
	free(p->slabs);
	memset(p, 0, sizeof(*p));
}
