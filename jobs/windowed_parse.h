/*  windowed_parse.h: the `windowed` job's parsers for its input (CSV rows, times, durations)
    and its output (CSV quoting). Header-only, so that the job plugin (jobs/windowed.c) and
    the fuzz target (tests/fuzz/fuzz_windowed_row.c) compile the very same code; every .c file
    in jobs/ becomes a plugin of its own, so this cannot be a .c file there. Pure functions on
    byte spans: no allocation, no global state, never reads past `size`. */
#ifndef RILL_WINDOWED_PARSE_H_INCLUDED
#define RILL_WINDOWED_PARSE_H_INCLUDED

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RILL_WINDOWED_MAX_COLUMNS 256
//  The longest key (bytes, after unquoting); a longer one makes a bad row.
#define RILL_WINDOWED_MAX_KEY 400
//  The longest value text; as long as the window aggregations read (rill_number.c).
#define RILL_WINDOWED_MAX_VALUE 63

static inline bool rill_windowed_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

//  Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
static inline int64_t rill_windowed_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static inline int rill_windowed_digits(const char *text, int count, int *value)
{
    *value = 0;
    for (int i = 0; i < count; i++) {
        if (!rill_windowed_is_digit(text[i]))
            return -1;
        *value = *value * 10 + (text[i] - '0');
    }
    return 0;
}

