/*  rill_json_check.c: the first error of a JSON reader (rill_json_check.h). */
#include "rill_json_check.h"

#include <stdarg.h>
#include <stdio.h>

int rill_json_check_fail(rill_json_check_t *self, const char *format, ...)
{
    if (self->failed++ || !self->error || !self->error_size)
        return -1;
    int used = snprintf(self->error, self->error_size, "%s: ", self->what);
    if (used >= 0 && (size_t)used < self->error_size) {
        va_list args;
        va_start(args, format);
        vsnprintf(self->error + used, self->error_size - (size_t)used, format, args);
        va_end(args);
    }
    return -1;
}

json_t *rill_json_check_parse(rill_json_check_t *self, const char *text)
{
    if (!text) {
        rill_json_check_fail(self, "no text");
        return NULL;
    }
    json_error_t parse_error;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &parse_error);
    if (!root)
        rill_json_check_fail(self, "line %d, column %d: %s", parse_error.line, parse_error.column,
                             parse_error.text);
    return root;
}
