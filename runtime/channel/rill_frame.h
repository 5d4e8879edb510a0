/*  rill_frame.h: the wire format of one ZeroMQ frame on a channel. A frame is a batch of
    entries (records and watermarks) or one control event; its header names the sending subtask
    so the receiver knows which channel it came from (end-of-stream counting, watermarks).
    Inline helpers: the writer serializes with them, the reader decodes with them.

    Frames are about to cross hosts (tcp, issue 14), so the format owes nothing to the host:
    every integer is little-endian, put and got through rill_frame_put_le* / rill_frame_get_le*
    (a plain load or store on a little-endian host, a byte swap on a big-endian one), and the
    header is a byte layout, not a C struct copied whole. The header is
    RILL_FRAME_HEADER_SIZE (20) bytes:

        byte  0      magic 0x52 ('R'): a cheap check that a frame is ours
        byte  1      version, RILL_FRAME_VERSION (1)
        byte  2      kind (rill_frame_kind_t)
        byte  3      reserved, 0
        bytes 4-5    sender: the subtask index within the sending operator (u16)
        bytes 6-7    reserved, 0
        bytes 8-11   count: entries in a DATA frame, a PROBE's record count (u32)
        bytes 12-19  value: a BARRIER's checkpoint id, a PROBE's round, 0 otherwise (i64)

    Bytes 0 and 1 keep their meaning in every version, so a receiver can tell a peer speaking
    another version from garbage and say so. Reserved bytes must be 0: a later version may give
    them a meaning, and this one refuses what it cannot read rather than guess.

    An entry starts with a flags byte. A watermark is the byte RILL_ENTRY_WATERMARK and the
    8-byte watermark. A record is the flags, its size as a varint, then only the fields its
    flags announce, in this order: timestamp (8 bytes; absent means RILL_NO_TIMESTAMP), trace
    id (8), key hash (8), key offset and size (varints, only with the hash), then its bytes. An
    8-byte record with no timestamp takes 10 bytes, where a fixed header made it 20. Entries
    are packed without padding.

    Decoding is strict, so a frame decodes one way or is refused: a header of another version
    or with a reserved byte set, unknown flag bits, a varint longer than it must be or than 32
    bits, a size past the frame, a key range past the record, a hash of 0, a timestamp field
    holding RILL_NO_TIMESTAMP are all errors. */
#ifndef RILL_FRAME_H_INCLUDED
#define RILL_FRAME_H_INCLUDED

#include <stdint.h>
#include <string.h>

#include "rill_buffer.h"
#include "rill_key_hash.h"
#include "rill_record.h"

typedef enum {
    RILL_FRAME_DATA = 1, //  records and watermark entries follow
    RILL_FRAME_END = 2,  //  end of partition: this sender sends nothing more on this channel
    RILL_FRAME_IDLE = 4, //  the sender has no data for a while: leave it out of the minimum
    //  Checkpoint barrier (value: the checkpoint id): everything the sender sent before it
    //  belongs to the checkpoint, everything after to the next (Flink's barrier).
    RILL_FRAME_BARRIER = 8,
    //  The first frame a sender sends on a tcp channel (value: the job's token, its plan
    //  digest): once the ROUTER could route it, the connection is up, and the receiver knows
    //  the channel belongs to this job. Never sent inside a process.
    RILL_FRAME_HELLO = 16,
    //  An iteration's termination probe (value: its round; count: how many records the heads
    //  took back from the feedback edge in the round before, saturated: only 0 matters). It
    //  travels only on the edges inside a loop, aligned like a barrier (rill_iterate.h).
    RILL_FRAME_PROBE = 32,
} rill_frame_kind_t;

#define RILL_FRAME_MAGIC 0x52u //  'R': a cheap check that a frame is ours
#define RILL_FRAME_VERSION 1u  //  the header layout above; a frame of another is refused
#define RILL_FRAME_HEADER_SIZE 20

