/*  nexmark_gen.h: the Nexmark event generator (an online auction: persons, auctions, bids),
    written for rill after the rules of Beam's and Flink's Nexmark generators, header-only so
    that the nexmark job (jobs/nexmark.c) and its test (tests/test_nexmark.c) make the very
    same events. An event depends on (seed, event number) alone, so any subtask can make any
    event and a restored source makes the same again.

    Of every 50 event numbers, 0 is a person, 1-3 auctions, 4-49 bids. Ids are dense: person
    ids and auction ids count up from 1000 as their events come. Half the bids (Beam's default
    hot-auction ratio, 2) go to the hot auction, the first of the latest block of 100 auctions;
    the others to one of the last 100 auctions (or up to 10 ahead, not made yet). A quarter of
    bidders and sellers likewise are hot (ratio 4). Event time advances by 1000 / rate ms per
    event from 2015-07-15T00:00:00Z (as Flink's nexmark), rate given in events per second.

    Records are CSV text, a kind tag first, times in epoch milliseconds, no padding:
        P,id,name,email,credit_card,city,state,date_time,extra
        A,id,item_name,description,initial_bid,reserve,date_time,expires,seller,category,extra
        B,auction,bidder,price,channel,url,date_time,extra */
#ifndef RILL_NEXMARK_GEN_H_INCLUDED
#define RILL_NEXMARK_GEN_H_INCLUDED

#include <stdint.h>
#include <string.h>

#define NEXMARK_PROPORTION_PERSON 1
#define NEXMARK_PROPORTION_AUCTION 3
#define NEXMARK_PROPORTION_TOTAL 50
#define NEXMARK_FIRST_PERSON_ID 1000
#define NEXMARK_FIRST_AUCTION_ID 1000
#define NEXMARK_FIRST_CATEGORY_ID 10
#define NEXMARK_CATEGORIES 5
#define NEXMARK_HOT_AUCTION_RATIO 2 //  P(hot) = 1 - 1/ratio (Beam's defaults)
#define NEXMARK_HOT_BIDDER_RATIO 4
#define NEXMARK_HOT_SELLER_RATIO 4
#define NEXMARK_HOT_BLOCK 100 //  the hot one is the first of the latest block of this many
#define NEXMARK_IN_FLIGHT_AUCTIONS 100
#define NEXMARK_ACTIVE_PEOPLE 1000
#define NEXMARK_ID_LEAD 10
//  2015-07-15T00:00:00Z in epoch milliseconds.
#define NEXMARK_BASE_TIME 1436918400000LL
#define NEXMARK_DEFAULT_SEED 42
#define NEXMARK_DEFAULT_EVENT_RATE 10000
#define NEXMARK_RECORD_MAX 512

typedef enum {
    NEXMARK_PERSON = 'P',
    NEXMARK_AUCTION = 'A',
    NEXMARK_BID = 'B',
} nexmark_kind_t;

//  One event, as numbers; nexmark_event_format writes its CSV line.
typedef struct {
    nexmark_kind_t kind;
    int64_t time; //  date_time, epoch ms
    //  person: id, name (two list indices), card digits, city/state index
    //  auction: id, seller, category, initial bid, reserve, expires
    //  bid: auction, bidder, price, channel
    int64_t id;
    int64_t seller;   //  auction's seller; bid's bidder
    int64_t category; //  auction
    int64_t price;    //  auction's initial bid; bid's price
    int64_t reserve;
    int64_t expires;
    int first_name, last_name, city, channel;
    uint64_t card;
} nexmark_event_t;

