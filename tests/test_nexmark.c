/*  test_nexmark.c: the bundled `nexmark` job (issue 17). The generator (jobs/nexmark_gen.h,
    compiled here too) is deterministic and keeps Nexmark's proportions; then every query's
    output, at parallelism 1, 2 and 4, equals what plain loops over the same event list
    compute here, written from the query definitions and sharing no code with the job but the
    generator; then the rate limit, --output, and bad options refused. */
#define _GNU_SOURCE //  vasprintf, strsep
#include "../jobs/nexmark_gen.h"
#include "testutil.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  20,000 events at 1,000 events per second of event time: 20 s, two 10 s windows and more.
#define S_EVENTS 20000
#define S_EVENT_RATE 1000
#define S_SEED 42

static nexmark_event_t *s_events;

//  ---- a list of lines

typedef struct {
    char **lines;
    size_t count, room;
} s_lines_t;

static void s_add(s_lines_t *self, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void s_add(s_lines_t *self, const char *format, ...)
{
    if (self->count == self->room) {
        self->room = self->room ? self->room * 2 : 256;
        self->lines = realloc(self->lines, self->room * sizeof(char *));
        assert_non_null(self->lines);
    }
    va_list args;
    va_start(args, format);
    assert_true(vasprintf(&self->lines[self->count++], format, args) > 0);
    va_end(args);
}

static void s_free(s_lines_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->lines[i]);
    free(self->lines);
    memset(self, 0, sizeof *self);
}

static int s_compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