//  A header as decoded (rill_frame_header_get), or to encode (rill_frame_header_put); its
//  layout in memory is the host's and never goes on the wire.
typedef struct {
    uint8_t magic;
    uint8_t kind;
    uint16_t sender; //  subtask index within the sending operator
    uint32_t count;  //  entries (records and watermarks) in a DATA frame
    int64_t value;   //  control event payload: a BARRIER's checkpoint id (END, IDLE: 0)
} rill_frame_header_t;

//  Little-endian integers at any address. memcpy is how C reads and writes unaligned bytes
//  without undefined behaviour; compilers turn it into one load or store. The swap is a
//  constant condition, not an #if, so it compiles (and is type-checked) on every host and
//  costs nothing where it does not run.
#if !defined(__BYTE_ORDER__) || !defined(__ORDER_BIG_ENDIAN__)
#error "rill_frame.h: the compiler does not say the host's byte order (__BYTE_ORDER__)"
#endif
#define RILL_FRAME_HOST_IS_BIG_ENDIAN (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)

static inline void rill_frame_put_le16(uint8_t *at, uint16_t value)
{
    if (RILL_FRAME_HOST_IS_BIG_ENDIAN)
        value = __builtin_bswap16(value);
    memcpy(at, &value, sizeof value);
}

static inline void rill_frame_put_le32(uint8_t *at, uint32_t value)
{
    if (RILL_FRAME_HOST_IS_BIG_ENDIAN)
        value = __builtin_bswap32(value);
    memcpy(at, &value, sizeof value);
}

static inline void rill_frame_put_le64(uint8_t *at, uint64_t value)
{
    if (RILL_FRAME_HOST_IS_BIG_ENDIAN)
        value = __builtin_bswap64(value);
    memcpy(at, &value, sizeof value);
}

static inline uint16_t rill_frame_get_le16(const uint8_t *at)
{
    uint16_t value;
    memcpy(&value, at, sizeof value);
    return RILL_FRAME_HOST_IS_BIG_ENDIAN ? __builtin_bswap16(value) : value;
}

static inline uint32_t rill_frame_get_le32(const uint8_t *at)
{
    uint32_t value;
    memcpy(&value, at, sizeof value);
    return RILL_FRAME_HOST_IS_BIG_ENDIAN ? __builtin_bswap32(value) : value;
}

static inline uint64_t rill_frame_get_le64(const uint8_t *at)
{
    uint64_t value;
    memcpy(&value, at, sizeof value);
    return RILL_FRAME_HOST_IS_BIG_ENDIAN ? __builtin_bswap64(value) : value;
}

//  Writes h at `at` (RILL_FRAME_HEADER_SIZE bytes) in the layout above, with this build's
//  version and zero reserved bytes. The magic is h's, so a test can forge a bad one.
static inline void rill_frame_header_put(uint8_t *at, const rill_frame_header_t *h)
{
    at[0] = h->magic;
    at[1] = RILL_FRAME_VERSION;
    at[2] = h->kind;
    at[3] = 0;
    rill_frame_put_le16(at + 4, h->sender);
    at[6] = 0;
    at[7] = 0;
    rill_frame_put_le32(at + 8, h->count);
    rill_frame_put_le64(at + 12, (uint64_t)h->value);
}

//  Reads the header at the start of a frame of `size` bytes into h. 0, or -1 when the frame is
//  shorter than a header, its magic is not ours, its version is not RILL_FRAME_VERSION or a
//  reserved byte is not 0 (h is then left alone). The kind is the caller's to check.
static inline int rill_frame_header_get(const uint8_t *at, size_t size, rill_frame_header_t *h)
{
    if (size < RILL_FRAME_HEADER_SIZE || at[0] != RILL_FRAME_MAGIC || at[1] != RILL_FRAME_VERSION ||
        at[3] || at[6] || at[7])
        return -1;
    h->magic = at[0];
    h->kind = at[2];
    h->sender = rill_frame_get_le16(at + 4);
    h->count = rill_frame_get_le32(at + 8);
    h->value = (int64_t)rill_frame_get_le64(at + 12);
    return 0;
}

