/*  rill_export.h: marks the functions that form rill's public API. The library is built with
    -fvisibility=hidden, so only what carries RILL_EXPORT is exported from librill.so; the rest
    stays internal and binds inside the library. */
#ifndef RILL_EXPORT_H_INCLUDED
#define RILL_EXPORT_H_INCLUDED

#if defined(RILL_BUILDING) && (defined(__GNUC__) || defined(__clang__))
//  Inside the library the API is exported "protected": visible to programs and plugins, but
//  our own calls to it (rill_buffer_append, rill_collector_emit on the record path) bind
//  inside the library, with no PLT hop, as -Bsymbolic-functions used to arrange. rill does not
//  support interposing its own functions.
#define RILL_EXPORT __attribute__((visibility("protected")))
#elif defined(__GNUC__) || defined(__clang__)
#define RILL_EXPORT __attribute__((visibility("default")))
#else
#define RILL_EXPORT
#endif

#endif
