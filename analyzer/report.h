/* The report formats, one file each (report_text.c, report_json.c), all
 * writing from the same analysis; report.c chooses one and handles the
 * command line. A format only writes to the stream it is given: it never
 * opens files (report_pprof.c alone reads the trace again), prints to
 * stderr or decides the exit status.
 */
#ifndef HC_REPORT_H
#define HC_REPORT_H

#include <stdio.h>

#include "analysis.h"

void hc_report_json(FILE *f, struct hc_analysis *a);
void hc_report_text(FILE *f, struct hc_analysis *a, int color);
/* report_html.c: one self-contained HTML page with SVG charts. */
void hc_report_html(FILE *f, struct hc_analysis *a);
/* report_folded.c: retained bytes per stack, or with growth the growth of
 * the tracked sites that grow. Returns 0, or -ENOMEM. */
int hc_report_folded(FILE *f, struct hc_analysis *a, int growth);
/* report_folded.c: the growth (bytes/s) of a site's deepest node, shared by
 * the sites under it in proportion to their live bytes; 0 unless it grows. */
double hc_report_site_growth(const struct hc_model *m, const struct hc_site *s);
/* report_pprof.c: a gzip'd profile.proto. It reads the trace's MODULES
 * records again (for the mappings). Returns 0, or -ENOMEM / -EIO; a write
 * error is left on f. */
int hc_report_pprof(FILE *f, struct hc_analysis *a);
struct hc_json;
/* report_json.c: one frame as a JSON object: with its address, or (by
 * offset, stable across runs for diff) its offset in the module. */
void hc_report_json_frame(struct hc_json *j, const struct hc_frame_out *f, int by_offset);
/* report.c: the stderr line for a trace that is not whole, and the exit
 * status it means (0, or 2 for a corrupt or unreadable trace). */
int hc_report_status(const struct hc_analysis *a, int rc);
/* report_text.c: "function (file:line)" of a node's innermost known frame,
 * or "[unknown] in module+0xOFF". */
void hc_report_where(struct hc_analysis *a, const struct hc_node *n, char *buf, size_t cap);

#endif