//  "2001-01-01T00:01:00.000Z" (fraction and Z optional; a space may replace T) or an integer
//  of epoch milliseconds (at most 16 characters). 0, or -1.
static inline int rill_windowed_parse_time(const char *text, size_t size, int64_t *ms)
{
    char buffer[64];
    if (size == 0 || size >= sizeof buffer)
        return -1;
    memcpy(buffer, text, size);
    buffer[size] = 0;
    if (memchr(buffer, 0, size))
        return -1; //  a NUL inside the field would end the text early
    char *end;
    errno = 0;
    long long epoch = strtoll(buffer, &end, 10);
    if (end != buffer && *end == 0 && errno == 0 && size < 17) {
        *ms = epoch;
        return 0;
    }
    int year, month, day, hour, minute, second;
    if (size < 19 || rill_windowed_digits(buffer, 4, &year) || buffer[4] != '-' ||
        rill_windowed_digits(buffer + 5, 2, &month) || buffer[7] != '-' ||
        rill_windowed_digits(buffer + 8, 2, &day) || (buffer[10] != 'T' && buffer[10] != ' ') ||
        rill_windowed_digits(buffer + 11, 2, &hour) || buffer[13] != ':' ||
        rill_windowed_digits(buffer + 14, 2, &minute) || buffer[16] != ':' ||
        rill_windowed_digits(buffer + 17, 2, &second))
        return -1;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return -1;
    const char *rest = buffer + 19;
    int64_t millis = 0;
    if (*rest == '.') {
        rest++;
        int digits = 0;
        for (; rill_windowed_is_digit(*rest); rest++, digits++)
            if (digits < 3)
                millis = millis * 10 + (*rest - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            millis *= 10;
    }
    if (*rest == 'Z')
        rest++;
    if (*rest)
        return -1;
    *ms = ((rill_windowed_days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60000LL +
          second * 1000LL + millis;
    return 0;
}

//  "250ms", "10s", "5m", "1h", "1d" (a bare number is milliseconds) -> ms. 0, or -1 for
//  anything else, a negative value, or one beyond INT64_MAX ms.
static inline int rill_windowed_parse_duration(const char *text, int64_t *ms)
{
    if (!rill_windowed_is_digit(*text))
        return -1;
    char *unit;
    errno = 0;
    long long value = strtoll(text, &unit, 10);
    if (errno || value < 0)
        return -1;
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {{"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].name) == 0) {
            if (value > INT64_MAX / units[i].ms)
                return -1;
            *ms = value * units[i].ms;
            return 0;
        }
    return -1;
}

//  Splits a CSV line into fields (RFC 4180: double quotes group a field, "" inside it is one
//  quote, kept as two here: see rill_windowed_unquote). Blanks around unquoted fields are
//  trimmed. quoted (may be NULL) says per field whether it was quoted. Returns the count.
static inline int rill_windowed_split(const char *line, size_t size, const char **starts,
                                      size_t *sizes, bool *quoted_fields, int max)
{
    int count = 0;
    size_t i = 0;
    while (count < max) {
        bool quoted = i < size && line[i] == '"';
        size_t start = quoted ? i + 1 : i, end;
        if (quoted) {
            end = start;
            while (end < size && !(line[end] == '"' && (end + 1 >= size || line[end + 1] != '"')))
                end += line[end] == '"' ? 2 : 1;
            i = end < size ? end + 1 : size;
        } else {
            end = start;
            while (end < size && line[end] != ',')
                end++;
            i = end;
        }
        while (!quoted && start < end && isspace((unsigned char)line[start]))
            start++;
        while (!quoted && end > start && isspace((unsigned char)line[end - 1]))
            end--;
        starts[count] = line + start;
        sizes[count] = end - start;
        if (quoted_fields)
            quoted_fields[count] = quoted;
        count++;
        if (i >= size || line[i] != ',')
            break;
        i++;
    }
    return count;
}

//  Copies a field into out (capacity bytes), turning "" into " when it was quoted. The
//  copied size, or -1 when it does not fit.
static inline long rill_windowed_unquote(const char *field, size_t size, bool quoted, char *out,
                                         size_t capacity)
{
    size_t length = 0;
    for (size_t i = 0; i < size; i++) {
        if (length == capacity)
            return -1;
        out[length++] = field[i];
        if (quoted && field[i] == '"' && i + 1 < size && field[i + 1] == '"')
            i++;
    }
    return (long)length;
}

//  The number of bytes of a UTF-8 byte-order mark at the start of a line (3), else 0.
static inline size_t rill_windowed_bom(const char *line, size_t size)
{
    return size >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

//  A value the aggregations can use: a decimal integer, or a real number that is finite and
//  did not overflow or underflow (nan, inf, 1e999 are refused). Copies it NUL-terminated
//  into number (RILL_WINDOWED_MAX_VALUE + 1 bytes). 0; -1 for no number; -2 for a number
//  that is not finite (nan, inf, or beyond the range of a double).
static inline int rill_windowed_parse_value(const char *text, size_t size, char *number)
{
    if (size == 0 || size > RILL_WINDOWED_MAX_VALUE || memchr(text, 0, size))
        return -1;
    memcpy(number, text, size);
    number[size] = 0;
    char *end;
    errno = 0;
    (void)strtoll(number, &end, 10);
    if (end != number && *end == 0 && errno == 0)
        return 0;
    errno = 0;
    double value = strtod(number, &end);
    if (end == number || *end != 0)
        return -1;
    //  ERANGE is an overflow to inf or an underflow: both lose the value.
    return errno == 0 && isfinite(value) ? 0 : -2;
}

//  Which columns hold the time, key and value, and how many a row has.
typedef struct {
    int time_column, key_column, value_column;
    int columns;
} rill_windowed_columns_t;

//  Reads the header row (after any byte-order mark). NULL when every name was found, else the
//  name that was not.
static inline const char *rill_windowed_parse_header(const char *line, size_t size,
                                                     const char *time_name, const char *key_name,
                                                     const char *value_name,
                                                     rill_windowed_columns_t *columns)
{
    size_t bom = rill_windowed_bom(line, size);
    const char *starts[RILL_WINDOWED_MAX_COLUMNS];
    size_t sizes[RILL_WINDOWED_MAX_COLUMNS];
    columns->columns =
        rill_windowed_split(line + bom, size - bom, starts, sizes, NULL, RILL_WINDOWED_MAX_COLUMNS);
    const char *names[] = {time_name, key_name, value_name};
    int *found[] = {&columns->time_column, &columns->key_column, &columns->value_column};
    for (int n = 0; n < 3; n++) {
        *found[n] = -1;
        for (int i = 0; i < columns->columns && *found[n] < 0; i++)
            if (sizes[i] == strlen(names[n]) && memcmp(starts[i], names[n], sizes[i]) == 0)
                *found[n] = i;
        if (*found[n] < 0)
            return names[n];
    }
    return NULL;
}

//  One parsed row: its time, its key (unquoted) and its value text.
typedef struct {
    int64_t time;
    char key[RILL_WINDOWED_MAX_KEY];
    size_t key_size;
    char value[RILL_WINDOWED_MAX_VALUE + 1];
} rill_windowed_row_t;

//  Parses one data row. NULL when it is good, else why it is not (for the bad-row report).
static inline const char *rill_windowed_parse_row(const rill_windowed_columns_t *columns,
                                                  const char *line, size_t size,
                                                  rill_windowed_row_t *row)
{
    const char *starts[RILL_WINDOWED_MAX_COLUMNS];
    size_t sizes[RILL_WINDOWED_MAX_COLUMNS];
    bool quoted[RILL_WINDOWED_MAX_COLUMNS];
    int count = rill_windowed_split(line, size, starts, sizes, quoted, RILL_WINDOWED_MAX_COLUMNS);
    if (count != columns->columns)
        return "wrong number of columns";
    int t = columns->time_column, k = columns->key_column, v = columns->value_column;
    if (rill_windowed_parse_time(starts[t], sizes[t], &row->time))
        return "cannot read the time";
    int value = rill_windowed_parse_value(starts[v], sizes[v], row->value);
    if (value)
        return value == -2
                   ? "cannot read the value (not a finite number, or beyond a double's range)"
                   : "cannot read the value";
    long key_size =
        rill_windowed_unquote(starts[k], sizes[k], quoted[k], row->key, sizeof row->key);
    if (key_size < 0)
        return "key too long";
    row->key_size = (size_t)key_size;
    return NULL;
}

//  Writes field as one CSV field into out (capacity bytes): quoted, with quotes doubled, when
//  it holds a comma, a quote, a line end or a tab (any blank but a space), or starts or ends
//  with a blank (which readers, ours included, trim); as it is otherwise. Returns the size needed
//  (nothing written past capacity), as snprintf does, but without a NUL.
static inline size_t rill_windowed_csv_field(const char *field, size_t size, char *out,
                                             size_t capacity)
{
    bool quote =
        size > 0 && (isspace((unsigned char)field[0]) || isspace((unsigned char)field[size - 1]));
    for (size_t i = 0; i < size && !quote; i++)
        quote = field[i] == ',' || field[i] == '"' ||
                (field[i] != ' ' && isspace((unsigned char)field[i]));
    size_t length = 0;
#define RILL_WINDOWED_PUT(c)                                                                       \
    do {                                                                                           \
        if (length < capacity)                                                                     \
            out[length] = (c);                                                                     \
        length++;                                                                                  \
    } while (0)
    if (quote)
        RILL_WINDOWED_PUT('"');
    for (size_t i = 0; i < size; i++) {
        if (quote && field[i] == '"')
            RILL_WINDOWED_PUT('"');
        RILL_WINDOWED_PUT(field[i]);
    }
    if (quote)
        RILL_WINDOWED_PUT('"');
#undef RILL_WINDOWED_PUT
    return length;
}

#endif
