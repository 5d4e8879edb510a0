/*  rill_key.c: the built-in key extractor (rill_key_first_field), the one keyed operators use
    unless the job gives its own: the record's text up to its first tab. */
#include "rill_record.h"

#include <assert.h>
#include <stddef.h>

int rill_key_first_field(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    assert(in && key && (in->data || in->size == 0));
    //  Keys are short: a plain loop beats a call to memchr here.
    const char *text = in->data;
    size_t size = 0;
    while (size < in->size && text[size] != '\t')
        size++;
    key->data = text;
    key->size = size;
    return 0;
}
