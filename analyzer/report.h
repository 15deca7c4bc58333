/* The report formats, one file each (report_text.c, report_json.c), all
 * writing from the same summary; report.c chooses one and handles the
 * command line. A format only writes to the stream it is given: it never
 * opens files, prints to stderr or decides the exit status.
 */
#ifndef HC_REPORT_H
#define HC_REPORT_H

#include <stdio.h>

#include "summary.h"

/* path: the trace as the user named it. */
void hc_report_json(FILE *f, const struct hc_summary *s, const char *path);
void hc_report_text(FILE *f, const struct hc_summary *s, const char *path);

#endif
