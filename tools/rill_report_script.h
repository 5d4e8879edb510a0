/*  rill_report_script.h: the report's style sheet and script (rill_report_script.c), inline
    in the page rill_report_write makes. */
#ifndef RILL_REPORT_SCRIPT_H_INCLUDED
#define RILL_REPORT_SCRIPT_H_INCLUDED

#include "rill.h"

#include <stdio.h>

//  The page's CSS (for a <style> element), static text.
const char *rill_report_style(void);

//  Writes, at the end of the page's body, the counters the script shows (a JSON element,
//  id "rill-data": per subtask its name, task, records, busy and backpressured shares and
//  watermark; per channel its ends, pattern, records, bytes and batches) and the script:
//  sortable tables, pan and zoom on the diagrams, hover cards, and the self-checks.
void rill_report_script_write(FILE *out, const rill_metrics_t *metrics);

#endif