//  The flags byte of an entry.
#define RILL_ENTRY_TIMESTAMP 0x01u //  an 8-byte event timestamp follows
#define RILL_ENTRY_TRACED 0x02u    //  an 8-byte trace id follows (a record sampled for tracing)
#define RILL_ENTRY_KEY_HASH 0x04u  //  the 8-byte rill_key_hash of its key (hash edges)
#define RILL_ENTRY_KEY_RANGE 0x08u //  with the hash: the key is the record's bytes at offset
#define RILL_ENTRY_RECORD_FLAGS 0x0fu
#define RILL_ENTRY_WATERMARK 0x80u //  alone: a watermark, in order with the records

#define RILL_RECORD_MAX_SIZE 0x7ffffffeu
//  Bytes of a watermark entry, and the most a record's header can take (flags, size varint,
//  timestamp, trace, hash, two varints).
#define RILL_WATERMARK_ENTRY_SIZE (1 + sizeof(int64_t))
#define RILL_RECORD_MAX_HEADER (1 + 5 + 3 * sizeof(uint64_t) + 5 + 5)

//  What rill_frame_get_entry found.
typedef enum {
    RILL_ENTRY_IS_RECORD = 1,
    RILL_ENTRY_IS_WATERMARK = 2,
} rill_entry_kind_t;

//  One decoded entry: a record (with its trace id, 0 when not traced, and its key hint,
//  key.hash 0 when none came) or a watermark.
typedef struct {
    rill_record_t record;
    uint64_t trace;
    rill_key_hint_t key;
    int64_t watermark;
} rill_frame_entry_t;

//  Bytes the varint of value takes (LEB128: 7 bits a byte, low bits first).
static inline size_t rill_frame_varint_size(uint32_t value)
{
    size_t size = 1;
    while (value >= 0x80u) {
        value >>= 7;
        size++;
    }
    return size;
}

static inline uint8_t *rill_frame_put_varint(uint8_t *at, uint32_t value)
{
    while (value >= 0x80u) {
        *at++ = (uint8_t)(value | 0x80u);
        value >>= 7;
    }
    *at++ = (uint8_t)value;
    return at;
}

//  Reads a varint within [*at, end). 0, or -1 when it is truncated, longer than 5 bytes, has
//  a last byte of 0 after others (not the shortest form), or does not fit 32 bits.
static inline int rill_frame_get_varint(const uint8_t **at, const uint8_t *end, uint32_t *value)
{
    const uint8_t *p = *at;
    if (p < end && *p < 0x80u) { //  the common case: one byte
        *value = *p;
        *at = p + 1;
        return 0;
    }
    uint64_t result = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        if (p == end)
            return -1;
        uint8_t byte = *p++;
        result |= (uint64_t)(byte & 0x7fu) << shift;
        if (byte < 0x80u) {
            if ((byte == 0 && shift > 0) || result > UINT32_MAX)
                return -1;
            *value = (uint32_t)result;
            *at = p;
            return 0;
        }
    }
    return -1;
}

//  Copies a record's bytes. Records are often a few bytes (a word, a number): two overlapping
//  fixed-size copies inline beat a call to memcpy, and read nothing outside [data, data + size).
static inline void rill_frame_copy(uint8_t *at, const void *data, size_t size)
{
    const uint8_t *from = data;
    if (size >= 8 && size <= 16) {
        memcpy(at, from, 8);
        memcpy(at + size - 8, from + size - 8, 8);
    } else if (size >= 4 && size < 8) {
        memcpy(at, from, 4);
        memcpy(at + size - 4, from + size - 4, 4);
    } else if (size > 16)
        memcpy(at, from, size);
    else
        for (size_t i = 0; i < size; i++)
            at[i] = from[i];
}

//  Whether a record's key hint can travel as a byte range (an offset that fits a varint).
static inline int rill_frame_key_is_range(const rill_key_hint_t *key)
{
    return key && key->hash && key->offset >= 0;
}

