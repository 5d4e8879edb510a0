/*  rill_tsan.h: tells ThreadSanitizer about the happens-before that a ZeroMQ hand-off gives.
    libzmq is not instrumented, so TSan cannot see that a batch the writer filled before
    zmq_msg_send is complete when the reader's zmq_msg_recv returns it, nor that the reader is
    done with it when the last zmq_msg_close frees it (possibly in the writer's thread, for a
    broadcast batch shared by several receivers). Each hand-off point releases or acquires on
    the buffer's address. Without -fsanitize=thread the macros are nothing. */
#ifndef RILL_TSAN_H_INCLUDED
#define RILL_TSAN_H_INCLUDED

#if defined(__SANITIZE_THREAD__)
#define RILL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RILL_TSAN 1
#endif
#endif

#ifdef RILL_TSAN
//  The ThreadSanitizer runtime's annotation entry points (its sanitizer/tsan_interface.h).
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
//  Everything this thread wrote to the buffer before now is visible after RILL_TSAN_ACQUIRE
//  on the same address in the thread that receives it.
#define RILL_TSAN_RELEASE(buffer) __tsan_release((void *)(buffer))
#define RILL_TSAN_ACQUIRE(buffer) __tsan_acquire((void *)(buffer))
#else
#define RILL_TSAN_RELEASE(buffer) ((void)(buffer))
#define RILL_TSAN_ACQUIRE(buffer) ((void)(buffer))
#endif

#endif
