/*  rill_window_evict.c: evictors (Flink's CountEvictor, TimeEvictor and user evictors). An
    evictor runs when a window fires, before its function or after it, and what it takes out is
    gone from the window; the survivors keep their order. */
#include "rill_window_private.h"

#include <assert.h>
#include <stdlib.h>

//  Keeps the records not marked, in order, at the front.
static void s_compact(rill_record_t *records, size_t *count, const bool *evict)
{
    size_t kept = 0;
    for (size_t i = 0; i < *count; i++)
        if (!evict[i])
            records[kept++] = records[i];
    *count = kept;
}

int rill_window_evict(rill_operator_t *self, const rill_window_bounds_t *window,
                      rill_record_t *records, size_t *count, bool before)
{
    assert(self && window && count && (records || *count == 0));
    const rill_evictor_t *evictor = &self->spec->window.evictor;
    switch (evictor->kind) {
    case RILL_EVICTOR_COUNT:
        //  Flink's CountEvictor: the first records go until `count` are left.
        if (before != evictor->after && *count > (size_t)evictor->count) {
            size_t drop = *count - (size_t)evictor->count;
            for (size_t i = 0; i < (size_t)evictor->count; i++)
                records[i] = records[i + drop];
            *count = (size_t)evictor->count;
        }
        return 0;
    case RILL_EVICTOR_TIME: {
        //  Flink's TimeEvictor: with the newest timestamp as now, records at or before
        //  now - keep_ms go; a window whose records carry no timestamp keeps them all.
        if (before == evictor->after)
            return 0;
        int64_t newest = RILL_NO_TIMESTAMP;
        for (size_t i = 0; i < *count; i++)
            if (records[i].timestamp > newest)
                newest = records[i].timestamp;
        if (newest == RILL_NO_TIMESTAMP)
            return 0;
        int64_t cutoff = newest - evictor->keep_ms;
        size_t kept = 0;
        for (size_t i = 0; i < *count; i++)
            if (records[i].timestamp == RILL_NO_TIMESTAMP || records[i].timestamp > cutoff)
                records[kept++] = records[i];
        *count = kept;
        return 0;
    }
    case RILL_EVICTOR_CUSTOM: {
        if (*count == 0)
            return 0;
        bool *evict = calloc(*count, sizeof(bool));
        if (!evict)
            return rill_window_fail(self, "out of memory for an evictor");
        bool timed = rill_busy_split_user_begin(self->busy_split);
        int rc = evictor->evict(records, *count, window, before, evict, evictor->ctx);
        rill_busy_split_user_end(self->busy_split, timed);
        if (rc == 0)
            s_compact(records, count, evict);
        free(evict);
        return rc ? rill_window_fail(self, "evictor failed") : 0;
    }
    default: return 0;
    }
}
