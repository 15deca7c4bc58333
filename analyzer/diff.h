/* Matching the allocation sites of two analysed runs (diff.c), for `diff`
 * and `gate --baseline`: how each site's growth changed from a base run (the
 * last green soak) to a new one.
 *
 * Invariants callers rely on:
 *  - sites are matched by symbols, never by addresses (ASLR and rebuilds move
 *    those): a node's key is its frames, innermost first, up to its depth,
 *    each as function, source file name (no directory) and line, inlined
 *    frames included; a frame without symbols is its module's file name and
 *    the offset in it;
 *  - nodes of one run with the same key are one site: their growth, interval
 *    and live bytes are added up, their verdict is the highest;
 *  - a key found in one run only is matched once more by its function names
 *    alone (an edit moved the lines) when that looser key belongs to exactly
 *    one site in each run;
 *  - the sites compared are the whole-stack node of every tracked site
 *    (model sites[i].chain[nchain-1]) and every finding, of either run;
 *    every finding of the new run has its site (hc_diff_find).
 */
#ifndef HC_DIFF_H
#define HC_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "analysis.h"

/* Worst first: the order of the text report's classes. */
enum { HC_CHANGE_NEW, HC_CHANGE_FASTER, HC_CHANGE_SAME, HC_CHANGE_SLOWER, HC_CHANGE_FIXED,
       HC_CHANGE_COUNT };
/* How a site was found in both runs: not at all, by its whole key, or by
 * its function names alone. */
enum { HC_MATCH_NONE, HC_MATCH_SYMBOLS, HC_MATCH_FUNCTIONS };

/* A site as one run sees it (sums over its nodes with the key). */
struct hc_diff_side {
	uint32_t node;        /* the node shown (the highest verdict, then the
				 fastest); 0: the site is not in this run */
	uint32_t nodes;       /* nodes with the key */
	int verdict;          /* HC_VERDICT_* */
	double slope, slope_lo, slope_hi; /* growth and its 95% interval, bytes/s */
	double live_end;      /* live bytes when the analysed run ends */
};

struct hc_diff_site {
	uint32_t depth;       /* frames in the key */
	int match;            /* HC_MATCH_* */
	struct hc_diff_side base, now;
	int change;           /* HC_CHANGE_*, growing meaning a LEAK verdict */
	double growth_change; /* now.slope - base.slope (an absent side is 0) */
	double live_change;   /* now.live_end - base.live_end */
};

struct hc_diff {
	struct hc_diff_site *sites; /* worst first: by growth_change, then live_change */
	size_t nsites;
	size_t count[HC_CHANGE_COUNT];
	double min_change;    /* budget / horizon: a smaller change in growth is noise */
	uint32_t *site_of_now; /* per node of the new run: index in sites + 1, or 0 */
	size_t nnow;
};

/* Opens and analyses one trace to compare: 0, or HC_EXIT_USAGE after the
 * error line (unreadable, or corrupt: naming the byte offset). A truncated
 * or incomplete trace is compared after a warning, as `report` does; one too
 * short to judge, after a line saying none of its sites counts as growing. */
int hc_diff_open(struct hc_analysis *a, const char *path, const struct hc_detect_opts *o);

/* Compares two analysed runs (both built). Returns 0 or -ENOMEM. */
int hc_diff_build(struct hc_diff *d, struct hc_analysis *base, struct hc_analysis *now);
void hc_diff_release(struct hc_diff *d);

/* The site of a node of the new run: always one for a finding, NULL for a
 * node that is neither a finding nor a site's whole stack. */
const struct hc_diff_site *hc_diff_find(const struct hc_diff *d, uint32_t now_node);

/* The change of one site when growing means a verdict of at least grows_at
 * (HC_VERDICT_LEAK; HC_VERDICT_INCONCLUSIVE for gate --strict):
 *   new     grows now; in the base absent, or no rule fired;
 *   faster  grows now, and faster than in the base: beyond both 95%
 *           intervals, by more than half the base's growth and by more than
 *           min_change;
 *   fixed   grew in the base; now no rule fires;
 *   slower  the same test the other way;
 *   same    anything else (a site that grows in neither run, too). */
int hc_diff_classify(const struct hc_diff_site *s, int grows_at, double min_change);
const char *hc_change_name(int change);

#endif