static const char *const nexmark_first_names[] = {
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"};
static const char *const nexmark_last_names[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                                 "Walton", "Smith",  "Jones",   "Noris"};
//  Cities and the state each is in.
static const char *const nexmark_cities[] = {"Phoenix",  "Los Angeles", "San Francisco", "Boise",
                                             "Portland", "Bend",        "Redmond",       "Seattle",
                                             "Kent",     "Cheyenne"};
static const char *const nexmark_states[] = {"AZ", "CA", "CA", "ID", "OR",
                                             "OR", "WA", "WA", "WA", "WY"};
static const char *const nexmark_channels[] = {"Google", "Facebook", "Baidu", "Apple"};
#define NEXMARK_COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))

//  The random stream of one event: splitmix64 from (seed, event number).
typedef struct {
    uint64_t state;
} nexmark_random_t;

static inline uint64_t nexmark_random_next(nexmark_random_t *self)
{
    uint64_t z = (self->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

//  Uniform in [0, n), n > 0.
static inline int64_t nexmark_random_below(nexmark_random_t *self, int64_t n)
{
    return (int64_t)(nexmark_random_next(self) % (uint64_t)n);
}

static inline double nexmark_random_unit(nexmark_random_t *self)
{
    return (double)(nexmark_random_next(self) >> 11) * (1.0 / 9007199254740992.0);
}

//  Event time of event n at `rate` events per second.
static inline int64_t nexmark_time(uint64_t n, int64_t rate)
{
    return NEXMARK_BASE_TIME + (int64_t)(n * 1000 / (uint64_t)rate);
}

//  The 0-based id of the latest person made at or before event n.
static inline int64_t nexmark_last_person(uint64_t n)
{
    return (int64_t)(n / NEXMARK_PROPORTION_TOTAL);
}

//  The 0-based id of the latest auction made at or before event n (-1: none yet).
static inline int64_t nexmark_last_auction(uint64_t n)
{
    int64_t epoch = (int64_t)(n / NEXMARK_PROPORTION_TOTAL);
    int64_t offset = (int64_t)(n % NEXMARK_PROPORTION_TOTAL);
    if (offset < NEXMARK_PROPORTION_PERSON)
        return epoch * NEXMARK_PROPORTION_AUCTION - 1;
    if (offset >= NEXMARK_PROPORTION_PERSON + NEXMARK_PROPORTION_AUCTION)
        offset = NEXMARK_PROPORTION_PERSON + NEXMARK_PROPORTION_AUCTION - 1;
    return epoch * NEXMARK_PROPORTION_AUCTION + offset - NEXMARK_PROPORTION_PERSON;
}

//  A person active around event n (the last 1000, or up to 10 ahead), 0-based.
static inline int64_t nexmark_some_person(uint64_t n, nexmark_random_t *random)
{
    int64_t people = nexmark_last_person(n) + 1;
    int64_t active = people < NEXMARK_ACTIVE_PEOPLE ? people : NEXMARK_ACTIVE_PEOPLE;
    return people - active + nexmark_random_below(random, active + NEXMARK_ID_LEAD);
}

//  An auction in flight around event n (the last 100, or up to 10 ahead), 0-based.
static inline int64_t nexmark_some_auction(uint64_t n, nexmark_random_t *random)
{
    int64_t last = nexmark_last_auction(n);
    if (last < 0)
        last = 0;
    int64_t low = last - NEXMARK_IN_FLIGHT_AUCTIONS > 0 ? last - NEXMARK_IN_FLIGHT_AUCTIONS : 0;
    return low + nexmark_random_below(random, last - low + 1 + NEXMARK_ID_LEAD);
}

//  Prices in cents, log-uniform from 1 to 1,000,000 dollars.
static inline int64_t nexmark_price(nexmark_random_t *random)
{
    double dollars = 1.0;
    double exponent = nexmark_random_unit(random) * 6.0;
    //  10^exponent without libm (the job and the test link nothing more)
    int whole = (int)exponent;
    for (int i = 0; i < whole; i++)
        dollars *= 10.0;
    double fraction = (exponent - whole) * 2.302585092994046; //  ln 10
    double term = 1.0, sum = 1.0;
    for (int i = 1; i < 20; i++) {
        term *= fraction / i;
        sum += term;
    }
    return (int64_t)(dollars * sum * 100.0 + 0.5);
}

//  Makes event n. rate: events per second of event time (> 0).
static inline void nexmark_event(uint64_t seed, uint64_t n, int64_t rate, nexmark_event_t *event)
{
    memset(event, 0, sizeof *event);
    nexmark_random_t random = {seed * 0x2545f4914f6cdd1dull + n * 0x9e3779b97f4a7c15ull};
    nexmark_random_next(&random);
    event->time = nexmark_time(n, rate);
    uint64_t offset = n % NEXMARK_PROPORTION_TOTAL;
    if (offset < NEXMARK_PROPORTION_PERSON) {
        event->kind = NEXMARK_PERSON;
        event->id = nexmark_last_person(n) + NEXMARK_FIRST_PERSON_ID;
        event->first_name = (int)nexmark_random_below(&random, NEXMARK_COUNT(nexmark_first_names));
        event->last_name = (int)nexmark_random_below(&random, NEXMARK_COUNT(nexmark_last_names));
        event->city = (int)nexmark_random_below(&random, NEXMARK_COUNT(nexmark_cities));
        event->card = nexmark_random_next(&random) % 10000000000000000ull;
    } else if (offset < NEXMARK_PROPORTION_PERSON + NEXMARK_PROPORTION_AUCTION) {
        event->kind = NEXMARK_AUCTION;
        event->id = nexmark_last_auction(n) + NEXMARK_FIRST_AUCTION_ID;
        int64_t seller = nexmark_random_below(&random, NEXMARK_HOT_SELLER_RATIO) > 0
                             ? nexmark_last_person(n) / NEXMARK_HOT_BLOCK * NEXMARK_HOT_BLOCK
                             : nexmark_some_person(n, &random);
        event->seller = seller + NEXMARK_FIRST_PERSON_ID;
        event->category =
            NEXMARK_FIRST_CATEGORY_ID + nexmark_random_below(&random, NEXMARK_CATEGORIES);
        event->price = nexmark_price(&random);
        event->reserve = event->price + nexmark_price(&random);
        //  Auctions last on average as long as it takes to make 100 more auctions (Beam's
        //  horizon), from 1 ms to twice that.
        uint64_t ahead = (uint64_t)NEXMARK_IN_FLIGHT_AUCTIONS * NEXMARK_PROPORTION_TOTAL /
                         NEXMARK_PROPORTION_AUCTION;
        int64_t horizon = nexmark_time(n + ahead, rate) - event->time;
        event->expires =
            event->time + 1 + nexmark_random_below(&random, horizon * 2 > 1 ? horizon * 2 : 1);
    } else {
        event->kind = NEXMARK_BID;
        int64_t auction = nexmark_random_below(&random, NEXMARK_HOT_AUCTION_RATIO) > 0
                              ? nexmark_last_auction(n) / NEXMARK_HOT_BLOCK * NEXMARK_HOT_BLOCK
                              : nexmark_some_auction(n, &random);
        event->id = auction + NEXMARK_FIRST_AUCTION_ID;
        int64_t bidder = nexmark_random_below(&random, NEXMARK_HOT_BIDDER_RATIO) > 0
                             ? nexmark_last_person(n) / NEXMARK_HOT_BLOCK * NEXMARK_HOT_BLOCK + 1
                             : nexmark_some_person(n, &random);
        event->seller = bidder + NEXMARK_FIRST_PERSON_ID;
        event->price = nexmark_price(&random);
        //  A few hot channels, the rest one of 10,000 others.
        event->channel = (int)nexmark_random_below(&random, 100);
        if (event->channel < 100 - NEXMARK_COUNT(nexmark_channels))
            event->channel = (int)nexmark_random_below(&random, 10000) + 100;
        else
            event->channel -= 100 - NEXMARK_COUNT(nexmark_channels);
    }
}

//  Text appended at `at` (no NUL); returns the end. Written by hand: snprintf was most of the
//  generator's time.
static inline char *nexmark_put_text(char *at, const char *text)
{
    size_t size = strlen(text);
    memcpy(at, text, size);
    return at + size;
}

static inline char *nexmark_put_number(char *at, int64_t value)
{
    char digits[24];
    int count = 0;
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    do {
        digits[count++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (value < 0)
        *at++ = '-';
    while (count)
        *at++ = digits[--count];
    return at;
}

//  Four digits with leading zeros.
static inline char *nexmark_put_four(char *at, uint64_t value)
{
    for (int i = 3; i >= 0; i--, value /= 10)
        at[i] = (char)('0' + value % 10);
    return at + 4;
}

//  The event's CSV line into text (size >= NEXMARK_RECORD_MAX, no newline, no NUL). Returns
//  its length, or 0 when text is too small.
static inline size_t nexmark_event_format(const nexmark_event_t *event, char *text, size_t size)
{
    if (size < NEXMARK_RECORD_MAX)
        return 0;
    char *at = text;
    switch (event->kind) {
    case NEXMARK_PERSON: {
        const char *first = nexmark_first_names[event->first_name];
        const char *last = nexmark_last_names[event->last_name];
        at = nexmark_put_text(at, "P,");
        at = nexmark_put_number(at, event->id);
        *at++ = ',';
        at = nexmark_put_text(at, first);
        *at++ = ' ';
        at = nexmark_put_text(at, last);
        *at++ = ',';
        at = nexmark_put_text(at, first);
        *at++ = '.';
        at = nexmark_put_text(at, last);
        at = nexmark_put_number(at, event->id);
        at = nexmark_put_text(at, "@example.com,");
        at = nexmark_put_four(at, event->card / 1000000000000ull);
        *at++ = ' ';
        at = nexmark_put_four(at, event->card / 100000000ull % 10000);
        *at++ = ' ';
        at = nexmark_put_four(at, event->card / 10000 % 10000);
        *at++ = ' ';
        at = nexmark_put_four(at, event->card % 10000);
        *at++ = ',';
        at = nexmark_put_text(at, nexmark_cities[event->city]);
        *at++ = ',';
        at = nexmark_put_text(at, nexmark_states[event->city]);
        *at++ = ',';
        at = nexmark_put_number(at, event->time);
        *at++ = ',';
        break;
    }
    case NEXMARK_AUCTION:
        at = nexmark_put_text(at, "A,");
        at = nexmark_put_number(at, event->id);
        at = nexmark_put_text(at, ",item-");
        at = nexmark_put_number(at, event->id);
        at = nexmark_put_text(at, ",description of item ");
        at = nexmark_put_number(at, event->id);
        const int64_t numbers[] = {event->price,   event->reserve, event->time,
                                   event->expires, event->seller,  event->category};
        for (int i = 0; i < 6; i++) {
            *at++ = ',';
            at = nexmark_put_number(at, numbers[i]);
        }
        *at++ = ',';
        break;
    case NEXMARK_BID:
        at = nexmark_put_text(at, "B,");
        at = nexmark_put_number(at, event->id);
        *at++ = ',';
        at = nexmark_put_number(at, event->seller);
        *at++ = ',';
        at = nexmark_put_number(at, event->price);
        *at++ = ',';
        if (event->channel < 100) {
            at = nexmark_put_text(at, nexmark_channels[event->channel]);
            at = nexmark_put_text(at, ",https://www.nexmark.com/item.htm?query=1,");
        } else {
            at = nexmark_put_text(at, "channel-");
            at = nexmark_put_number(at, event->channel - 100);
            at = nexmark_put_text(at, ",https://www.nexmark.com/item.htm?query=1&channel_id=");
            at = nexmark_put_number(at, event->channel - 100);
            *at++ = ',';
        }
        at = nexmark_put_number(at, event->time);
        *at++ = ',';
        break;
    }
    return (size_t)(at - text);
}

#endif
