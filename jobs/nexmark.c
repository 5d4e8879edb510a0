/*  nexmark.c: the Nexmark benchmark's queries (Tucker et al.; as Beam and Flink run them) over
    the generator of nexmark_gen.h, as one bundled job: `rill run nexmark -- --query Q`. The
    generator is a rill generator source (event n made by subtask n % p, checkpointed by its
    index), its events carry their event time and watermarks follow the generator's clock.
    Each query reads the event kinds it needs, computes as Flink's nexmark SQL says (README:
    Nexmark, for where we differ), and one sink subtask writes a header and CSV lines. */
#include "nexmark_gen.h"
#include "rill_job_csv.h"
#include <rill/rill.h>

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *rill_job_describe(void)
{
    return "the Nexmark benchmark's queries over its generator: -- --query Q [--events N] "
           "[--rate R] [--output FILE]";
}

typedef struct {
    int query;
    uint64_t seed;
    int64_t event_rate; //  events per second of event time
    double rate;        //  events per second of wall time (0: as fast as possible)
    uint64_t events;    //  RILL_UNBOUNDED: never ends
    rill_job_output_t output;
    char *header[2];
    char header_text[256];
    bool discard; //  results into a discard sink, at the query's parallelism (benchmarks)
} s_job_t;

static s_job_t *s_job;

//  ---- fields of a CSV record

#define S_FIELDS 12

typedef struct {
    const char *at[S_FIELDS];
    size_t size[S_FIELDS];
    int count;
} s_fields_t;

static void s_split(const rill_record_t *in, s_fields_t *fields)
{
    const char *text = in->data, *end = text + in->size, *start = text;
    fields->count = 0;
    for (const char *c = text; fields->count < S_FIELDS; c++) {
        if (c == end || *c == ',') {
            fields->at[fields->count] = start;
            fields->size[fields->count++] = (size_t)(c - start);
            start = c + 1;
            if (c == end)
                break;
        }
    }
}

static int64_t s_number(const s_fields_t *fields, int i)
{
    int64_t value = 0;
    bool negative = false;
    const char *c = fields->at[i], *end = c + fields->size[i];
    if (c < end && *c == '-')
        negative = true, c++;
    for (; c < end; c++)
        value = value * 10 + (*c - '0');
    return negative ? -value : value;
}

//  Keys: a field picked by index (ctx), pointing into the record.
static int s_key_field(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    s_fields_t fields;
    s_split(in, &fields);
    int i = (int)(intptr_t)ctx;
    if (i >= fields.count)
        return -1;
    key->data = fields.at[i];
    key->size = fields.size[i];
    return 0;
}

static int s_key_whole(const rill_record_t *in, rill_key_t *key, void *ctx)
{
    (void)ctx;
    key->data = in->data;
    key->size = in->size;
    return 0;
}

static rill_keyed_stream_t s_key_by(rill_stream_t *in, int field)
{
    return rill_stream_key_by(in, s_key_field, (void *)(intptr_t)field);
}

