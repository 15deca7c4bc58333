/* Unit tests of the collector's anonymous mappings (preload/mapped.c) over
 * the heap model: hand-written cases (cuts, holes, remaps, calls out of
 * order, ranges never traced), then a random simulation checked page by
 * page against a ground truth: maps over live ones, unmaps and remaps of
 * any range, calls applied at once or a round late, unmaps published after
 * calls that came later. Replay one seed:
 * test-mapped SEED.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "mapped.h"
#include "tap.h"

#define PAGE 4096u
#define BASE 0x7f0000000000ull

static struct hc_heap h;
static struct hc_mapped m;
static uint32_t site[8];

static void setup(void)
{
	hc_heap_init(&h, 0);
	hc_mapped_init(&m, PAGE);
	for (int i = 1; i < 8; i++) {
		int created;
		site[i] = hc_heap_intern(&h, 0x1000u + (uint64_t)i, &created);
	}
}

static void teardown(void)
{
	hc_mapped_release(&m);
	hc_heap_release(&h);
}

static uint64_t pg(uint64_t n)
{
	return BASE + n * PAGE;
}

static int64_t live(int s)
{
	return h.sites[site[s]].live_bytes;
}

static int64_t blocks(int s)
{
	return h.sites[site[s]].live_blocks;
}

static void hand_cases(void)
{
	setup();
	hc_mapped_map(&m, &h, pg(0), 16 * PAGE, 1, site[1]);
	hc_mapped_unmap(&m, &h, pg(0), 4 * PAGE, 2, 1);
	hc_mapped_unmap(&m, &h, pg(12), 4 * PAGE, 3, 1);
	is_int(live(1), 8 * PAGE, "both ends cut: the middle is left");
	is_int(blocks(1), 1, "as one block");
	hc_mapped_unmap(&m, &h, pg(6), 2 * PAGE, 4, 1);
	is_int(live(1), 6 * PAGE, "a hole cut in it");
	is_int(blocks(1), 2, "leaves two blocks");
	is_u64(hc_mapped_count(&m), 2, "two ranges");
	hc_mapped_unmap(&m, &h, pg(100), 4 * PAGE, 5, 1);
	hc_mapped_unmap(&m, &h, pg(0), 64 * PAGE, 6, 1);
	is_int(live(1), 0, "one unmap over all of it ends both blocks");
	is_u64(h.unknown_frees, 0, "an unmap of memory never traced is no unknown free");
	is_u64(h.total_frees, 5, "every block that ended was freed once");
	teardown();

	setup();
	hc_mapped_map(&m, &h, pg(0), 5000, 1, site[1]);
	is_int(live(1), 2 * PAGE, "5000 bytes map two pages");
	hc_mapped_map(&m, &h, pg(10), 0, 2, site[1]);
	is_int(blocks(1), 1, "a mapping of no length is none");
	hc_mapped_remap(&m, &h, pg(0), 2 * PAGE, pg(20), 8 * PAGE, 3, 4, site[2], 1);
	is_int(live(1), 0, "a remap ends the old range");
	is_int(live(2), 8 * PAGE, "and maps the new one at the remap's site");
	hc_mapped_remap(&m, &h, pg(40), 2 * PAGE, pg(50), 8 * PAGE, 5, 6, site[3], 1);
	is_int(live(3), 0, "a remap of a range never traced maps nothing");
	hc_mapped_remap(&m, &h, pg(20), 8 * PAGE, pg(20), 4 * PAGE, 7, 8, site[3], 1);
	is_int(live(2) + live(3), 4 * PAGE, "shrunk in place: what is left");
	is_int(live(3), 4 * PAGE, "belongs to the remap");
	teardown();

	setup();
	/* A mapping over a live one (MAP_FIXED, or its unmap on its way). */
	hc_mapped_map(&m, &h, pg(0), 8 * PAGE, 1, site[1]);
	hc_mapped_map(&m, &h, pg(4), 8 * PAGE, 3, site[2]);
	is_int(live(1), 4 * PAGE, "a mapping over a live one ends what it covers");
	is_int(live(2), 8 * PAGE, "and is itself whole");
	hc_mapped_unmap(&m, &h, pg(0), 12 * PAGE, 2, 1);
	is_int(live(1), 0, "a late unmap ends the older mapping's piece");
	is_int(live(2), 8 * PAGE, "never the newer mapping");
	hc_mapped_map(&m, &h, pg(6), 2 * PAGE, 1, site[3]);
	is_int(live(3), 0, "a mapping older than a live one over it never lived on");
	is_u64(h.dropped, 1, "counted");
	teardown();

	setup();
	/* A remap waiting a round, then an unmap the merge allows at once. */
	hc_mapped_map(&m, &h, pg(0), 4 * PAGE, 1, site[1]);
	hc_mapped_remap(&m, &h, pg(0), 4 * PAGE, pg(10), 8 * PAGE, 2, 3, site[2], 0);
	hc_mapped_unmap(&m, &h, pg(10), 8 * PAGE, 4, 1);
	hc_mapped_map(&m, &h, pg(30), 1 * PAGE, 5, site[3]);
	is_int(live(1), 4 * PAGE, "a waiting remap is not applied yet");
	is_int(live(3), 0, "nor what came after it");
	hc_mapped_round(&m, &h);
	is_int(live(1), 4 * PAGE, "not at the end of its own round");
	hc_mapped_round(&m, &h);
	is_int(live(1) + live(2), 0, "the next round: the remap, then the unmap of its new range");
	is_int(live(3), PAGE, "and the mapping after them");
	is_u64(h.dropped, 0, "nothing dropped");
	teardown();
}

