/* Trend statistics for the growth detector: the Mann-Kendall trend test with
 * its variance corrected for autocorrelation (Hamed & Rao 1998), the
 * Theil-Sen slope with its distribution-free confidence interval (Sen 1968),
 * and the normal distribution they need. Pure functions on small arrays
 * (a series has at most a few hundred windows); no allocation beyond the
 * caller's scratch.
 */
#ifndef HC_STATS_H
#define HC_STATS_H

#include <stddef.h>

struct hc_trend {
	double s;          /* Mann-Kendall S */
	double z;          /* standardised S, continuity-corrected */
	double p_up;       /* one-sided p-value of "no upward trend" */
	double var_ratio;  /* n/n*: variance inflation from autocorrelation (>= 1) */
	double slope;      /* Theil-Sen slope, units of y per unit of x */
	double slope_lo;   /* 95% confidence interval of the slope */
	double slope_hi;
	size_t n;
};

/* Standard normal CDF. */
double hc_norm_cdf(double z);

/* Theil-Sen slope of (x[i], y[i]), with its two-sided 95% interval. scratch
 * must hold n*(n-1)/2 doubles. Returns 0, or -1 when n < 2. */
int hc_theil_sen(const double *x, const double *y, size_t n, double *scratch, double *slope,
		 double *lo, double *hi);

/* Mann-Kendall test for an upward trend in y (x gives the spacing for the
 * slope), variance corrected for the autocorrelation of the detrended
 * series' ranks at significant lags. scratch must hold n*(n-1)/2 + 3n
 * doubles. Returns 0, or -1 when n < 4. */
int hc_trend_test(const double *x, const double *y, size_t n, double *scratch,
		  struct hc_trend *out);

/* Median of v (reordered in place). */
double hc_median(double *v, size_t n);

#endif