static int s_emitf(rill_collector_t *out, int64_t timestamp, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int s_emitf(rill_collector_t *out, int64_t timestamp, const char *format, ...)
{
    char text[NEXMARK_RECORD_MAX];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(text, sizeof text, format, args);
    va_end(args);
    if (n < 0 || (size_t)n >= sizeof text)
        return -1;
    return rill_collector_emit(out, text, (size_t)n, timestamp);
}

//  ---- the source

static int64_t s_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

//  Each source subtask's pace: event n is due (n - first) / rate seconds after the subtask made
//  its first, `first` (after a restore, where it went on), so a restored source does not wait
//  for the events before its checkpoint.
typedef struct {
    const s_job_t *job;
    int64_t start_ns;
    uint64_t first;
    bool started;
} s_pace_t;

static int s_pace_open(const rill_context_t *context, void *ctx, void **subtask_ctx)
{
    (void)context;
    s_pace_t *pace = calloc(1, sizeof *pace);
    if (!pace)
        return -1;
    pace->job = ctx;
    *subtask_ctx = pace;
    return 0;
}

static void s_pace_close(const rill_context_t *context, void *subtask_ctx)
{
    (void)context;
    free(subtask_ctx);
}

static int s_generate(uint64_t index, rill_collector_t *out, void *ctx)
{
    s_pace_t *pace = ctx;
    const s_job_t *job = pace->job;
    if (job->rate > 0) {
        if (!pace->started) {
            pace->started = true;
            pace->first = index;
            pace->start_ns = s_now_ns();
        }
        int64_t due = pace->start_ns + (int64_t)((double)(index - pace->first) * 1e9 / job->rate);
        int64_t ahead = due - s_now_ns();
        if (ahead > 1000000) {
            struct timespec pause = {ahead / 1000000000, ahead % 1000000000};
            nanosleep(&pause, NULL);
        }
    }
    nexmark_event_t event;
    char text[NEXMARK_RECORD_MAX];
    nexmark_event(job->seed, index, job->event_rate, &event);
    size_t size = nexmark_event_format(&event, text, sizeof text);
    return rill_collector_emit(out, text, size, event.time);
}

static int s_event_time(const rill_record_t *in, int64_t *timestamp, void *ctx)
{
    (void)ctx;
    *timestamp = in->timestamp;
    return 0;
}

//  Keeps one kind of event (ctx: its tag).
static int s_is_kind(const rill_record_t *in, void *ctx)
{
    return in->size > 0 && ((const char *)in->data)[0] == (char)(intptr_t)ctx;
}

static rill_stream_t *s_kind(rill_stream_t *events, nexmark_kind_t kind, const char *name)
{
    return rill_stream_name(rill_stream_filter(events, s_is_kind, (void *)(intptr_t)kind), name);
}

//  ---- q0 pass-through, q1 currency conversion, q2 selection

static int s_q0(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    return rill_collector_emit(out, (const char *)in->data + 2, in->size - 2, RILL_NO_TIMESTAMP);
}

static int s_q1(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    s_fields_t f;
    s_split(in, &f);
    //  0.908 * price exactly: price * 908 thousandths.
    int64_t euro = s_number(&f, 3) * 908;
    return s_emitf(out, RILL_NO_TIMESTAMP, "%.*s,%.*s,%lld.%03lld,%.*s,%.*s,%.*s,%.*s",
                   (int)f.size[1], f.at[1], (int)f.size[2], f.at[2], (long long)(euro / 1000),
                   (long long)(euro % 1000), (int)f.size[4], f.at[4], (int)f.size[5], f.at[5],
                   (int)f.size[6], f.at[6], (int)f.size[7], f.at[7]);
}

static int s_q2(const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    s_fields_t f;
    s_split(in, &f);
    if (s_number(&f, 1) % 123 != 0)
        return 0;
    return s_emitf(out, RILL_NO_TIMESTAMP, "%.*s,%.*s", (int)f.size[1], f.at[1], (int)f.size[3],
                   f.at[3]);
}

//  ---- q3 local item suggestion: an incremental join with state on both sides

static int s_q3_person(const rill_record_t *in, void *ctx)
{
    (void)ctx;
    s_fields_t f;
    s_split(in, &f);
    return f.size[6] == 2 &&
           (!memcmp(f.at[6], "OR", 2) || !memcmp(f.at[6], "ID", 2) || !memcmp(f.at[6], "CA", 2));
}

static int s_q3_auction(const rill_record_t *in, void *ctx)
{
    (void)ctx;
    s_fields_t f;
    s_split(in, &f);
    return s_number(&f, 9) == 10;
}

//  Persons (input 0) keep "name,city,state" as the key's state; auctions (input 1) that came
//  first wait in a list for theirs.
static int s_q3_join(rill_process_t *process, const rill_record_t *in, rill_collector_t *out,
                     void *ctx)
{
    (void)ctx;
    s_fields_t f;
    s_split(in, &f);
    const void *data;
    size_t size;
    if (rill_process_input(process) == 0) {
        char person[NEXMARK_RECORD_MAX];
        int n = snprintf(person, sizeof person, "%.*s,%.*s,%.*s", (int)f.size[2], f.at[2],
                         (int)f.size[5], f.at[5], (int)f.size[6], f.at[6]);
        if (rill_state_value_set(process, "person", person, (size_t)n))
            return -1;
        if (rill_state_list_get(process, "auctions", &data, &size) == 0) {
            //  Copied: emitting may not, but the next state call would move it.
            char *list = malloc(size);
            if (!list)
                return -1;
            memcpy(list, data, size);
            const void *at = list, *id;
            size_t id_size;
            int rc = 0;
            while (rc == 0 && rill_state_list_next(list, size, &at, &id, &id_size) == 1)
                rc = s_emitf(out, RILL_NO_TIMESTAMP, "%s,%.*s", person, (int)id_size,
                             (const char *)id);
            free(list);
            if (rc || rill_state_clear(process, "auctions"))
                return -1;
        }
        return 0;
    }
    if (rill_state_value_get(process, "person", &data, &size) == 0)
        return s_emitf(out, RILL_NO_TIMESTAMP, "%.*s,%.*s", (int)size, (const char *)data,
                       (int)f.size[1], f.at[1]);
    return rill_state_list_add(process, "auctions", f.at[1], f.size[1]);
}

//  ---- winning bids (q4, q6, q9): the highest bid of each auction between its start and its
//  expiry (the earliest of equal ones, then the lowest bidder), once it has expired

typedef struct {
    int64_t id, time, expires, seller, category;
} s_auction_t;

typedef struct {
    int64_t price, time, bidder;
} s_bid_t;

static bool s_bid_beats(const s_bid_t *bid, const s_bid_t *best)
{
    if (bid->price != best->price)
        return bid->price > best->price;
    if (bid->time != best->time)
        return bid->time < best->time;
    return bid->bidder < best->bidder;
}

static int s_offer(rill_process_t *process, const s_auction_t *auction, const s_bid_t *bid)
{
    if (bid->time < auction->time || bid->time > auction->expires)
        return 0;
    const void *data;
    size_t size;
    if (rill_state_value_get(process, "best", &data, &size) == 0 && size == sizeof(s_bid_t)) {
        s_bid_t best;
        memcpy(&best, data, sizeof best);
        if (!s_bid_beats(bid, &best))
            return 0;
    }
    return rill_state_value_set(process, "best", bid, sizeof *bid);
}

static int s_winning_process(rill_process_t *process, const rill_record_t *in,
                             rill_collector_t *out, void *ctx)
{
    (void)out, (void)ctx;
    s_fields_t f;
    s_split(in, &f);
    const void *data;
    size_t size;
    if (rill_state_value_get(process, "closed", &data, &size) == 0)
        return 0; //  a bid after the auction closed: it cannot win
    if (rill_process_input(process) == 0) {
        s_auction_t auction = {s_number(&f, 1), s_number(&f, 6), s_number(&f, 7), s_number(&f, 8),
                               s_number(&f, 9)};
        if (rill_state_value_set(process, "auction", &auction, sizeof auction) ||
            rill_timer_register(process, RILL_TIME_EVENT, auction.expires))
            return -1;
        if (rill_state_list_get(process, "bids", &data, &size) == 0) {
            char *list = malloc(size);
            if (!list)
                return -1;
            memcpy(list, data, size);
            const void *at = list, *item;
            size_t item_size;
            int rc = 0;
            while (rc == 0 && rill_state_list_next(list, size, &at, &item, &item_size) == 1) {
                s_bid_t bid;
                memcpy(&bid, item, sizeof bid);
                rc = s_offer(process, &auction, &bid);
            }
            free(list);
            if (rc || rill_state_clear(process, "bids"))
                return -1;
        }
        return 0;
    }
    s_bid_t bid = {s_number(&f, 3), s_number(&f, 6), s_number(&f, 2)};
    if (rill_state_value_get(process, "auction", &data, &size) == 0) {
        s_auction_t auction;
        memcpy(&auction, data, sizeof auction);
        return s_offer(process, &auction, &bid);
    }
    return rill_state_list_add(process, "bids", &bid, sizeof bid);
}

//  Emits "auction,seller,category,expires,bidder,price,bid_time" at the auction's expiry.
static int s_winning_timer(rill_process_t *process, int64_t time, rill_time_domain_t domain,
                           rill_collector_t *out, void *ctx)
{
    (void)time, (void)domain, (void)ctx;
    const void *data;
    size_t size;
    s_auction_t auction;
    s_bid_t best;
    if (rill_state_value_get(process, "auction", &data, &size) || size != sizeof auction)
        return 0;
    memcpy(&auction, data, sizeof auction);
    bool won = rill_state_value_get(process, "best", &data, &size) == 0 && size == sizeof best;
    if (won)
        memcpy(&best, data, sizeof best);
    char closed = 1;
    if (rill_state_clear(process, "auction") || rill_state_clear(process, "best") ||
        rill_state_value_set(process, "closed", &closed, 1))
        return -1;
    if (!won)
        return 0;
    return s_emitf(out, auction.expires, "%lld,%lld,%lld,%lld,%lld,%lld,%lld",
                   (long long)auction.id, (long long)auction.seller, (long long)auction.category,
                   (long long)auction.expires, (long long)best.bidder, (long long)best.price,
                   (long long)best.time);
}

static rill_stream_t *s_winning_bids(rill_stream_t *auctions, rill_stream_t *bids)
{
    return rill_stream_name(rill_stream_co_process(s_key_by(auctions, 1), s_key_by(bids, 1),
                                                   s_winning_process, s_winning_timer, NULL),
                            "winning bids");
}

//  q4: the average winning price per category, updated as each auction closes ("category,
//  average,auctions"; the average truncated to an integer as Flink's AVG of a BIGINT).
static int s_q4(rill_process_t *process, const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)ctx;
    s_fields_t f;
    s_split(in, &f);
    int64_t totals[2] = {0, 0};
    const void *data;
    size_t size;
    if (rill_state_value_get(process, "totals", &data, &size) == 0 && size == sizeof totals)
        memcpy(totals, data, sizeof totals);
    totals[0] += s_number(&f, 5);
    totals[1]++;
    if (rill_state_value_set(process, "totals", totals, sizeof totals))
        return -1;
    return s_emitf(out, RILL_NO_TIMESTAMP, "%.*s,%lld,%lld", (int)f.size[2], f.at[2],
                   (long long)(totals[0] / totals[1]), (long long)totals[1]);
}

