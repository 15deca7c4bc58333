/* Human-readable numbers (format.h). Binary units, one decimal below 100,
 * none above: "4.0 MiB", "812 KiB", "1.5 h". */
#include "format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

char *hc_fmt_bytes(char *buf, size_t cap, double bytes)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = fabs(bytes);
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	const char *sign = bytes < 0 ? "-" : "";
	if (u == 0)
		snprintf(buf, cap, "%s%.0f B", sign, v);
	else
		snprintf(buf, cap, v < 100 ? "%s%.1f %s" : "%s%.0f %s", sign, v, unit[u]);
	return buf;
}

char *hc_fmt_rate(char *buf, size_t cap, double bps)
{
	hc_fmt_bytes(buf, cap > 2 ? cap - 2 : cap, bps);
	size_t n = strlen(buf);
	if (n + 3 <= cap)
		memcpy(buf + n, "/s", 3);
	return buf;
}

char *hc_fmt_duration(char *buf, size_t cap, double s)
{
	if (!isfinite(s))
		snprintf(buf, cap, "never");
	else if (s < 120)
		snprintf(buf, cap, "%.1f s", s);
	else if (s < 7200)
		snprintf(buf, cap, "%.1f min", s / 60);
	else if (s < 172800)
		snprintf(buf, cap, "%.1f h", s / 3600);
	else
		snprintf(buf, cap, "%.1f d", s / 86400);
	return buf;
}

/* CPU seconds: two decimals below two minutes (a collector's share of a
 * short run is a fraction of a second), then as durations. */
static char *cpu_seconds(char *buf, size_t cap, double s)
{
	if (s < 120)
		snprintf(buf, cap, "%.2f s", s);
	else
		hc_fmt_duration(buf, cap, s);
	return buf;
}

char *hc_fmt_cpu_share(char *buf, size_t cap, uint64_t part_ns, uint64_t whole_ns)
{
	char a[32], b[32];
	cpu_seconds(a, sizeof(a), (double)part_ns / 1e9);
	if (!whole_ns) {
		snprintf(buf, cap, "%s of CPU", a);
		return buf;
	}
	double pct = 100.0 * (double)part_ns / (double)whole_ns;
	snprintf(buf, cap, "%s of CPU, %.*f%% of the process's %s", a, pct < 10 ? 1 : 0, pct,
		 cpu_seconds(b, sizeof(b), (double)whole_ns / 1e9));
	return buf;
}

char *hc_fmt_sparkline(char *buf, size_t cap, const double *v, size_t n)
{
	static const char *const bars[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	double max = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	size_t k = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && k + 4 < cap; i++) {
		int level = max > 0 ? (int)floor(v[i] / max * 7.999) : 0;
		if (level < 0)
			level = 0;
		memcpy(buf + k, bars[level], 3);
		k += 3;
		buf[k] = '\0';
	}
	return buf;
}

const char *hc_short_path(const char *path)
{
	const char *p = path + strlen(path);
	int slashes = 0;
	while (p > path && slashes < 2)
		if (*--p == '/')
			slashes++;
	return slashes == 2 ? p + 1 : path;
}
