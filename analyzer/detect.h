/* Growth detection (DESIGN §5): per calling-context node, two rules, both
 * required for LEAK:
 *  R1: the floor of aged live bytes keeps rising: Mann-Kendall (corrected
 *      for autocorrelation, then for the number of nodes tested) on the
 *      window minima after warm-up, over the last 100%, 2/3, 1/2, 1/3 of the
 *      windows; the Theil-Sen slope's lower bound × horizon reaches the
 *      budget, and the late half grows at least half as fast as the early
 *      half (not a plateau being approached);
 *  R2: late cohorts stay retained: of the bytes allocated after warm-up and
 *      before end − A, those still live at the end, as a rate less two
 *      standard errors, × horizon reach the budget, and the later half of
 *      the cohorts retains at least half as much as the earlier half.
 * One rule alone: INCONCLUSIVE, with the reason. Too short a trace:
 * INCONCLUSIVE. Findings are attributed to the deepest node that fires.
 */
#ifndef HC_DETECT_H
#define HC_DETECT_H

#include "model.h"

enum { HC_VERDICT_NONE = 0, HC_VERDICT_INCONCLUSIVE = 1, HC_VERDICT_LEAK = 2 };

#define HC_DEFAULT_BUDGET (64.0 * 1024 * 1024)
#define HC_DEFAULT_HORIZON (24.0 * 3600)

struct hc_detect_opts {
	double budget;        /* bytes */
	double horizon_s;
	double limit;         /* bytes; 0: the cgroup limit from the trace, if any */
	double fdr;           /* false discovery rate across nodes (R1) */
};

struct hc_detect {
	int verdict;          /* overall */
	/* why, when the whole trace is inconclusive; with inconclusive
	 * findings, growth outside the traced heap, if any */
	char reason[512];
	double warmup_s;      /* windows before this are warm-up */
	uint32_t *findings;   /* reported nodes, fastest growth first */
	size_t nfindings;
	uint32_t *others;     /* other sites worth showing (largest at the end) */
	size_t nothers;
	int too_short;        /* too few windows to judge any growth */
	/* time to limit */
	double limit;         /* 0: none */
	int ttl_known;        /* 1: a time was estimated */
	double ttl_s, ttl_lo_s, ttl_hi_s; /* since the trace's start; hi may be INFINITY */
	double heap_slope;    /* bytes/s of the heap's trough trend */
	double swing, overhead;
};

void hc_detect_defaults(struct hc_detect_opts *o);
int hc_detect_run(struct hc_model *m, const struct hc_detect_opts *o, struct hc_detect *d);
void hc_detect_release(struct hc_detect *d);
const char *hc_verdict_name(int verdict);

#endif