//  q6: per seller, the average of the winning prices of its last 10 closed auctions, in the
//  order they closed (expiry, then auction id): winners wait in map state for the watermark
//  to pass their expiry, so every one that closed at the same time or before is there.
static int s_q6(rill_process_t *process, const rill_record_t *in, rill_collector_t *out, void *ctx)
{
    (void)out, (void)ctx;
    s_fields_t f;
    s_split(in, &f);
    int64_t entry[3] = {s_number(&f, 3), s_number(&f, 0), s_number(&f, 5)}; //  expires, id, price
    if (rill_state_map_put(process, "closed", entry, 2 * sizeof(int64_t), &entry[2],
                           sizeof(int64_t)))
        return -1;
    return rill_timer_register(process, RILL_TIME_EVENT, entry[0]);
}

static int s_compare_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

#define S_Q6_LAST 10

static int s_q6_timer(rill_process_t *process, int64_t time, rill_time_domain_t domain,
                      rill_collector_t *out, void *ctx)
{
    (void)domain, (void)ctx;
    const void *list, *at, *map_key, *data;
    size_t list_size, key_size, size;
    if (rill_state_map_keys(process, "closed", &list, &list_size))
        return 0;
    //  The winners that closed at `time`, as (id, price), sorted by id.
    int64_t(*due)[2] = NULL;
    size_t count = 0, room = 0;
    char *copy = malloc(list_size);
    if (!copy)
        return -1;
    memcpy(copy, list, list_size);
    at = copy;
    int rc = 0;
    while (rill_state_list_next(copy, list_size, &at, &map_key, &key_size) == 1) {
        int64_t key[2];
        memcpy(key, map_key, sizeof key);
        if (key[0] != time)
            continue;
        if (rill_state_map_get(process, "closed", key, sizeof key, &data, &size))
            continue;
        if (count == room) {
            room = room ? room * 2 : 4;
            void *grown = realloc(due, room * sizeof *due);
            if (!grown) {
                rc = -1;
                break;
            }
            due = grown;
        }
        due[count][0] = key[1];
        memcpy(&due[count][1], data, sizeof(int64_t));
        count++;
        if (rill_state_map_remove(process, "closed", key, sizeof key)) {
            rc = -1;
            break;
        }
    }
    free(copy);
    if (rc == 0)
        qsort(due, count, sizeof *due, s_compare_id);
    //  The last prices: a ring of S_Q6_LAST, then how many were ever added.
    int64_t last[S_Q6_LAST + 1] = {0};
    if (rill_state_value_get(process, "last", &data, &size) == 0 && size == sizeof last)
        memcpy(last, data, sizeof last);
    const rill_key_t *seller = rill_process_key(process);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        last[last[S_Q6_LAST] % S_Q6_LAST] = due[i][1];
        last[S_Q6_LAST]++;
        int64_t kept = last[S_Q6_LAST] < S_Q6_LAST ? last[S_Q6_LAST] : S_Q6_LAST, sum = 0;
        for (int64_t j = 0; j < kept; j++)
            sum += last[j];
        rc = s_emitf(out, RILL_NO_TIMESTAMP, "%.*s,%lld,%lld,%lld", (int)seller->size,
                     (const char *)seller->data, (long long)time, (long long)due[i][0],
                     (long long)(sum / kept));
    }
    free(due);
    if (rc == 0 && count)
        rc = rill_state_value_set(process, "last", last, sizeof last);
    return rc;
}

