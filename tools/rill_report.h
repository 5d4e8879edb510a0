/*  rill_report.h: `rill run --report FILE`: one self-contained HTML page of a run. */
#ifndef RILL_REPORT_H_INCLUDED
#define RILL_REPORT_H_INCLUDED

#include "rill.h"

#include <stdio.h>

//  Writes the report (both diagrams, the flow diagram with its exchange matrices, the
//  metrics tables) to out, opened for path (named in messages), and closes out. 0, or -1
//  with a message on stderr. failure: why the run failed (NULL when it did not), shown first,
//  in red, so a failed run's report never reads as a success.
//  history (may be NULL): the run over time, drawn as a sparkline per subtask and a timeline.
typedef struct rill_history_t rill_history_t;
int rill_report_write(const rill_metrics_t *metrics, FILE *out, const char *path,
                      const char *failure, const rill_history_t *history);

//  Writes text with the characters HTML reserves escaped (for the report's parts: operator
//  names are the user's, any bytes at all).
void rill_report_escape(FILE *out, const char *text);

#endif
