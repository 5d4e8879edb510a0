/*  rill_draw.h: file helpers the drawing commands share (plan, viz, trace, run --report). */
#ifndef RILL_DRAW_H_INCLUDED
#define RILL_DRAW_H_INCLUDED

#include "rill.h"

//  Reads a whole file (caller frees); NULL with a message naming `command` on stderr.
char *rill_draw_read_file(const char *path, const char *command);
//  Writes bytes to path ("-" or NULL: stdout). 0, or -1 with a message.
int rill_draw_write(const char *data, size_t size, const char *path, const char *command);
//  A plan from a plan JSON file or a metrics JSON file (its "plan"); NULL with a message.
rill_plan_t *rill_draw_load_plan(const char *path, const char *command);

#endif