//  ---- q5 hot items: per sliding window, the auctions with the most bids

//  The count accumulator: an int64_t the runtime keeps unaligned, so read and written with
//  memcpy.
static int64_t s_count_get(const void *acc)
{
    int64_t count;
    memcpy(&count, acc, sizeof count);
    return count;
}

static void s_count_create(void *acc, void *ctx)
{
    (void)ctx;
    memset(acc, 0, sizeof(int64_t));
}

static int s_count_add(void *acc, const rill_record_t *in, void *ctx)
{
    (void)in, (void)ctx;
    int64_t count = s_count_get(acc) + 1;
    memcpy(acc, &count, sizeof count);
    return 0;
}

static void s_count_merge(void *acc, const void *other, void *ctx)
{
    (void)ctx;
    int64_t count = s_count_get(acc) + s_count_get(other);
    memcpy(acc, &count, sizeof count);
}

//  q5's first step: "start,end,auction,bids".
static int s_q5_count(const void *acc, const rill_window_bounds_t *window, const rill_key_t *key,
                      rill_buffer_t *out, void *ctx)
{
    (void)ctx;
    return rill_buffer_appendf(out, "%lld,%lld,%.*s,%lld", (long long)window->start,
                               (long long)window->end, (int)key->size, (const char *)key->data,
                               (long long)s_count_get(acc));
}