/* --- the simulation ------------------------------------------------------ */

#define NPAGES 512

static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}
static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

/* The truth: per page the site of the traced block there (0: none) and the
 * block's identity (a cut leaves new blocks). */
static int owner[NPAGES];
static uint64_t ident[NPAGES], next_ident;

static void truth_unmap(unsigned lo, unsigned hi)
{
	uint64_t cut[NPAGES];
	unsigned ncut = 0;
	for (unsigned p = lo; p < hi; p++) {
		if (owner[p] && (ncut == 0 || cut[ncut - 1] != ident[p]))
			cut[ncut++] = ident[p]; /* a block's pages are contiguous */
		owner[p] = 0;
		ident[p] = 0;
	}
	for (unsigned i = 0; i < ncut; i++) {
		uint64_t head = ++next_ident, tail = ++next_ident;
		for (unsigned p = 0; p < NPAGES; p++)
			if (owner[p] && ident[p] == cut[i])
				ident[p] = p < lo ? head : tail;
	}
}

static void truth_map(unsigned lo, unsigned hi, int s)
{
	truth_unmap(lo, hi);
	uint64_t id = ++next_ident;
	for (unsigned p = lo; p < hi; p++) {
		owner[p] = s;
		ident[p] = id;
	}
}

static int check(const char *when, uint64_t seed)
{
	int64_t bytes[8] = {0}, nblocks[8] = {0};
	for (unsigned p = 0; p < NPAGES; p++) {
		if (!owner[p])
			continue;
		bytes[owner[p]] += PAGE;
		if (p == 0 || owner[p - 1] != owner[p] || ident[p - 1] != ident[p])
			nblocks[owner[p]]++;
	}
	for (int s = 1; s < 8; s++) {
		if (live(s) != bytes[s] || blocks(s) != nblocks[s]) {
			diag("seed %" PRIu64 " %s: site %d has %" PRId64 " bytes in %" PRId64
			     " blocks, the truth %" PRId64 " in %" PRId64,
			     seed, when, s, live(s), blocks(s), bytes[s], nblocks[s]);
			return 0;
		}
	}
	return h.dropped == 0 && h.unknown_frees == 0;
}

