/*  rill_json_check.h: the first error of a JSON reader (internal). The plan reader
    (rill_plan_export.c) and the metrics reader (rill_metrics_json.c) check every member of a
    document and stop at the first one that is wrong; this parses the text and keeps that message,
   prefixed with what was being read ("plan JSON: ...", "metrics JSON: ..."), for the caller's
   buffer. */
#ifndef RILL_JSON_CHECK_H_INCLUDED
#define RILL_JSON_CHECK_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

typedef struct {
    const char *what; //  the prefix, e.g. "plan JSON"
    char *error;      //  the caller's buffer (may be NULL)
    size_t error_size;
    int failed; //  how many failures so far; only the first is kept
} rill_json_check_t;

//  Keeps the first message ("WHAT: " + the formatted text) and returns -1, so that a reader
//  can `return rill_json_check_fail(...)`.
int rill_json_check_fail(rill_json_check_t *self, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

//  Parses text as one JSON document, refusing duplicate members (a second value would
//  silently win). The root (the caller decrefs it), or NULL with the parser's line, column
//  and message kept; NULL text is an error too.
json_t *rill_json_check_parse(rill_json_check_t *self, const char *text);

#endif