//  q11: "bidder,bids,session_start,session_end".
static int s_q11_count(const void *acc, const rill_window_bounds_t *window, const rill_key_t *key,
                       rill_buffer_t *out, void *ctx)
{
    (void)ctx;
    return rill_buffer_appendf(out, "%.*s,%lld,%lld,%lld", (int)key->size, (const char *)key->data,
                               (long long)s_count_get(acc), (long long)window->start,
                               (long long)window->end);
}

//  Emits the records whose numeric field `field` (ctx) is the window's highest, ties and all.
static int s_emit_highest(const rill_window_bounds_t *window, const rill_key_t *key,
                          const rill_record_t *records, size_t count, rill_collector_t *out,
                          void *ctx)
{
    (void)window, (void)key;
    int field = (int)(intptr_t)ctx;
    int64_t highest = INT64_MIN;
    s_fields_t f;
    for (size_t i = 0; i < count; i++) {
        s_split(&records[i], &f);
        int64_t value = s_number(&f, field);
        if (value > highest)
            highest = value;
    }
    for (size_t i = 0; i < count; i++) {
        s_split(&records[i], &f);
        if (s_number(&f, field) == highest &&
            rill_collector_emit(out, records[i].data, records[i].size, RILL_NO_TIMESTAMP))
            return -1;
    }
    return 0;
}

//  ---- q7 highest bid per tumbling window

