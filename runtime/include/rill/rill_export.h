/*  rill_export.h: marks the functions that form rill's public API. The library is built with
    -fvisibility=hidden, so only what carries RILL_EXPORT is exported from librill.so; the rest
    stays internal and binds inside the library. */
#ifndef RILL_EXPORT_H_INCLUDED
#define RILL_EXPORT_H_INCLUDED

#if defined(__GNUC__) || defined(__clang__)
#define RILL_EXPORT __attribute__((visibility("default")))
#else
#define RILL_EXPORT
#endif

#endif