//  The output's lines after its header, in output order (the text is modified).
static void s_body(char *out, const char *header, s_lines_t *lines)
{
    assert_non_null(out);
    size_t header_size = strlen(header);
    if (strncmp(out, header, header_size) || out[header_size] != '\n')
        fail_msg("header: expected '%s', got '%.80s'", header, out);
    for (char *save = NULL, *line = strtok_r(out + header_size + 1, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        s_add(lines, "%s", line);
}

static void s_assert_same(s_lines_t *got, s_lines_t *expected, const char *what)
{
    qsort(got->lines, got->count, sizeof(char *), s_compare_text);
    qsort(expected->lines, expected->count, sizeof(char *), s_compare_text);
    for (size_t i = 0; i < got->count && i < expected->count; i++)
        if (strcmp(got->lines[i], expected->lines[i]))
            fail_msg("%s: line %zu of %zu: got '%s', expected '%s'", what, i, expected->count,
                     got->lines[i], expected->lines[i]);
    if (got->count != expected->count)
        fail_msg("%s: %zu lines, expected %zu", what, got->count, expected->count);
}

//  At p = 2 in streaming mode (watermarks as the run goes, what the bench measures); at 1 and
//  4 in the automatic mode, batch for this bounded source.
static char *s_run(int query, int parallelism, const char *events)
{
    char q[8], p[8];
    snprintf(q, sizeof q, "%d", query);
    snprintf(p, sizeof p, "%d", parallelism);
    char *out = NULL, *err = NULL;
    const char *mode = parallelism == 2 ? "streaming" : "automatic";
    int rc = test_run_tool(&out, &err, "run", "nexmark", "-p", p, "--mode", mode, "--", "--query",
                           q, "--events", events, "--event-rate", "1000", "--seed", "42", NULL);
    if (rc != 0)
        fail_msg("nexmark q%d -p %d exited %d: %s", query, parallelism, rc, err);
    free(err);
    return out;
}

//  ---- the expected results, by plain loops

static int64_t s_window(int64_t time, int64_t size)
{
    return time - time % size;
}

static void s_expect_q0_q1_q2(int query, s_lines_t *expected)
{
    for (int i = 0; i < S_EVENTS; i++) {
        const nexmark_event_t *e = &s_events[i];
        if (e->kind != NEXMARK_BID)
            continue;
        char line[NEXMARK_RECORD_MAX];
        line[nexmark_event_format(e, line, sizeof line)] = 0;
        if (query == 0)
            s_add(expected, "%s", line + 2);
        else if (query == 1) {
            //  auction,bidder, then the price in euros, then channel,url,date_time,extra
            char *fields[8];
            char *at = line;
            for (int f = 0; f < 8; f++)
                fields[f] = strsep(&at, ",");
            s_add(expected, "%s,%s,%lld.%03lld,%s,%s,%s,%s", fields[1], fields[2],
                  (long long)(e->price * 908 / 1000), (long long)(e->price * 908 % 1000), fields[4],
                  fields[5], fields[6], fields[7]);
        } else if (e->id % 123 == 0)
            s_add(expected, "%lld,%lld", (long long)e->id, (long long)e->price);
    }
}

static bool s_local_state(const nexmark_event_t *person)
{
    const char *state = nexmark_states[person->city];
    return !strcmp(state, "OR") || !strcmp(state, "ID") || !strcmp(state, "CA");
}

static void s_expect_q3(s_lines_t *expected)
{
    for (int i = 0; i < S_EVENTS; i++) {
        const nexmark_event_t *p = &s_events[i];
        if (p->kind != NEXMARK_PERSON || !s_local_state(p))
            continue;
        for (int j = 0; j < S_EVENTS; j++) {
            const nexmark_event_t *a = &s_events[j];
            if (a->kind == NEXMARK_AUCTION && a->category == 10 && a->seller == p->id)
                s_add(expected, "%s %s,%s,%s,%lld", nexmark_first_names[p->first_name],
                      nexmark_last_names[p->last_name], nexmark_cities[p->city],
                      nexmark_states[p->city], (long long)a->id);
        }
    }
}

//  The winning bid of each auction: the highest between its start and expiry (both
//  included), the earliest of equal ones, then the lowest bidder.
typedef struct {
    const nexmark_event_t *auction, *bid;
} s_winner_t;

static size_t s_winners(s_winner_t *winners)
{
    size_t count = 0;
    for (int i = 0; i < S_EVENTS; i++) {
        const nexmark_event_t *a = &s_events[i];
        if (a->kind != NEXMARK_AUCTION)
            continue;
        const nexmark_event_t *best = NULL;
        for (int j = 0; j < S_EVENTS; j++) {
            const nexmark_event_t *b = &s_events[j];
            if (b->kind != NEXMARK_BID || b->id != a->id || b->time < a->time ||
                b->time > a->expires)
                continue;
            if (!best || b->price > best->price ||
                (b->price == best->price &&
                 (b->time < best->time || (b->time == best->time && b->seller < best->seller))))
                best = b;
        }
        if (best)
            winners[count++] = (s_winner_t){a, best};
    }
    return count;
}

static void s_expect_q9(s_lines_t *expected)
{
    s_winner_t *winners = calloc(S_EVENTS, sizeof *winners);
    size_t count = s_winners(winners);
    for (size_t i = 0; i < count; i++) {
        const nexmark_event_t *a = winners[i].auction, *b = winners[i].bid;
        s_add(expected, "%lld,%lld,%lld,%lld,%lld,%lld,%lld", (long long)a->id,
              (long long)a->seller, (long long)a->category, (long long)a->expires,
              (long long)b->seller, (long long)b->price, (long long)b->time);
    }
    free(winners);
}

//  q4: the final average per category (the job's last update for it) and the number of
//  updates (one per closed auction with a winner).
static void s_expect_q4(s_lines_t *expected, size_t *updates)
{
    s_winner_t *winners = calloc(S_EVENTS, sizeof *winners);
    size_t count = s_winners(winners);
    *updates = count;
    for (int64_t category = NEXMARK_FIRST_CATEGORY_ID;
         category < NEXMARK_FIRST_CATEGORY_ID + NEXMARK_CATEGORIES; category++) {
        int64_t sum = 0, n = 0;
        for (size_t i = 0; i < count; i++)
            if (winners[i].auction->category == category)
                sum += winners[i].bid->price, n++;
        if (n)
            s_add(expected, "%lld,%lld,%lld", (long long)category, (long long)(sum / n),
                  (long long)n);
    }
    free(winners);
}

static int s_compare_closing(const void *a, const void *b)
{
    const s_winner_t *x = a, *y = b;
    if (x->auction->seller != y->auction->seller)
        return x->auction->seller < y->auction->seller ? -1 : 1;
    if (x->auction->expires != y->auction->expires)
        return x->auction->expires < y->auction->expires ? -1 : 1;
    return x->auction->id < y->auction->id ? -1 : x->auction->id > y->auction->id;
}

//  q6: per seller, in the order its auctions closed, the average of its last 10 winners.
static void s_expect_q6(s_lines_t *expected)
{
    s_winner_t *winners = calloc(S_EVENTS, sizeof *winners);
    size_t count = s_winners(winners);
    qsort(winners, count, sizeof *winners, s_compare_closing);
    for (size_t i = 0; i < count; i++) {
        int64_t sum = 0, n = 0;
        for (size_t j = i + 1; j-- > 0 && n < 10;) {
            if (winners[j].auction->seller != winners[i].auction->seller)
                break;
            sum += winners[j].bid->price, n++;
        }
        s_add(expected, "%lld,%lld,%lld,%lld", (long long)winners[i].auction->seller,
              (long long)winners[i].auction->expires, (long long)winners[i].auction->id,
              (long long)(sum / n));
    }
    free(winners);
}

static int s_compare_pair(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

//  q5: per sliding window (10 s every 2 s), the auctions with the most bids.
static void s_expect_q5(s_lines_t *expected)
{
    int64_t(*pairs)[2] = calloc((size_t)S_EVENTS * 5, sizeof *pairs);
    size_t count = 0;
    for (int i = 0; i < S_EVENTS; i++) {
        const nexmark_event_t *b = &s_events[i];
        if (b->kind != NEXMARK_BID)
            continue;
        for (int64_t start = s_window(b->time, 2000); start > b->time - 10000; start -= 2000) {
            pairs[count][0] = start;
            pairs[count++][1] = b->id;
        }
    }
    qsort(pairs, count, sizeof *pairs, s_compare_pair);
    //  runs of equal (window, auction), then per window the highest runs
    for (size_t w = 0; w < count;) {
        size_t end = w, most = 0;
        while (end < count && pairs[end][0] == pairs[w][0])
            end++;
        for (size_t i = w; i < end;) {
            size_t j = i;
            while (j < end && pairs[j][1] == pairs[i][1])
                j++;
            if (j - i > most)
                most = j - i;
            i = j;
        }
        for (size_t i = w; i < end;) {
            size_t j = i;
            while (j < end && pairs[j][1] == pairs[i][1])
                j++;
            if (j - i == most)
                s_add(expected, "%lld,%lld,%lld,%zu", (long long)pairs[i][0],
                      (long long)(pairs[i][0] + 10000), (long long)pairs[i][1], most);
            i = j;
        }
        w = end;
    }
    free(pairs);
}

//  q7: per 10 s window, the bids of its highest price.
static void s_expect_q7(s_lines_t *expected)
{
    int64_t first = s_window(s_events[0].time, 10000);
    int64_t highest[8];
    for (int w = 0; w < 8; w++)
        highest[w] = -1;
    for (int i = 0; i < S_EVENTS; i++)
        if (s_events[i].kind == NEXMARK_BID) {
            int w = (int)((s_window(s_events[i].time, 10000) - first) / 10000);
            assert_true(w < 8);
            if (s_events[i].price > highest[w])
                highest[w] = s_events[i].price;
        }
    for (int i = 0; i < S_EVENTS; i++) {
        const nexmark_event_t *b = &s_events[i];
        int64_t start = s_window(b->time, 10000);
        if (b->kind == NEXMARK_BID && b->price == highest[(start - first) / 10000])
            s_add(expected, "%lld,%lld,%lld,%lld,%lld,%lld", (long long)start,
                  (long long)(start + 10000), (long long)b->id, (long long)b->price,
                  (long long)b->seller, (long long)b->time);
    }
}

//  q8: persons who opened an auction in the 10 s window they joined in.
static void s_expect_q8(s_lines_t *expected)
{
    for (int i = 0; i < S_EVENTS; i++) {
        const nexmark_event_t *p = &s_events[i];
        if (p->kind != NEXMARK_PERSON)
            continue;
        for (int j = 0; j < S_EVENTS; j++) {
            const nexmark_event_t *a = &s_events[j];
            if (a->kind == NEXMARK_AUCTION && a->seller == p->id &&
                s_window(a->time, 10000) == s_window(p->time, 10000)) {
                s_add(expected, "%lld,%s %s,%lld", (long long)p->id,
                      nexmark_first_names[p->first_name], nexmark_last_names[p->last_name],
                      (long long)s_window(p->time, 10000));
                break;
            }
        }
    }
}

static int s_compare_bidder_time(const void *a, const void *b)
{
    const nexmark_event_t *x = *(const nexmark_event_t *const *)a;
    const nexmark_event_t *y = *(const nexmark_event_t *const *)b;
    if (x->seller != y->seller)
        return x->seller < y->seller ? -1 : 1;
    return x->time < y->time ? -1 : x->time > y->time;
}

//  q11: each bidder's sessions (bids at most 10 s apart; a window [t, t + 10 s) per bid,
//  touching windows merge) and their bid counts.
static void s_expect_q11(s_lines_t *expected)
{
    const nexmark_event_t **bids = calloc(S_EVENTS, sizeof *bids);
    size_t count = 0;
    for (int i = 0; i < S_EVENTS; i++)
        if (s_events[i].kind == NEXMARK_BID)
            bids[count++] = &s_events[i];
    qsort(bids, count, sizeof *bids, s_compare_bidder_time);
    for (size_t i = 0; i < count;) {
        size_t j = i + 1;
        while (j < count && bids[j]->seller == bids[i]->seller &&
               bids[j]->time <= bids[j - 1]->time + 10000)
            j++;
        s_add(expected, "%lld,%zu,%lld,%lld", (long long)bids[i]->seller, j - i,
              (long long)bids[i]->time, (long long)(bids[j - 1]->time + 10000));
        i = j;
    }
    free(bids);
}

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

static void s_check_query(int query)
{
    s_lines_t expected = {0};
    size_t updates = 0;
    switch (query) {
    case 0:
    case 1:
    case 2:
        s_expect_q0_q1_q2(query, &expected);
        break;
    case 3:
        s_expect_q3(&expected);
        break;
    case 4:
        s_expect_q4(&expected, &updates);
        break;
    case 5:
        s_expect_q5(&expected);
        break;
    case 6:
        s_expect_q6(&expected);
        break;
    case 7:
        s_expect_q7(&expected);
        break;
    case 8:
        s_expect_q8(&expected);
        break;
    case 9:
        s_expect_q9(&expected);
        break;
    case 11:
        s_expect_q11(&expected);
        break;
    }
    assert_true(expected.count > 0);
    static const int parallelisms[] = {1, 2, 4};
    for (size_t p = 0; p < sizeof parallelisms / sizeof *parallelisms; p++) {
        char what[32];
        snprintf(what, sizeof what, "q%d at p = %d", query, parallelisms[p]);
        char *out = s_run(query, parallelisms[p], "20000");
        s_lines_t got = {0};
        s_body(out, s_headers[query], &got);
        if (query == 4) {
            //  Updates come as auctions close: the last one of each category is its result.
            if (got.count != updates)
                fail_msg("%s: %zu updates, expected %zu", what, got.count, updates);
            s_lines_t last = {0};
            for (size_t i = got.count; i-- > 0;) {
                bool seen = false;
                for (size_t j = 0; j < last.count; j++)
                    seen |= !strncmp(last.lines[j], got.lines[i], 3);
                if (!seen)
                    s_add(&last, "%s", got.lines[i]);
            }
            s_assert_same(&last, &expected, what);
            s_free(&last);
        } else
            s_assert_same(&got, &expected, what);
        s_free(&got);
        free(out);
    }
    s_free(&expected);
}

//  ---- the cases

static void the_generator_is_deterministic_with_nexmarks_proportions(void **state)
{
    (void)state;
    int kinds[3] = {0, 0, 0};
    int64_t next_person = NEXMARK_FIRST_PERSON_ID, next_auction = NEXMARK_FIRST_AUCTION_ID;
    int hot = 0;
    for (int i = 0; i < S_EVENTS; i++) {
        nexmark_event_t again;
        nexmark_event(S_SEED, (uint64_t)i, S_EVENT_RATE, &again);
        assert_memory_equal(&again, &s_events[i], sizeof again);
        const nexmark_event_t *e = &s_events[i];
        assert_int_equal(e->time, NEXMARK_BASE_TIME + i); //  1,000 events a second
        if (i % 50 == 0) {
            assert_int_equal(e->kind, NEXMARK_PERSON);
            assert_int_equal(e->id, next_person++);
            kinds[0]++;
        } else if (i % 50 < 4) {
            assert_int_equal(e->kind, NEXMARK_AUCTION);
            assert_int_equal(e->id, next_auction++);
            assert_true(e->category >= 10 && e->category < 15);
            assert_true(e->expires > e->time && e->reserve > e->price);
            kinds[1]++;
        } else {
            assert_int_equal(e->kind, NEXMARK_BID);
            //  bids go to auctions made (or up to 10 ahead), half to the hot one
            assert_true(e->id < next_auction + NEXMARK_ID_LEAD);
            hot += e->id == (next_auction - 1 - NEXMARK_FIRST_AUCTION_ID) / 100 * 100 +
                                NEXMARK_FIRST_AUCTION_ID;
            assert_true(e->price >= 100 && e->price <= 100000000);
            kinds[2]++;
        }
    }
    assert_int_equal(kinds[0], S_EVENTS / 50);
    assert_int_equal(kinds[1], S_EVENTS / 50 * 3);
    assert_int_equal(kinds[2], S_EVENTS / 50 * 46);
    assert_true(hot > kinds[2] * 45 / 100 && hot < kinds[2] * 60 / 100);
    //  another seed, other events
    nexmark_event_t other;
    nexmark_event(S_SEED + 1, 7, S_EVENT_RATE, &other);
    assert_memory_not_equal(&other, &s_events[7], sizeof other);
}

static void q0_pass_through(void **state)
{
    (void)state;
    s_check_query(0);
}

static void q1_currency_conversion(void **state)
{
    (void)state;
    s_check_query(1);
}

static void q2_selection(void **state)
{
    (void)state;
    s_check_query(2);
}

static void q3_local_item_suggestion(void **state)
{
    (void)state;
    s_check_query(3);
}

static void q4_average_price_per_category(void **state)
{
    (void)state;
    s_check_query(4);
}

static void q5_hot_items(void **state)
{
    (void)state;
    s_check_query(5);
}

static void q6_average_selling_price_per_seller(void **state)
{
    (void)state;
    s_check_query(6);
}

static void q7_highest_bid(void **state)
{
    (void)state;
    s_check_query(7);
}

static void q8_monitor_new_users(void **state)
{
    (void)state;
    s_check_query(8);
}

static void q9_winning_bids(void **state)
{
    (void)state;
    s_check_query(9);
}

static void q11_user_sessions(void **state)
{
    (void)state;
    s_check_query(11);
}

//  --rate holds the source back (5,000 events at 10,000 a second: about half a second), and
//  --output writes the file instead of standard output.
static void rate_limit_and_output_file(void **state)
{
    (void)state;
    char *path = test_temp_file("");
    char *out = NULL, *err = NULL;
    int64_t start = test_now_ms();
    int rc = test_run_tool(&out, &err, "run", "nexmark", "-p", "2", "--", "--query", "2",
                           "--events", "5000", "--rate", "10000", "--output", path, NULL);
    int64_t took = test_now_ms() - start;
    if (rc != 0)
        fail_msg("exited %d: %s", rc, err);
    assert_true(took >= 400);
    assert_string_equal(out, "");
    char *written = test_read_file(path);
    assert_non_null(written);
    assert_memory_equal(written, "auction,price\n", 14);
    free(written);
    free(out);
    free(err);
    unlink(path);
    free(path);
}

//  Checkpoints: the generator saves its next index, the winning-bid operator its auctions,
//  best bids and timers. A run with a checkpoint every 50 ms gives the same winners; a run
//  restored from its last checkpoint makes only winners of that same list (auctions that
//  closed after it, from restored state), and fewer.
static void checkpoints_keep_q9_exact_and_restore(void **state)
{
    (void)state;
    s_lines_t expected = {0};
    s_expect_q9(&expected);
    char dir[] = "/tmp/test_nexmark_XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *args[] = {"run",
                          "nexmark",
                          "-p",
                          "2",
                          "--mode",
                          "streaming",
                          "--checkpoint-interval",
                          "50",
                          "--checkpoint-dir",
                          dir,
                          "--",
                          "--query",
                          "9",
                          "--events",
                          "20000",
                          "--event-rate",
                          "1000",
                          "--rate",
                          "20000",
                          NULL};
    char *out = NULL, *err = NULL;
    int rc = test_run_toolv(&out, &err, args);
    if (rc != 0)
        fail_msg("with checkpoints: exited %d: %s", rc, err);
    s_lines_t got = {0};
    s_body(out, s_headers[9], &got);
    s_assert_same(&got, &expected, "q9 with checkpoints");
    s_free(&got);
    free(out);
    free(err);
    //  --restore DIR: the latest checkpoint
    const char *restored[] = {
        "run", "nexmark", "-p", "2",        "--mode", "streaming",    "--restore", dir,
        "--",  "--query", "9",  "--events", "20000",  "--event-rate", "1000",      NULL};
    rc = test_run_toolv(&out, &err, restored);
    if (rc != 0)
        fail_msg("restored: exited %d: %s", rc, err);
    s_body(out, s_headers[9], &got);
    assert_true(got.count > 0 && got.count < expected.count);
    for (size_t i = 0; i < got.count; i++) {
        bool found = false;
        for (size_t j = 0; j < expected.count && !found; j++)
            found = !strcmp(got.lines[i], expected.lines[j]);
        if (!found)
            fail_msg("restored: '%s' is no winner", got.lines[i]);
    }
    s_free(&got);
    s_free(&expected);
    free(out);
    free(err);
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    assert_int_equal(system(command), 0);
}

static void bad_options_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *args[4];
        const char *message;
    } cases[] = {
        {{"--events", "10"}, "--query is required"},
        {{"--query", "10"}, "bad --query"},
        {{"--query", "12"}, "bad --query"},
        {{"--query", "x"}, "bad --query"},
        {{"--query", "1", "--events", "-5"}, "bad --events"},
        {{"--query", "1", "--rate", "fast"}, "bad --rate"},
        {{"--query", "1", "--event-rate", "0"}, "bad --event-rate"},
        {{"--query", "1", "--colour", "red"}, "unknown option"},
        {{"--query", "1", "extra"}, "unexpected argument"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *args[10] = {"run", "nexmark", "--"};
        size_t n = 3;
        for (size_t j = 0; j < 4 && cases[i].args[j]; j++)
            args[n++] = cases[i].args[j];
        char *err = NULL;
        int rc = test_run_toolv(NULL, &err, args);
        if (rc == 0 || !strstr(err, cases[i].message))
            fail_msg("case %zu: exit %d, stderr '%s' (expected '%s')", i, rc, err,
                     cases[i].message);
        free(err);
    }
}

static int s_setup(void **state)
{
    (void)state;
    s_events = calloc(S_EVENTS, sizeof *s_events);
    for (int i = 0; i < S_EVENTS; i++)
        nexmark_event(S_SEED, (uint64_t)i, S_EVENT_RATE, &s_events[i]);
    return 0;
}

static int s_teardown(void **state)
{
    (void)state;
    free(s_events);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_generator_is_deterministic_with_nexmarks_proportions),
        cmocka_unit_test(q0_pass_through),
        cmocka_unit_test(q1_currency_conversion),
        cmocka_unit_test(q2_selection),
        cmocka_unit_test(q3_local_item_suggestion),
        cmocka_unit_test(q4_average_price_per_category),
        cmocka_unit_test(q5_hot_items),
        cmocka_unit_test(q6_average_selling_price_per_seller),
        cmocka_unit_test(q7_highest_bid),
        cmocka_unit_test(q8_monitor_new_users),
        cmocka_unit_test(q9_winning_bids),
        cmocka_unit_test(q11_user_sessions),
        cmocka_unit_test(rate_limit_and_output_file),
        cmocka_unit_test(checkpoints_keep_q9_exact_and_restore),
        cmocka_unit_test(bad_options_are_refused),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