//  Within one auction's window: its highest bids as "window_start,window_end,auction,price,
//  bidder,date_time".
static int s_q7_auction(const rill_window_bounds_t *window, const rill_key_t *key,
                        const rill_record_t *records, size_t count, rill_collector_t *out,
                        void *ctx)
{
    (void)key, (void)ctx;
    int64_t highest = INT64_MIN;
    s_fields_t f;
    for (size_t i = 0; i < count; i++) {
        s_split(&records[i], &f);
        if (s_number(&f, 3) > highest)
            highest = s_number(&f, 3);
    }
    for (size_t i = 0; i < count; i++) {
        s_split(&records[i], &f);
        if (s_number(&f, 3) == highest &&
            s_emitf(out, RILL_NO_TIMESTAMP, "%lld,%lld,%.*s,%.*s,%.*s,%.*s",
                    (long long)window->start, (long long)window->end, (int)f.size[1], f.at[1],
                    (int)f.size[3], f.at[3], (int)f.size[2], f.at[2], (int)f.size[6], f.at[6]))
            return -1;
    }
    return 0;
}

//  ---- q8 new users: persons who opened an auction in the window they joined

static int s_q8_pair(const rill_record_t *person, const rill_record_t *auction,
                     rill_collector_t *out, void *ctx)
{
    (void)auction, (void)ctx;
    s_fields_t f;
    s_split(person, &f);
    return s_emitf(out, RILL_NO_TIMESTAMP, "%.*s,%.*s", (int)f.size[1], f.at[1], (int)f.size[2],
                   f.at[2]);
}

//  One line per (person, window) however many auctions it opened: "id,name,window_start".
static int s_q8_once(const rill_window_bounds_t *window, const rill_key_t *key,
                     const rill_record_t *records, size_t count, rill_collector_t *out, void *ctx)
{
    (void)records, (void)count, (void)ctx;
    return s_emitf(out, RILL_NO_TIMESTAMP, "%.*s,%lld", (int)key->size, (const char *)key->data,
                   (long long)window->start);
}

//  ---- the job

static const char *const s_headers[] = {
    [0] = "auction,bidder,price,channel,url,date_time,extra",
    [1] = "auction,bidder,price,channel,url,date_time,extra",
    [2] = "auction,price",
    [3] = "name,city,state,id",
    [4] = "category,average_price,auctions",
    [5] = "window_start,window_end,auction,bids",
    [6] = "seller,expires,auction,average_price",
    [7] = "window_start,window_end,auction,price,bidder,date_time",
    [8] = "id,name,window_start",
    [9] = "auction,seller,category,expires,bidder,price,bid_date_time",
    [11] = "bidder,bids,session_start,session_end",
};

