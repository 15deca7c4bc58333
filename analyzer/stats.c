/* Mann-Kendall, Theil-Sen and friends for the growth detector (stats.h).
 * Series are short (tens to a few hundred windows), so the O(n^2) pairwise
 * forms are used as defined, without approximations.
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

double hc_norm_cdf(double z)
{
	return 0.5 * erfc(-z / sqrt(2.0));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double hc_median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Pairwise slopes, sorted; returns how many. */
static size_t pair_slopes(const double *x, const double *y, size_t n, double *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (x[j] != x[i])
				out[k++] = (y[j] - y[i]) / (x[j] - x[i]);
	qsort(out, k, sizeof(*out), cmp_double);
	return k;
}

/* Sen's interval from the sorted slopes and the variance of S. */
static void sen_interval(const double *sorted, size_t k, double var_s, double *lo, double *hi)
{
	double c = 1.959963984540054 * sqrt(var_s);
	double m1 = ((double)k - c) / 2, m2 = ((double)k + c) / 2;
	long i1 = (long)floor(m1), i2 = (long)ceil(m2);
	if (i1 < 0)
		i1 = 0;
	if (i2 > (long)k - 1)
		i2 = (long)k - 1;
	*lo = sorted[i1];
	*hi = sorted[i2];
}

static double mk_variance(const double *y, size_t n, double *sorted)
{
	double var = (double)n * (double)(n - 1) * (double)(2 * n + 5);
	for (size_t i = 0; i < n; i++)
		sorted[i] = y[i];
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	for (size_t i = 0; i < n;) { /* tie groups */
		size_t j = i;
		while (j < n && sorted[j] == sorted[i])
			j++;
		double t = (double)(j - i);
		var -= t * (t - 1) * (2 * t + 5);
		i = j;
	}
	return var / 18.0;
}

int hc_theil_sen(const double *x, const double *y, size_t n, double *scratch, double *slope,
		 double *lo, double *hi)
{
	if (n < 2)
		return -1;
	size_t k = pair_slopes(x, y, n, scratch);
	if (!k)
		return -1;
	*slope = k % 2 ? scratch[k / 2] : (scratch[k / 2 - 1] + scratch[k / 2]) / 2;
	double var = (double)n * (double)(n - 1) * (double)(2 * n + 5) / 18.0;
	sen_interval(scratch, k, var, lo, hi);
	return 0;
}

/* Ranks (ties averaged) of v into r; idx is scratch of n doubles. */
static void ranks(const double *v, size_t n, double *r, double *idx)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = (double)i;
	/* insertion sort of indices by value: n is small */
	for (size_t i = 1; i < n; i++) {
		double t = idx[i];
		size_t j = i;
		while (j > 0 && v[(size_t)idx[j - 1]] > v[(size_t)t]) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = t;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && v[(size_t)idx[j]] == v[(size_t)idx[i]])
			j++;
		double avg = ((double)i + (double)j - 1) / 2 + 1;
		for (size_t k = i; k < j; k++)
			r[(size_t)idx[k]] = avg;
		i = j;
	}
}

int hc_trend_test(const double *x, const double *y, size_t n, double *scratch,
		  struct hc_trend *out)
{
	if (n < 4)
		return -1;
	size_t npairs = n * (n - 1) / 2;
	double *slopes = scratch, *a = scratch + npairs, *b = a + n, *c = b + n;
	out->n = n;

	double s = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			s += (y[j] > y[i]) - (y[j] < y[i]);
	out->s = s;

	size_t k = pair_slopes(x, y, n, slopes);
	out->slope = !k ? 0 : k % 2 ? slopes[k / 2] : (slopes[k / 2 - 1] + slopes[k / 2]) / 2;

	/* Hamed & Rao: autocorrelation of the ranks of the detrended series,
	 * at lags where it is significant, inflates the variance of S. */
	for (size_t i = 0; i < n; i++)
		a[i] = y[i] - out->slope * x[i];
	ranks(a, n, b, c);
	double mean = 0, den = 0;
	for (size_t i = 0; i < n; i++)
		mean += b[i];
	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		den += (b[i] - mean) * (b[i] - mean);
	double sum = 0, bound = 1.959963984540054 / sqrt((double)n);
	for (size_t lag = 1; lag + 2 < n && den > 0; lag++) {
		double num = 0;
		for (size_t i = 0; i + lag < n; i++)
			num += (b[i] - mean) * (b[i + lag] - mean);
		double rho = num / den;
		if (fabs(rho) > bound) {
			double m = (double)(n - lag);
			sum += m * (m - 1) * (m - 2) * rho;
		}
	}
	double ratio = 1 + 2 * sum / ((double)n * (double)(n - 1) * (double)(n - 2));
	out->var_ratio = ratio < 1 ? 1 : ratio;

	double var = mk_variance(y, n, a) * out->var_ratio;
	if (var <= 0) {
		out->z = 0;
		out->p_up = 1;
	} else {
		out->z = s > 0 ? (s - 1) / sqrt(var) : s < 0 ? (s + 1) / sqrt(var) : 0;
		out->p_up = 1 - hc_norm_cdf(out->z);
	}
	if (k)
		sen_interval(slopes, k, var > 0 ? var : 0, &out->slope_lo, &out->slope_hi);
	else
		out->slope_lo = out->slope_hi = 0;
	return 0;
}
