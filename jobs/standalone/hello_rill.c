/* hello_rill.c: a complete rill program. Build it against an installed rill with
       cc hello_rill.c $(pkg-config --cflags --libs rill) -o hello_rill
   It sums numbers per key: records "even<TAB>n" / "odd<TAB>n" for n = 0..999,
   keyed by their first field, summed, and handed back to this program. */
#include <rill/rill.h>
#include <stdio.h>

static int make_record(uint64_t n, rill_collector_t *out, void *ctx)
{
    char text[32];
    int size = snprintf(text, sizeof text, "%s\t%llu", n % 2 ? "odd" : "even",
                        (unsigned long long)n);
    return rill_collector_emit(out, text, (size_t)size, RILL_NO_TIMESTAMP);
}

int main(void)
{
    rill_env_t *env = rill_env_new();
    rill_results_t *results = rill_results_new();
    rill_env_set_parallelism(env, 2);

    rill_stream_t *numbers = rill_env_from_generator(env, make_record, NULL, 1000);
    rill_keyed_stream_t keyed = rill_stream_key_by(numbers, rill_key_first_field, NULL);
    rill_stream_collect(rill_stream_sum(keyed), results);

    if (rill_env_execute(env) != 0) {
        fprintf(stderr, "job failed: %s\n", rill_env_error(env));
        return 1;
    }
    rill_results_sort(results);
    for (size_t i = 0; i < rill_results_size(results); i++) {
        rill_record_t r = rill_results_record(results, i);
        printf("%.*s\n", (int)r.size, (const char *)r.data);
    }
    rill_results_destroy(&results);
    rill_env_destroy(&env);
    return 0;
}