static rill_stream_t *s_query(rill_env_t *env, rill_stream_t *events, int query)
{
    (void)env;
    static const rill_aggregate_t count = {sizeof(int64_t), s_count_create, s_count_add,
                                           s_count_merge, s_q5_count};
    static const rill_aggregate_t session_count = {sizeof(int64_t), s_count_create, s_count_add,
                                                   s_count_merge, s_q11_count};
    switch (query) {
    case 0:
        return rill_stream_name(
            rill_stream_flat_map(s_kind(events, NEXMARK_BID, "bids"), s_q0, NULL),
            "q0 pass-through");
    case 1:
        return rill_stream_name(
            rill_stream_flat_map(s_kind(events, NEXMARK_BID, "bids"), s_q1, NULL),
            "q1 currency conversion");
    case 2:
        return rill_stream_name(
            rill_stream_flat_map(s_kind(events, NEXMARK_BID, "bids"), s_q2, NULL), "q2 selection");
    case 3: {
        rill_stream_t *persons = rill_stream_name(
            rill_stream_filter(s_kind(events, NEXMARK_PERSON, "persons"), s_q3_person, NULL),
            "persons in OR, ID, CA");
        rill_stream_t *auctions = rill_stream_name(
            rill_stream_filter(s_kind(events, NEXMARK_AUCTION, "auctions"), s_q3_auction, NULL),
            "auctions of category 10");
        return rill_stream_name(rill_stream_co_process(s_key_by(persons, 1), s_key_by(auctions, 8),
                                                       s_q3_join, NULL, NULL),
                                "q3 join");
    }
    case 4:
    case 6:
    case 9: {
        rill_stream_t *winners = s_winning_bids(s_kind(events, NEXMARK_AUCTION, "auctions"),
                                                s_kind(events, NEXMARK_BID, "bids"));
        if (query == 9)
            return winners;
        if (query == 4)
            return rill_stream_name(rill_stream_process(s_key_by(winners, 2), s_q4, NULL, NULL),
                                    "q4 average per category");
        return rill_stream_name(rill_stream_process(s_key_by(winners, 1), s_q6, s_q6_timer, NULL),
                                "q6 average per seller");
    }
    case 5: {
        rill_window_t sliding = rill_window_sliding(10000, 2000);
        rill_stream_t *counts = rill_stream_name(
            rill_stream_window_aggregate(s_key_by(s_kind(events, NEXMARK_BID, "bids"), 1), &sliding,
                                         &count, NULL),
            "q5 bids per auction");
        rill_window_t each = rill_window_tumbling(2000);
        return rill_stream_name(rill_stream_window_process(s_key_by(counts, 0), &each,
                                                           s_emit_highest, (void *)(intptr_t)3),
                                "q5 most bids");
    }
    case 7: {
        rill_window_t tumbling = rill_window_tumbling(10000);
        rill_stream_t *per_auction = rill_stream_name(
            rill_stream_window_process(s_key_by(s_kind(events, NEXMARK_BID, "bids"), 1), &tumbling,
                                       s_q7_auction, NULL),
            "q7 highest per auction");
        return rill_stream_name(rill_stream_window_process(s_key_by(per_auction, 0), &tumbling,
                                                           s_emit_highest, (void *)(intptr_t)3),
                                "q7 highest bid");
    }
    case 8: {
        rill_window_t tumbling = rill_window_tumbling(10000);
        rill_stream_t *pairs = rill_stream_name(
            rill_stream_window_join(s_key_by(s_kind(events, NEXMARK_PERSON, "persons"), 1),
                                    s_key_by(s_kind(events, NEXMARK_AUCTION, "auctions"), 8),
                                    &tumbling, s_q8_pair, NULL),
            "q8 persons and their auctions");
        return rill_stream_name(
            rill_stream_window_process(rill_stream_key_by(pairs, s_key_whole, NULL), &tumbling,
                                       s_q8_once, NULL),
            "q8 new sellers");
    }
    case 11: {
        rill_window_t session = rill_window_session(10000);
        return rill_stream_name(
            rill_stream_window_aggregate(s_key_by(s_kind(events, NEXMARK_BID, "bids"), 2), &session,
                                         &session_count, NULL),
            "q11 bids per session");
    }
    }
    return NULL;
}

static int s_usage(const char *why, const char *detail)
{
    if (why)
        fprintf(stderr, "nexmark: %s%s\n", why, detail ? detail : "");
    fprintf(stderr,
            "usage: rill run nexmark [-p N] -- --query Q\n"
            "         --query Q   (0 1 2 3 4 5 6 7 8 9 11; README: Nexmark)\n"
            "         [--events N]   (how many events; 0: unbounded; default 100000)\n"
            "         [--rate R]   (events per second of wall time; default 0: as fast as "
            "possible)\n"
            "         [--event-rate R]   (events per second of event time; default %d)\n"
            "         [--seed S]   (default %d)\n"
            "         [--output FILE]   (default: standard output)\n"
            "         [--discard]   (no output: results into a discard sink, for benchmarks)\n",
            NEXMARK_DEFAULT_EVENT_RATE, NEXMARK_DEFAULT_SEED);
    return 2;
}

//  A whole number in [low, high] (K and M suffixes for thousands and millions).
static int s_whole(const char *text, uint64_t low, uint64_t high, uint64_t *value)
{
    char *end;
    if (*text < '0' || *text > '9')
        return -1;
    unsigned long long n = strtoull(text, &end, 10);
    if (*end == 'K' || *end == 'k')
        n *= 1000, end++;
    else if (*end == 'M' || *end == 'm')
        n *= 1000000, end++;
    if (*end || n < low || n > high)
        return -1;
    *value = n;
    return 0;
}

static void s_job_destroy(s_job_t **job_p)
{
    s_job_t *job = *job_p;
    if (!job)
        return;
    if (job->output.own)
        fclose(job->output.out);
    free(job);
    *job_p = NULL;
}