//  Bytes a record takes in a frame. key may be NULL or have hash 0 (none carried).
static inline size_t rill_frame_record_size(size_t size, int64_t timestamp, uint64_t trace,
                                            const rill_key_hint_t *key)
{
    size_t bytes = 1 + rill_frame_varint_size((uint32_t)size) + size;
    if (timestamp != RILL_NO_TIMESTAMP)
        bytes += sizeof timestamp;
    if (trace)
        bytes += sizeof trace;
    if (key && key->hash) {
        bytes += sizeof key->hash;
        if (key->offset >= 0)
            bytes += rill_frame_varint_size((uint32_t)key->offset) +
                     rill_frame_varint_size((uint32_t)key->size);
    }
    return bytes;
}

//  Writes a record at `at` (rill_frame_record_size bytes) and returns the end. size is at most
//  RILL_RECORD_MAX_SIZE; a key range lies within the record.
static inline uint8_t *rill_frame_put_record(uint8_t *at, const void *data, uint32_t size,
                                             int64_t timestamp, uint64_t trace,
                                             const rill_key_hint_t *key)
{
    if (key && key->hash && key->offset >= 0 && timestamp == RILL_NO_TIMESTAMP && !trace &&
        size < 0x80u && (uint64_t)key->offset < 0x80u && key->size < 0x80u) {
        //  The usual record on a hash edge (a short word keyed by itself or its first field):
        //  every varint one byte.
        at[0] = RILL_ENTRY_KEY_HASH | RILL_ENTRY_KEY_RANGE;
        at[1] = (uint8_t)size;
        rill_frame_put_le64(at + 2, key->hash);
        at[10] = (uint8_t)key->offset;
        at[11] = (uint8_t)key->size;
        rill_frame_copy(at + 12, data, size);
        return at + 12 + size;
    }
    uint8_t *flags = at++;
    *flags = 0;
    at = rill_frame_put_varint(at, size);
    if (timestamp != RILL_NO_TIMESTAMP) {
        *flags |= RILL_ENTRY_TIMESTAMP;
        rill_frame_put_le64(at, (uint64_t)timestamp);
        at += sizeof timestamp;
    }
    if (trace) {
        *flags |= RILL_ENTRY_TRACED;
        rill_frame_put_le64(at, trace);
        at += sizeof trace;
    }
    if (key && key->hash) {
        *flags |= RILL_ENTRY_KEY_HASH;
        rill_frame_put_le64(at, key->hash);
        at += sizeof key->hash;
        if (key->offset >= 0) {
            *flags |= RILL_ENTRY_KEY_RANGE;
            at = rill_frame_put_varint(at, (uint32_t)key->offset);
            at = rill_frame_put_varint(at, (uint32_t)key->size);
        }
    }
    rill_frame_copy(at, data, size);
    return at + size;
}

//  Writes a watermark entry (RILL_WATERMARK_ENTRY_SIZE bytes) and returns the end.
static inline uint8_t *rill_frame_put_watermark(uint8_t *at, int64_t watermark)
{
    *at++ = RILL_ENTRY_WATERMARK;
    rill_frame_put_le64(at, (uint64_t)watermark);
    return at + sizeof watermark;
}

//  Reads the 8-byte little-endian field at *at within end into out (a uint64_t or int64_t).
//  0, or -1 when truncated.
static inline int rill_frame_get_u64(const uint8_t **at, const uint8_t *end, void *out)
{
    if ((size_t)(end - *at) < sizeof(uint64_t))
        return -1;
    uint64_t value = rill_frame_get_le64(*at);
    memcpy(out, &value, sizeof value);
    *at += sizeof(uint64_t);
    return 0;
}

