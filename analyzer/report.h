/* The report formats, one file each (report_text.c, report_json.c), all
 * writing from the same analysis; report.c chooses one and handles the
 * command line. A format only writes to the stream it is given: it never
 * opens files, prints to stderr or decides the exit status.
 */
#ifndef HC_REPORT_H
#define HC_REPORT_H

#include <stdio.h>

#include "analysis.h"

void hc_report_json(FILE *f, struct hc_analysis *a);
void hc_report_text(FILE *f, struct hc_analysis *a, int color);
/* report.c: the stderr line for a trace that is not whole, and the exit
 * status it means (0, or 2 for a corrupt or unreadable trace). */
int hc_report_status(const struct hc_analysis *a, int rc);
/* report_text.c: "function (file:line)" of a node's innermost known frame,
 * or "[unknown] in module+0xOFF". */
void hc_report_where(struct hc_analysis *a, const struct hc_node *n, char *buf, size_t cap);

#endif