static int simulate(uint64_t seed)
{
	rng = seed * 0x9e3779b97f4a7c15ull | 1;
	memset(owner, 0, sizeof(owner));
	memset(ident, 0, sizeof(ident));
	setup();
	uint64_t ts = 1;
	int good = 1;
	/* Unmaps published after later calls (a thread that unmapped, then
	 * was preempted before its event was out, while another mapped the
	 * range again): applied late, only to what was mapped before them. */
	struct held {
		unsigned lo, hi;
		uint64_t ts;
		int after;
	} held[8];
	int nheld = 0;
	for (int op = 0; op < 4000 && good; op++) {
		unsigned lo = (unsigned)below(NPAGES - 1), len = 1 + (unsigned)below(24);
		unsigned hi = lo + len > NPAGES ? NPAGES : lo + len;
		int now = below(10) >= 3;
		switch (below(5)) {
		case 0:
		case 1: { /* a mapping, over whatever is there */
			int s = 1 + (int)below(7);
			hc_mapped_map(&m, &h, pg(lo), (uint64_t)(hi - lo) * PAGE - below(PAGE), ts++,
				      site[s]);
			truth_map(lo, hi, s);
			break;
		}
		case 2: /* an unmap of any range, published at once or a few calls late */
			if (nheld < 8 && below(3) == 0)
				held[nheld++] = (struct held){lo, hi, ts++, 1 + (int)below(4)};
			else
				hc_mapped_unmap(&m, &h, pg(lo), (uint64_t)(hi - lo) * PAGE, ts++, now);
			truth_unmap(lo, hi);
			break;
		case 3: { /* MAP_FIXED of something not traced: its unmap */
			hc_mapped_unmap(&m, &h, pg(lo), (uint64_t)(hi - lo) * PAGE, ts++, now);
			truth_unmap(lo, hi);
			break;
		}
		default: { /* a remap of part of one block to a free range */
			unsigned p = (unsigned)below(NPAGES);
			if (!owner[p])
				break;
			unsigned a = p, b = p + 1;
			while (a > 0 && owner[a - 1] && ident[a - 1] == ident[p] && below(4))
				a--;
			while (b < NPAGES && owner[b] && ident[b] == ident[p] && below(4))
				b++;
			unsigned nlen = 1 + (unsigned)below(16), nlo = (unsigned)below(NPAGES - nlen);
			int free_range = 1;
			for (unsigned q = nlo; q < nlo + nlen; q++)
				free_range &= !owner[q] || (q >= a && q < b);
			if (!free_range)
				break;
			int s = 1 + (int)below(7);
			uint64_t ts_free = ts++;
			hc_mapped_remap(&m, &h, pg(a), (uint64_t)(b - a) * PAGE, pg(nlo),
					(uint64_t)nlen * PAGE, ts_free, ts++, site[s], now);
			truth_unmap(a, b);
			truth_map(nlo, nlo + nlen, s);
			break;
		}
		}
		for (int i = 0; i < nheld; i++) {
			if (--held[i].after > 0)
				continue;
			hc_mapped_unmap(&m, &h, pg(held[i].lo), (uint64_t)(held[i].hi - held[i].lo) * PAGE,
					held[i].ts, below(2));
			held[i--] = held[--nheld];
		}
		if (below(5) == 0)
			hc_mapped_round(&m, &h);
		if (below(200) == 0 && !nheld) {
			hc_mapped_settle(&m, &h);
			good = check("mid-run", seed);
		}
	}
	for (int i = 0; i < nheld; i++)
		hc_mapped_unmap(&m, &h, pg(held[i].lo), (uint64_t)(held[i].hi - held[i].lo) * PAGE,
				held[i].ts, 1);
	hc_mapped_settle(&m, &h);
	good = good && check("at the end", seed);
	int64_t total = 0;
	for (unsigned p = 0; p < NPAGES; p++)
		total += owner[p] ? PAGE : 0;
	good = good && (int64_t)hc_mapped_live_bytes(&m) == total && h.live_bytes == total;
	teardown();
	return good;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		int good = simulate(strtoull(argv[1], NULL, 10));
		ok(good, "seed %s", argv[1]);
		return done_testing();
	}
	hand_cases();
	int bad = 0;
	for (uint64_t seed = 1; seed <= 300; seed++)
		bad += !simulate(seed);
	is_int(bad, 0, "300 random runs of 4000 calls: every site's bytes and blocks as the truth");
	return done_testing();
}