//  Reads the entry at *at, within [*at, end), and moves *at past it. Returns
//  RILL_ENTRY_IS_RECORD or RILL_ENTRY_IS_WATERMARK with entry filled, or -1 with *why saying
//  what is wrong; a record's bytes point into the frame.
static inline int rill_frame_get_entry(const uint8_t **at, const uint8_t *end,
                                       rill_frame_entry_t *entry, const char **why)
{
    const uint8_t *p = *at;
    if (p == end) {
        *why = "truncated entry";
        return -1;
    }
    uint8_t flags = *p++;
    if (flags == 0 && p < end && *p < 0x80u) {
        //  The common case, first: no optional field and a size under 128.
        size_t size = *p++;
        if ((size_t)(end - p) < size) {
            *why = "truncated record";
            return -1;
        }
        entry->record = (rill_record_t){p, size, RILL_NO_TIMESTAMP};
        entry->trace = 0;
        entry->key.hash = 0;
        *at = p + size;
        return RILL_ENTRY_IS_RECORD;
    }
    if (flags == (RILL_ENTRY_KEY_HASH | RILL_ENTRY_KEY_RANGE) && end - p >= 11 && p[0] < 0x80u &&
        p[9] < 0x80u && p[10] < 0x80u) {
        //  The usual record on a hash edge, every varint one byte. Anything wrong with it falls
        //  through to the checks below, which say what.
        size_t size = p[0], offset = p[9], key_size = p[10];
        uint64_t hash = rill_frame_get_le64(p + 1);
        if (hash && offset + key_size <= size && (size_t)(end - p - 11) >= size) {
            entry->record = (rill_record_t){p + 11, size, RILL_NO_TIMESTAMP};
            entry->trace = 0;
            entry->key = (rill_key_hint_t){hash, (int64_t)offset, key_size};
            *at = p + 11 + size;
            return RILL_ENTRY_IS_RECORD;
        }
    }
    if (flags == RILL_ENTRY_WATERMARK) {
        if (rill_frame_get_u64(&p, end, &entry->watermark)) {
            *why = "truncated watermark";
            return -1;
        }
        *at = p;
        return RILL_ENTRY_IS_WATERMARK;
    }
    if (flags & ~RILL_ENTRY_RECORD_FLAGS) {
        *why = "unknown entry flags";
        return -1;
    }
    uint32_t size;
    if (rill_frame_get_varint(&p, end, &size) || size > RILL_RECORD_MAX_SIZE) {
        *why = "bad record size";
        return -1;
    }
    entry->record.timestamp = RILL_NO_TIMESTAMP;
    entry->trace = 0;
    entry->key.hash = 0;
    if (flags & (RILL_ENTRY_TIMESTAMP | RILL_ENTRY_TRACED | RILL_ENTRY_KEY_HASH)) {
        if (flags & RILL_ENTRY_TIMESTAMP) {
            if (rill_frame_get_u64(&p, end, &entry->record.timestamp)) {
                *why = "truncated record";
                return -1;
            }
            if (entry->record.timestamp == RILL_NO_TIMESTAMP) {
                *why = "a timestamp field that says there is none";
                return -1;
            }
        }
        if ((flags & RILL_ENTRY_TRACED) &&
            (rill_frame_get_u64(&p, end, &entry->trace) || !entry->trace)) {
            *why = "truncated record or a trace id of 0";
            return -1;
        }
        if ((flags & RILL_ENTRY_KEY_HASH) &&
            (rill_frame_get_u64(&p, end, &entry->key.hash) || !entry->key.hash)) {
            *why = "truncated record or a key hash of 0";
            return -1;
        }
    }
    entry->key.offset = -1;
    entry->key.size = 0;
    if (flags & RILL_ENTRY_KEY_RANGE) {
        uint32_t offset, key_size;
        if (!(flags & RILL_ENTRY_KEY_HASH) || rill_frame_get_varint(&p, end, &offset) ||
            rill_frame_get_varint(&p, end, &key_size) || (uint64_t)offset + key_size > size) {
            *why = "bad key range";
            return -1;
        }
        entry->key.offset = offset;
        entry->key.size = key_size;
    }
    if ((size_t)(end - p) < size) {
        *why = "truncated record";
        return -1;
    }
    entry->record.data = p;
    entry->record.size = size;
    *at = p + size;
    return RILL_ENTRY_IS_RECORD;
}

#endif