int rill_job_build(rill_env_t *env, int argc, char **argv)
{
    static const struct option options[] = {
        {"query", required_argument, NULL, 'q'},
        {"events", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},
        {"event-rate", required_argument, NULL, 'e'},
        {"seed", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'O'},
        {"discard", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL;
    uint64_t query = UINT64_MAX, events = 100000, rate = 0, event_rate = NEXMARK_DEFAULT_EVENT_RATE;
    uint64_t seed = NEXMARK_DEFAULT_SEED;
    bool discard = false;
    optind = 1;
    opterr = 0;
    int option;
    while ((option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'q':
            if (s_whole(optarg, 0, 11, &query) || query == 10 || !s_headers[query])
                return s_usage("bad --query (0-9 or 11) ", optarg);
            break;
        case 'n':
            if (s_whole(optarg, 0, UINT64_MAX / 2, &events))
                return s_usage("bad --events (a count, 0: unbounded) ", optarg);
            break;
        case 'r':
            if (s_whole(optarg, 0, 1000000000, &rate))
                return s_usage("bad --rate (events per second, 0: no limit) ", optarg);
            break;
        case 'e':
            if (s_whole(optarg, 1, 1000000000, &event_rate))
                return s_usage("bad --event-rate (events per second of event time, > 0) ", optarg);
            break;
        case 's':
            if (s_whole(optarg, 0, UINT64_MAX / 2, &seed))
                return s_usage("bad --seed ", optarg);
            break;
        case 'O':
            output = optarg;
            break;
        case 'd':
            discard = true;
            break;
        case 'h':
            return s_usage(NULL, NULL);
        case ':':
            return s_usage("option needs a value: ", argv[optind - 1]);
        default:
            return s_usage("unknown option ", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return s_usage("unexpected argument ", argv[optind]);
    if (query == UINT64_MAX)
        return s_usage("--query is required", NULL);
    s_job_destroy(&s_job);
    s_job = calloc(1, sizeof(s_job_t));
    if (!s_job)
        return -1;
    s_job->query = (int)query;
    s_job->seed = seed;
    s_job->events = events ? events : RILL_UNBOUNDED;
    s_job->rate = (double)rate;
    s_job->event_rate = (int64_t)event_rate;
    s_job->discard = discard;
    //  The output's header in two halves at its last comma (rill_job_output_t joins them).
    snprintf(s_job->header_text, sizeof s_job->header_text, "%s", s_headers[query]);
    char *comma = strrchr(s_job->header_text, ',');
    s_job->header[0] = s_job->header_text;
    s_job->header[1] = "";
    if (comma) {
        *comma = '\0';
        s_job->header[1] = comma + 1;
    }
    if (rill_job_output_open(&s_job->output, "nexmark", output)) {
        s_job_destroy(&s_job);
        return 1;
    }
    s_job->output.headers[0] = &s_job->header[0];
    s_job->output.headers[1] = &s_job->header[1];
    rill_watermarks_t strategy = {.interval_ms = 200};
    rill_stream_t *events_stream = rill_stream_name(
        rill_stream_assign_timestamps(
            rill_stream_open_close(
                rill_stream_name(rill_env_from_generator(env, s_generate, s_job, s_job->events),
                                 "Source: nexmark generator"),
                s_pace_open, s_pace_close),
            s_event_time, NULL, &strategy),
        "event time");
    rill_stream_t *results = s_query(env, events_stream, s_job->query);
    if (s_job->discard) {
        //  No output at all, not even the header: what the queries cost without a writer.
        s_job->output.header_written = true;
        rill_stream_name(rill_stream_discard(results), "Sink: discard");
        return 0;
    }
    rill_stream_discard(rill_stream_parallelism(
        rill_stream_name(rill_stream_flat_map(rill_stream_rebalance(results), rill_job_output_write,
                                              &s_job->output),
                         "Sink: write results"),
        1));
    return 0;
}

void rill_job_finish(rill_env_t *env)
{
    (void)env;
    if (!s_job)
        return;
    rill_job_output_close(&s_job->output);
    s_job_destroy(&s_job);
}
