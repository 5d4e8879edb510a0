/*  test_cluster.c: one job across several processes on this machine, each on a loopback
    address of its own (127.0.0.2, 127.0.0.3, ...), started the two documented ways: Open MPI's
    mpirun (one command line, the rank from the launcher) and the plain form (rill run
    --workers N plus rill worker --join). Whatever the processes, a job's output must be the
    single-process run's; a peer without the cluster's key never joins; a worker killed mid-job
    fails the job within seconds, naming it. make test installs openmpi-bin (mpirun). */
#define _GNU_SOURCE //  asprintf
#include "rill_frame.h"
#include "rill_plan_private.h"
#include "rill_security.h"
#include "rill_writer.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

//  ---- fixtures

typedef struct {
    char *dir;   //  temporary: inputs, outputs, keys
    char *keys;  //  the cluster certificate
    char *other; //  a certificate of another cluster
    char *text;  //  wordcount's input
    char *csv;   //  windowed's input
    char bin[PATH_MAX];
    char plugin[PATH_MAX]; //  tests/exchange-patterns.so
} s_fixture_t;

static char *s_path(const char *dir, const char *name)
{
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    return path;
}

static int s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof(s_fixture_t));
    f->dir = strdup("/tmp/rill-cluster-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->keys = s_path(f->dir, "keys");
    f->other = s_path(f->dir, "other-keys");
    char error[256];
    assert_int_equal(rill_security_make_keys(f->keys, false, error, sizeof error), 0);
    assert_int_equal(rill_security_make_keys(f->other, false, error, sizeof error), 0);
    snprintf(f->bin, sizeof f->bin, "%s/rill", getenv("RILL_BIN"));
    snprintf(f->plugin, sizeof f->plugin, "%s/tests/exchange-patterns.so",
             getenv("RILL_BUILD_DIR"));
    f->text = s_path(f->dir, "words.txt");
    FILE *file = fopen(f->text, "w");
    assert_non_null(file);
    static const char *words[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"};
    unsigned seed = 7;
    for (int line = 0; line < 3000; line++) {
        for (int w = 0; w < 8; w++) {
            seed = seed * 1103515245u + 12345u;
            fprintf(file, "%s%u ", words[(seed >> 16) % 6], (seed >> 8) % 50);
        }
        fputc('\n', file);
    }
    assert_int_equal(fclose(file), 0);
    f->csv = s_path(f->dir, "events.csv");
    file = fopen(f->csv, "w");
    assert_non_null(file);
    fprintf(file, "time,key,value\n");
    for (int i = 0; i < 20000; i++)
        fprintf(file, "%d,k%d,%d\n", 1000000 + i * 7, i % 37, i % 101);
    assert_int_equal(fclose(file), 0);
    //  mpirun refuses root unless told; the tests run as root on a fresh machine.
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *f = *state;
    test_remove_tree(f->dir);
    free(f->dir);
    free(f->keys);
    free(f->other);
    free(f->text);
    free(f->csv);
    free(f);
    return 0;
}

//  A tcp port free on the loopback addresses now: drawn below the kernel's ephemeral range
//  (32768 and up), whose ports outgoing connections take (ZeroMQ's too) and could take
//  between this check and the bind; checked by binding it on every address.
static int s_free_port(void)
{
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() * 2654435761u;
    for (int attempt = 0; attempt < 1000; attempt++) {
        seed = seed * 1103515245u + 12345u;
        int port = 20000 + (int)((seed >> 8) % 12000);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        address.sin_addr.s_addr = htonl(INADDR_ANY);
        int taken = bind(fd, (struct sockaddr *)&address, sizeof address);
        close(fd);
        if (taken == 0)
            return port;
    }
    fail_msg("no free tcp port between 20000 and 32000");
    return -1;
}

//  Starts argv[0] with stdout and stderr into the files (NULL: /dev/null); its pid.
static pid_t s_spawn(const char *const *argv, const char *out, const char *err)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR);
        int out_fd = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600) : null_fd;
        int err_fd = err ? open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600) : null_fd;
        dup2(null_fd, STDIN_FILENO);
        dup2(out_fd, STDOUT_FILENO);
        dup2(err_fd, STDERR_FILENO);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    assert_true(pid > 0);
    return pid;
}

//  Waits for pid up to timeout_ms: its exit status, or -1 when it had to be killed (a hang)
//  or ended by a signal.
static int s_wait(pid_t pid, int timeout_ms)
{
    int64_t deadline = test_now_ms() + timeout_ms;
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (test_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(10000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void s_show(const char *path)
{
    char *text = test_read_file(path);
    fprintf(stderr, "---- %s\n%s", path, text);
    free(text);
}

//  A job to run and the arguments it takes after "--" (its output is appended).
typedef struct {
    const char *name;
    const char *args[16];
} s_job_t;

//  Fills args with `rill run JOB -p P OPTIONS... -- JOB ARGS --output OUTPUT` (NULL-ended);
//  options NULL-ended.
static void s_run_args(const char **args, const char *bin, const s_job_t *job, const char *p,
                       const char *const *options, const char *output)
{
    int n = 0;
    args[n++] = bin;
    args[n++] = "run";
    args[n++] = job->name;
    args[n++] = "-p";
    args[n++] = p;
    for (int i = 0; options && options[i]; i++)
        args[n++] = options[i];
    args[n++] = "--";
    for (int i = 0; job->args[i]; i++)
        args[n++] = job->args[i];
    args[n++] = "--output";
    args[n++] = output;
    args[n] = NULL;
}

//  The job run in one process: its sorted output.
static char *s_reference(s_fixture_t *f, const s_job_t *job, const char *p)
{
    char *output = s_path(f->dir, "reference.txt"), *err = s_path(f->dir, "reference.err");
    const char *args[64];
    s_run_args(args, f->bin, job, p, NULL, output);
    int rc = s_wait(s_spawn(args, NULL, err), 60000);
    if (rc != 0)
        s_show(err);
    assert_int_equal(rc, 0);
    char *sorted = test_sorted_lines(output);
    unlink(output);
    free(output);
    free(err);
    return sorted;
}

static void s_expect_same(const char *got, const char *expected, const char *what)
{
    if (strcmp(got, expected) != 0) {
        fprintf(stderr, "%s: the output differs from one process's\n", what);
        test_print_difference(got, expected);
    }
    assert_string_equal(got, expected);
}

//  ---- under mpirun

static void s_mpirun(s_fixture_t *f, const s_job_t *job, int p, int processes)
{
    char parallelism[16], listen[64];
    snprintf(parallelism, sizeof parallelism, "%d", p);
    snprintf(listen, sizeof listen, "tcp://127.0.0.2:%d", s_free_port());
    char *expected = s_reference(f, job, parallelism);
    char *output = s_path(f->dir, "mpirun.txt"), *err = s_path(f->dir, "mpirun.err");
    //  One application context per rank (mpirun's MPMD form: "... : ..."), only to give each
    //  process its own loopback address; the command line is otherwise the same everywhere.
    const char *args[256];
    int n = 0;
    args[n++] = "mpirun";
    args[n++] = "--oversubscribe";
    args[n++] = "--bind-to";
    args[n++] = "none";
    char addresses[8][32];
    for (int r = 0; r < processes; r++) {
        if (r)
            args[n++] = ":";
        args[n++] = "-n";
        args[n++] = "1";
        snprintf(addresses[r], sizeof addresses[r], "127.0.0.%d", 2 + r);
        const char *options[] = {"--listen",    listen,       "--keys", f->keys,
                                 "--advertise", addresses[r], NULL};
        s_run_args(args + n, f->bin, job, parallelism, options, output);
        while (args[n])
            n++;
    }
    args[n] = NULL;
    int rc = s_wait(s_spawn(args, NULL, err), 120000);
    if (rc != 0)
        s_show(err);
    assert_int_equal(rc, 0);
    char *got = test_sorted_lines(output);
    char what[128];
    snprintf(what, sizeof what, "%s at p=%d on %d processes", job->name, p, processes);
    s_expect_same(got, expected, what);
    assert_true(strlen(got) > 0);
    unlink(output);
    free(got);
    free(expected);
    free(output);
    free(err);
}

static void s_bundled_jobs_under_mpirun(s_fixture_t *f, int processes)
{
    s_job_t jobs[] = {
        {"wordcount", {"--input", f->text, NULL}},
        {"windowed",
         {"--input", f->csv, "--time-column", "time", "--key-column", "key", "--value-column",
          "value", "--window", "tumbling:1s", "--agg", "sum", NULL}},
        {"seed-example", {"--count", "3000", NULL}},
    };
    for (size_t j = 0; j < sizeof jobs / sizeof jobs[0]; j++)
        for (int p = 1; p <= 4; p++)
            s_mpirun(f, &jobs[j], p, processes);
}

static void bundled_jobs_under_mpirun_match_one_process(void **state)
{
    s_bundled_jobs_under_mpirun(*state, 3);
}

//  ---- the plain form: rill run --workers N, rill worker --join

//  Runs job in the plain form with `workers` workers, each on its own loopback address.
//  Returns the coordinator's exit status; its stderr stays in DIR/plain.err.
static int s_plain(s_fixture_t *f, const s_job_t *job, const char *p, int workers,
                   const char *output, const char *coordinator_keys, const char *worker_keys)
{
    char listen[64], count[16];
    snprintf(listen, sizeof listen, "tcp://127.0.0.2:%d", s_free_port());
    snprintf(count, sizeof count, "%d", workers);
    char *err = s_path(f->dir, "plain.err");
    pid_t pids[8];
    char addresses[8][32], logs[8][PATH_MAX];
    for (int w = 0; w < workers; w++) {
        snprintf(addresses[w], sizeof addresses[w], "127.0.0.%d", 3 + w);
        snprintf(logs[w], sizeof logs[w], "%s/worker%d.err", f->dir, w + 1);
        const char *args[] = {f->bin,
                              "worker",
                              "--join",
                              listen,
                              "--advertise",
                              addresses[w],
                              worker_keys ? "--keys" : "--insecure",
                              worker_keys,
                              NULL};
        pids[w] = s_spawn(args, NULL, logs[w]);
    }
    const char *options[] = {
        "--workers",      count,         "--listen",
        listen,           "--advertise", "127.0.0.2",
        "--join-timeout", "4000",        coordinator_keys ? "--keys" : "--insecure",
        coordinator_keys, NULL};
    const char *args[64];
    s_run_args(args, f->bin, job, p, options, output);
    int rc = s_wait(s_spawn(args, NULL, err), 60000);
    for (int w = 0; w < workers; w++) {
        int worker = s_wait(pids[w], rc == 0 ? 20000 : 2000);
        if (rc == 0 && worker != 0)
            s_show(logs[w]);
        if (rc == 0)
            assert_int_equal(worker, 0);
    }
    free(err);
    return rc;
}

//  Drops the receiver tag ("got<TAB>R<TAB>...") of every line of a sorted text and sorts again:
//  for patterns whose choice of receiver is not fixed (round robin from a random start,
//  random), only the records themselves must match.
static char *s_untagged(const char *path)
{
    char *text = test_read_file(path);
    char *untagged = NULL;
    assert_true(asprintf(&untagged, "%s.untagged", path) > 0);
    FILE *out = fopen(untagged, "w");
    assert_non_null(out);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        char *second = tab ? strchr(tab + 1, '\t') : NULL;
        fprintf(out, "%s\n", second ? second + 1 : line);
    }
    assert_int_equal(fclose(out), 0);
    free(text);
    char *sorted = test_sorted_lines(untagged);
    unlink(untagged);
    free(untagged);
    return sorted;
}

//  Each channel keeps its order: in the sink's file (one sink, fed by the receivers in order),
//  the records one receiver got from one sender (index i comes from sender i % 3) rise.
static void s_expect_channel_order(const char *path)
{
    char *text = test_read_file(path);
    long last[8][3];
    memset(last, -1, sizeof last);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int receiver;
        long index;
        char key[16];
        if (sscanf(line, "got\t%d\t%15[^\t]\t%ld", &receiver, key, &index) != 3)
            continue; //  the hash pattern's counts carry no order to check
        assert_true(receiver >= 0 && receiver < 8);
        long *previous = &last[receiver][index % 3];
        if (index <= *previous)
            fprintf(stderr, "receiver %d got %ld after %ld from sender %ld\n", receiver, index,
                    *previous, index % 3);
        assert_true(index > *previous);
        *previous = index;
    }
    free(text);
}

static void every_exchange_pattern_crosses_processes(void **state)
{
    s_fixture_t *f = *state;
    static const char *patterns[] = {"forward", "hash",    "broadcast", "rebalance",
                                     "rescale", "shuffle", "global",    "custom"};
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        //  Receivers at another parallelism than the senders (forward needs the same).
        const char *receivers = strcmp(patterns[i], "forward") == 0   ? "3"
                                : strcmp(patterns[i], "rescale") == 0 ? "2"
                                                                      : "4";
        bool fixed = strcmp(patterns[i], "rebalance") != 0 && strcmp(patterns[i], "shuffle") != 0;
        s_job_t job = {f->plugin, {"--pattern", patterns[i], "--receivers", receivers, NULL}};
        char *reference = s_path(f->dir, "reference-pattern.txt");
        const char *args[64];
        s_run_args(args, f->bin, &job, "3", NULL, reference);
        assert_int_equal(s_wait(s_spawn(args, NULL, NULL), 60000), 0);
        char *output = s_path(f->dir, "plain.txt");
        int rc = s_plain(f, &job, "3", 2, output, f->keys, f->keys);
        if (rc != 0) {
            char *err = s_path(f->dir, "plain.err");
            s_show(err);
            free(err);
        }
        assert_int_equal(rc, 0);
        //  Every pattern's promise: the same receivers got the same records as in one process
        //  (where the pattern fixes the receiver), nothing lost or doubled, order per channel.
        char *got = fixed ? test_sorted_lines(output) : s_untagged(output);
        char *expected = fixed ? test_sorted_lines(reference) : s_untagged(reference);
        s_expect_same(got, expected, patterns[i]);
        s_expect_channel_order(output);
        unlink(output);
        unlink(reference);
        free(got);
        free(expected);
        free(output);
        free(reference);
    }
}

//  The plain form runs the bundled jobs too, with the output one process gives.
static void bundled_jobs_in_the_plain_form_match_one_process(void **state)
{
    s_fixture_t *f = *state;
    s_job_t jobs[] = {
        {"wordcount", {"--input", f->text, NULL}},
        {"windowed",
         {"--input", f->csv, "--time-column", "time", "--key-column", "key", "--value-column",
          "value", "--window", "sliding:2s:500ms", "--agg", "avg", NULL}},
        {"seed-example", {"--count", "5000", NULL}},
    };
    for (size_t j = 0; j < sizeof jobs / sizeof jobs[0]; j++) {
        char *expected = s_reference(f, &jobs[j], "4");
        char *output = s_path(f->dir, "plain-job.txt");
        int rc = s_plain(f, &jobs[j], "4", 2, output, f->keys, f->keys);
        assert_int_equal(rc, 0);
        char *got = test_sorted_lines(output);
        s_expect_same(got, expected, jobs[j].name);
        assert_true(strlen(got) > 0);
        unlink(output);
        free(got);
        free(expected);
        free(output);
    }
}

//  ---- security

static bool s_file_has(const char *path, const char *needle)
{
    char *text = test_read_file(path);
    bool found = strstr(text, needle) != NULL;
    if (!found)
        fprintf(stderr, "'%s' not in %s:\n%s", needle, path, text);
    free(text);
    return found;
}

static void a_peer_without_the_cluster_key_never_joins(void **state)
{
    s_fixture_t *f = *state;
    s_job_t job = {"wordcount", {"--input", f->text, NULL}};
    char *output = s_path(f->dir, "refused.txt"), *err = s_path(f->dir, "plain.err");
    //  Another cluster's key, plain text against a secured coordinator, and a secured worker
    //  against a plain-text coordinator: none gets in, the coordinator gives up and says so.
    const char *coordinator[] = {f->keys, f->keys, NULL};
    const char *worker[] = {f->other, NULL, f->keys};
    for (int i = 0; i < 3; i++) {
        int rc = s_plain(f, &job, "2", 1, output, coordinator[i], worker[i]);
        assert_int_equal(rc, 1);
        assert_true(s_file_has(err, "did not come within"));
        assert_true(s_file_has(err, "refused, the last with"));
        //  The worker hears of it and stops at once rather than wait for a job.
        char *log = s_path(f->dir, "worker1.err");
        assert_true(s_file_has(log, "the coordinator refused this process"));
        free(log);
        //  Nothing of the job ran: the output file was never written.
        assert_int_equal(access(output, F_OK), -1);
    }
    free(output);
    free(err);
}

static void a_cluster_without_keys_refuses_to_start(void **state)
{
    s_fixture_t *f = *state;
    char *err = NULL;
    int rc = test_run_tool(NULL, &err, "run", "wordcount", "--workers", "1", "--listen",
                           "tcp://127.0.0.2:1", "--", "--input", f->text, NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "--keys DIR"));
    assert_non_null(strstr(err, "--insecure"));
    free(err);
    rc = test_run_tool(NULL, &err, "worker", "--join", "tcp://127.0.0.2:1", NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "--keys DIR"));
    free(err);
    //  --workers without an address to listen at is a usage error.
    rc = test_run_tool(NULL, &err, "run", "wordcount", "--workers", "1", "--", "--input", f->text,
                       NULL);
    assert_int_equal(rc, 2);
    free(err);
}

//  ---- the data sockets themselves

static int s_count_record(void *ctx, const rill_record_t *record, int input, int sender,
                          uint64_t trace, const rill_key_hint_t *key)
{
    (void)record, (void)input, (void)sender, (void)trace, (void)key;
    (*(int *)ctx)++;
    return 0;
}

//  A raw ROUTER standing in for a sender in another process: routing id as a writer's,
//  CURVE with key pair `cert` against the cluster's public key (NULL: plain text).
static zsock_t *s_raw_sender(const char *routing_id, zcert_t *cert, const char *server_key,
                             const char *endpoint)
{
    zsock_t *socket = zsock_new(ZMQ_ROUTER);
    zmq_setsockopt(zsock_resolve(socket), ZMQ_ROUTING_ID, routing_id, strlen(routing_id));
    zsock_set_router_mandatory(socket, 1);
    zsock_set_linger(socket, 0);
    if (cert) {
        zcert_apply(cert, socket);
        zsock_set_curve_serverkey(socket, server_key);
    }
    zsock_set_connect_rid(socket, "r1");
    assert_int_equal(zsock_connect(socket, "%s", endpoint), 0);
    return socket;
}

//  Sends frame to receiver "r1" until the connection takes it (or timeout_ms): 0 or -1.
static int s_raw_send(zsock_t *socket, const rill_buffer_t *frame, int timeout_ms)
{
    int64_t deadline = test_now_ms() + timeout_ms;
    while (test_now_ms() < deadline) {
        if (zmq_send(zsock_resolve(socket), "r1", 2, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 2 &&
            zmq_send(zsock_resolve(socket), rill_buffer_data(frame), rill_buffer_size(frame),
                     ZMQ_DONTWAIT) >= 0)
            return 0;
        usleep(5000);
    }
    return -1;
}

//  A reader for receiver 1 of pipe, its tcp input bound on 127.0.0.2 under security, taking
//  HELLOs with token; *endpoint gets where it listens.
static rill_reader_t *s_tcp_reader(test_pipe_t *pipe, rill_security_t *security, uint64_t token,
                                   const char **endpoint)
{
    rill_reader_t *reader = rill_reader_new(pipe->plan, test_pipe_receiver(pipe, 1), NULL);
    rill_reader_set_network(reader, "127.0.0.2", security, token);
    assert_int_equal(rill_reader_bind(reader), 0);
    *endpoint = rill_reader_tcp_endpoint(reader, 0);
    return reader;
}

static void data_sockets_admit_the_cluster_only_and_trust_the_connection(void **state)
{
    s_fixture_t *f = *state;
    char error[256];
    rill_security_t *security = rill_security_new(f->keys, error, sizeof error);
    assert_non_null(security);
    char *secret = s_path(f->keys, "cluster.cert_secret");
    zcert_t *cluster = zcert_load(secret);
    free(secret);
    assert_non_null(cluster);
    //  Two senders, two receivers, placed on two processes: sender 0 (rank 0) reaches
    //  receiver 1 (rank 1) over tcp.
    test_pipe_t *pipe = test_pipe_new(2, 2, RILL_PATTERN_REBALANCE, NULL, NULL);
    assert_int_equal(rill_plan_place(pipe->plan, 2, error, sizeof error), 0);
    const char *endpoint = NULL;
    rill_reader_t *reader = s_tcp_reader(pipe, security, 42, &endpoint);
    assert_int_equal(strncmp(endpoint, "tcp://127.0.0.2:", 16), 0);
    rill_buffer_t *hello = rill_buffer_new(), *data = rill_buffer_new();
    test_frame_begin(hello, RILL_FRAME_MAGIC, RILL_FRAME_HELLO, 0, 0);
    test_frame_begin(data, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 0, 1);
    test_frame_add_record(data, "one", RILL_NO_TIMESTAMP, 0);
    int records = 0;

    //  Another cluster's key, and plain text: the connection never comes up, nothing arrives
    //  (a ROUTER that names its peer queues for it, so the sends themselves succeed).
    zcert_t *stranger = zcert_new();
    zsock_t *wrong = s_raw_sender("rill/e0/s0", stranger, zcert_public_txt(cluster), endpoint);
    zsock_t *plain = s_raw_sender("rill/e0/s0", NULL, NULL, endpoint);
    assert_int_equal(s_raw_send(wrong, hello, 1000), 0);
    assert_int_equal(s_raw_send(wrong, data, 1000), 0);
    assert_int_equal(s_raw_send(plain, hello, 1000), 0);
    assert_int_equal(s_raw_send(plain, data, 1000), 0);
    int64_t until = test_now_ms() + 1500;
    while (test_now_ms() < until) {
        assert_int_equal(rill_reader_receive(reader, 0, 16, s_count_record, &records), 0);
        usleep(20000);
    }
    assert_int_equal(records, 0);
    zsock_destroy(&wrong);
    zsock_destroy(&plain);
    zcert_destroy(&stranger);

    //  A writer in plain text against it fails its handshake at once, naming the receiver.
    assert_int_equal(
        rill_plan_set_remote_endpoint(pipe->plan, 0, test_pipe_receiver(pipe, 1), endpoint), 0);
    rill_writer_t *writer =
        rill_writer_new(pipe->plan, test_pipe_sender(pipe, 0), NULL, 4096, 0, NULL, NULL);
    rill_writer_set_network(writer, "127.0.0.3", NULL, 42);
    assert_int_equal(rill_writer_connect(writer), -1);
    assert_non_null(strstr(rill_writer_error(writer), "subtask 2/2 at tcp://127.0.0.2:"));
    assert_non_null(strstr(rill_writer_error(writer), "handshake failed"));
    rill_writer_destroy(&writer);
    //  With the cluster's keys it connects, and its records arrive.
    writer = rill_writer_new(pipe->plan, test_pipe_sender(pipe, 0), NULL, 4096, 0, NULL, NULL);
    rill_writer_set_network(writer, "127.0.0.3", security, 42);
    assert_int_equal(rill_writer_connect(writer), 0);
    rill_record_t record = {"sent", 4, RILL_NO_TIMESTAMP};
    for (int i = 0; i < 4; i++) //  round robin: two of them to receiver 2
        assert_int_equal(rill_writer_emit(writer, &record), 0);
    assert_int_equal(rill_writer_flush(writer), 0);
    assert_true(test_reader_take(reader, 0, 3, s_count_record, &records) > 0);
    assert_int_equal(records, 2);
    records = 0;
    rill_writer_destroy(&writer);
    rill_reader_destroy(&reader);
    reader = s_tcp_reader(pipe, security, 42, &endpoint);

    //  The cluster's key gets in; data before the handshake is refused, naming the peer.
    zsock_t *early = s_raw_sender("rill/e0/s0", cluster, zcert_public_txt(cluster), endpoint);
    assert_int_equal(s_raw_send(early, data, 5000), 0);
    assert_int_equal(test_reader_take(reader, 0, 1, s_count_record, &records), -1);
    assert_non_null(strstr(rill_reader_error(reader), "before the sender's handshake"));
    assert_non_null(strstr(rill_reader_error(reader), "rill/e0/s0 at 127.0."));
    zsock_destroy(&early);
    rill_reader_destroy(&reader);

    //  A handshake with another job's token is refused.
    reader = s_tcp_reader(pipe, security, 42, &endpoint);
    zsock_t *other_job = s_raw_sender("rill/e0/s0", cluster, zcert_public_txt(cluster), endpoint);
    assert_int_equal(s_raw_send(other_job, hello, 5000), 0);
    assert_int_equal(test_reader_take(reader, 0, 1, s_count_record, &records), -1);
    assert_non_null(strstr(rill_reader_error(reader), "another job"));
    zsock_destroy(&other_job);
    rill_reader_destroy(&reader);

    //  The right token: records flow. A frame claiming sender 1 on sender 0's connection is
    //  refused (the connection says who sends, not the frame); so is a connection that is no
    //  sender of this edge.
    reader = s_tcp_reader(pipe, security, 0, &endpoint);
    zsock_t *sender = s_raw_sender("rill/e0/s0", cluster, zcert_public_txt(cluster), endpoint);
    assert_int_equal(s_raw_send(sender, hello, 5000), 0);
    assert_int_equal(s_raw_send(sender, data, 5000), 0);
    assert_true(test_reader_take(reader, 0, 2, s_count_record, &records) > 0);
    assert_int_equal(records, 1);
    rill_buffer_t *forged = rill_buffer_new();
    test_frame_begin(forged, RILL_FRAME_MAGIC, RILL_FRAME_DATA, 1, 1);
    test_frame_add_record(forged, "two", RILL_NO_TIMESTAMP, 0);
    assert_int_equal(s_raw_send(sender, forged, 5000), 0);
    assert_int_equal(test_reader_take(reader, 0, 1, s_count_record, &records), -1);
    assert_non_null(strstr(rill_reader_error(reader), "claiming another sender"));
    assert_int_equal(records, 1);
    zsock_destroy(&sender);
    rill_reader_destroy(&reader);

    reader = s_tcp_reader(pipe, security, 0, &endpoint);
    zsock_t *stray = s_raw_sender("rill/e7/s0", cluster, zcert_public_txt(cluster), endpoint);
    assert_int_equal(s_raw_send(stray, hello, 5000), 0);
    assert_int_equal(test_reader_take(reader, 0, 1, s_count_record, &records), -1);
    assert_non_null(strstr(rill_reader_error(reader), "no sender of this input"));
    zsock_destroy(&stray);
    rill_reader_destroy(&reader);

    rill_buffer_destroy(&forged);
    rill_buffer_destroy(&hello);
    rill_buffer_destroy(&data);
    test_pipe_destroy(&pipe);
    zcert_destroy(&cluster);
    rill_security_destroy(&security);
}

//  The monitor is a tcp socket of the job too: with --keys only the cluster's holders read it.
static void the_monitor_admits_only_the_cluster(void **state)
{
    s_fixture_t *f = *state;
    char monitor[64];
    snprintf(monitor, sizeof monitor, "tcp://127.0.0.2:%d", s_free_port());
    const char *args[] = {f->bin,      "run",   "seed-example",       "-p",  "2",
                          "--monitor", monitor, "--monitor-interval", "100", "--keys",
                          f->keys,     "--",    "--unbounded",        NULL};
    pid_t job = s_spawn(args, NULL, NULL);
    char *out = NULL;
    //  The holder of the cluster's key gets snapshots.
    int rc = test_run_tool(&out, NULL, "top", monitor, "--keys", f->keys, "--count", "1", "--wait",
                           "20", NULL);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "rill top: job 'seed-example'"));
    free(out);
    //  Another cluster's key, and plain text, get none.
    char *err = NULL;
    rc = test_run_tool(NULL, &err, "top", monitor, "--keys", f->other, "--count", "1", "--wait",
                       "2", NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "no metrics"));
    free(err);
    rc = test_run_tool(NULL, &err, "top", monitor, "--count", "1", "--wait", "2", NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "no metrics"));
    free(err);
    assert_int_equal(kill(job, SIGINT), 0);
    assert_int_equal(s_wait(job, 20000), 130);
}

//  ---- failure

static void a_worker_killed_mid_job_fails_it_within_seconds(void **state)
{
    s_fixture_t *f = *state;
    char listen[64];
    snprintf(listen, sizeof listen, "tcp://127.0.0.2:%d", s_free_port());
    char *err = s_path(f->dir, "killed.err"), *log1 = s_path(f->dir, "killed1.err"),
         *log2 = s_path(f->dir, "killed2.err");
    const char *w1[] = {f->bin,      "worker", "--join", listen, "--advertise",
                        "127.0.0.3", "--keys", f->keys,  NULL};
    const char *w2[] = {f->bin,      "worker", "--join", listen, "--advertise",
                        "127.0.0.4", "--keys", f->keys,  NULL};
    pid_t worker1 = s_spawn(w1, NULL, log1), worker2 = s_spawn(w2, NULL, log2);
    //  An unbounded job: it never ends by itself, so only the failure can end it.
    const char *args[] = {f->bin,      "run",    "seed-example", "-p",   "3",
                          "--workers", "2",      "--listen",     listen, "--advertise",
                          "127.0.0.2", "--keys", f->keys,        "--",   "--unbounded",
                          NULL};
    pid_t coordinator = s_spawn(args, NULL, err);
    //  Wait until the job runs (the workers said hello and got it), then kill one.
    int64_t deadline = test_now_ms() + 20000;
    bool running = false;
    while (!running && test_now_ms() < deadline) {
        usleep(100000);
        char *text = test_read_file(err);
        running = strstr(text, "waiting for") != NULL;
        free(text);
    }
    assert_true(running);
    usleep(1500000);
    assert_int_equal(kill(worker1, SIGKILL), 0);
    int64_t killed = test_now_ms();
    int rc = s_wait(coordinator, 15000);
    int64_t took = test_now_ms() - killed;
    s_wait(worker1, 1000);
    int other = s_wait(worker2, 10000);
    if (rc != 1)
        s_show(err);
    assert_int_equal(rc, 1);
    //  The message names the lost process (its rank is the order it joined in) and its pid,
    //  and the subtasks that went with it.
    char pid[32];
    snprintf(pid, sizeof pid, "pid %d)", (int)worker1);
    assert_true(s_file_has(err, "lost process "));
    assert_true(s_file_has(err, pid));
    assert_true(s_file_has(err, "'Source' "));
    //  Heartbeats every 500 ms, lost after 6 silent: the failure comes within a few seconds.
    assert_true(took < 8000);
    //  The surviving worker is stopped too, with the reason, never left hanging.
    assert_int_equal(other, 1);
    assert_true(s_file_has(log2, "stopped by the coordinator"));
    free(err);
    free(log1);
    free(log2);
}

//  ---- checkpoints across processes

//  Whether some checkpoint in dir has completed (its _metadata is written last).
static bool s_checkpoint_completed(const char *dir)
{
    DIR *folder = opendir(dir);
    bool found = false;
    struct dirent *entry;
    while (folder && !found && (entry = readdir(folder))) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s/_metadata", dir, entry->d_name);
        found = access(path, F_OK) == 0;
    }
    if (folder)
        closedir(folder);
    return found;
}

//  Starts the plain form of wordcount, streaming, checkpoints every 50 ms into checkpoints
//  (and restoring from them with restore), with two workers: fills pids (coordinator, worker
//  1, worker 2).
static void s_spawn_checkpointed(s_fixture_t *f, const char *input, const char *checkpoints,
                                 bool restore, const char *output, pid_t *pids,
                                 const char *const *extra)
{
    char listen[64];
    snprintf(listen, sizeof listen, "tcp://127.0.0.2:%d", s_free_port());
    char *err = s_path(f->dir, "checkpointed.err");
    const char *w1[] = {f->bin,      "worker", "--join", listen, "--advertise",
                        "127.0.0.3", "--keys", f->keys,  NULL};
    const char *w2[] = {f->bin,      "worker", "--join", listen, "--advertise",
                        "127.0.0.4", "--keys", f->keys,  NULL};
    pids[1] = s_spawn(w1, NULL, NULL);
    pids[2] = s_spawn(w2, NULL, NULL);
    //  Every record in a frame of its own: slow enough to be killed in the middle.
    const char *args[40] = {f->bin,      "run",
                            "wordcount", "-p",
                            "3",         "--mode",
                            "streaming", "--buffer-timeout",
                            "0",         "--checkpoint-interval",
                            "50",        "--checkpoint-dir",
                            checkpoints, "--workers",
                            "2",         "--listen",
                            listen,      "--advertise",
                            "127.0.0.2", "--keys",
                            f->keys};
    int n = 0;
    while (args[n])
        n++;
    if (restore) {
        args[n++] = "--restore";
        args[n++] = checkpoints;
    }
    for (int i = 0; extra && extra[i]; i++)
        args[n++] = extra[i];
    const char *rest[] = {"--", "--input", input, "--output", output, NULL};
    for (int i = 0; rest[i]; i++)
        args[n++] = rest[i];
    args[n] = NULL;
    pids[0] = s_spawn(args, NULL, err);
    free(err);
}

//  A text of many words for the checkpointed runs, and the fault-free run's output (every
//  count update, in one process) as sorted lines.
static char *s_many_words(s_fixture_t *f, char **expected)
{
    char *input = s_path(f->dir, "many-words.txt"), *expected_path = s_path(f->dir, "expected.txt");
    FILE *file = fopen(input, "w");
    assert_non_null(file);
    unsigned seed = 11;
    for (int line = 0; line < 120000; line++) {
        for (int w = 0; w < 8; w++) {
            seed = seed * 1103515245u + 12345u;
            fprintf(file, "w%u ", (seed >> 8) % 300);
        }
        fputc('\n', file);
    }
    assert_int_equal(fclose(file), 0);
    const char *alone[] = {f->bin,     "run",         "wordcount", "-p",      "3",
                           "--mode",   "streaming",   "--",        "--input", input,
                           "--output", expected_path, NULL};
    assert_int_equal(s_wait(s_spawn(alone, NULL, NULL), 60000), 0);
    *expected = test_sorted_lines(expected_path);
    unlink(expected_path);
    free(expected_path);
    return input;
}

static void a_killed_worker_s_job_resumes_exactly_once_with_restore(void **state)
{
    s_fixture_t *f = *state;
    char *expected = NULL;
    char *input = s_many_words(f, &expected), *output = s_path(f->dir, "counts.txt"),
         *checkpoints = s_path(f->dir, "checkpoints");
    test_remove_tree(checkpoints); //  a failed case before may have left it
    assert_int_equal(mkdir(checkpoints, 0700), 0);

    pid_t pids[3];
    s_spawn_checkpointed(f, input, checkpoints, false, output, pids, NULL);
    //  Kill a worker once a checkpoint completed (or report why none did).
    char *log = s_path(f->dir, "checkpointed.err");
    int64_t deadline = test_now_ms() + 60000;
    while (!s_checkpoint_completed(checkpoints) && test_now_ms() < deadline &&
           waitpid(pids[0], NULL, WNOHANG) == 0)
        usleep(5000);
    if (!s_checkpoint_completed(checkpoints))
        s_show(log);
    free(log);
    assert_true(s_checkpoint_completed(checkpoints));
    assert_int_equal(kill(pids[1], SIGKILL), 0);
    int rc = s_wait(pids[0], 20000);
    s_wait(pids[1], 1000);
    s_wait(pids[2], 10000);
    char *err = s_path(f->dir, "checkpointed.err");
    if (rc != 1)
        s_show(err);
    //  The job failed (a worker was lost); what it committed is a prefix of the output.
    assert_int_equal(rc, 1);
    assert_true(s_file_has(err, "lost process"));

    //  A new cluster, restored from the latest completed checkpoint, finishes the job: the
    //  committed file equals the fault-free run's, each update once.
    s_spawn_checkpointed(f, input, checkpoints, true, output, pids, NULL);
    rc = s_wait(pids[0], 60000);
    if (rc != 0)
        s_show(err);
    assert_int_equal(rc, 0);
    assert_int_equal(s_wait(pids[1], 10000), 0);
    assert_int_equal(s_wait(pids[2], 10000), 0);
    assert_true(s_file_has(err, "restored from checkpoint"));
    char *got = test_sorted_lines(output);
    s_expect_same(got, expected, "wordcount killed and restored across processes");
    free(got);
    free(expected);
    free(err);
    free(input);
    free(output);
    test_remove_tree(checkpoints);
    free(checkpoints);
}

//  With restarts: a lost worker's tasks restart on the coordinator, and a subtask failing on
//  a worker restarts the whole job on the same processes; both from the latest completed
//  checkpoint, both ending with the fault-free output, each update once.
static void with_restarts_a_job_across_processes_recovers_in_place(void **state)
{
    s_fixture_t *f = *state;
    char *expected = NULL;
    char *input = s_many_words(f, &expected), *output = s_path(f->dir, "counts.txt"),
         *checkpoints = s_path(f->dir, "checkpoints"), *err = s_path(f->dir, "checkpointed.err");
    const char *restarts[] = {"--restart-attempts", "3", "--restart-delay", "50", NULL};
    for (int round = 0; round < 2; round++) {
        test_remove_tree(checkpoints); //  a failed case before may have left it
        assert_int_equal(mkdir(checkpoints, 0700), 0);
        unlink(output);
        //  Round 1: subtask 2 of the keyed count (placed on rank 1, a worker) fails at its
        //  20,000th record, in the first attempt only.
        if (round == 1)
            setenv("RILL_FAIL", "key_by/count():2:20000", 1);
        pid_t pids[3];
        s_spawn_checkpointed(f, input, checkpoints, false, output, pids, restarts);
        unsetenv("RILL_FAIL");
        pid_t killed = 0;
        if (round == 0) {
            //  Kill a worker once a checkpoint completed (or report why none did), while the
            //  job still runs: the restart then restores from it.
            int64_t deadline = test_now_ms() + 60000;
            while (!s_checkpoint_completed(checkpoints) && test_now_ms() < deadline &&
                   waitpid(pids[0], NULL, WNOHANG) == 0)
                usleep(5000);
            if (!s_checkpoint_completed(checkpoints))
                s_show(err);
            assert_true(s_checkpoint_completed(checkpoints));
            killed = pids[1];
            assert_int_equal(kill(killed, SIGKILL), 0);
            assert_int_equal(waitpid(pids[0], NULL, WNOHANG), 0);
        }
        int rc = s_wait(pids[0], 120000);
        if (rc != 0)
            s_show(err);
        assert_int_equal(rc, 0);
        for (int w = 1; w < 3; w++)
            if (pids[w] != killed)
                assert_int_equal(s_wait(pids[w], 10000), 0);
            else
                s_wait(pids[w], 1000);
        assert_true(s_file_has(err, "1 restart"));
        char *got = test_sorted_lines(output);
        s_expect_same(got, expected,
                      round == 0 ? "a worker killed, its tasks restarted"
                                 : "a worker's subtask failed, restarted");
        free(got);
        test_remove_tree(checkpoints);
    }
    free(expected);
    free(err);
    free(input);
    free(output);
    free(checkpoints);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bundled_jobs_under_mpirun_match_one_process),
        cmocka_unit_test(every_exchange_pattern_crosses_processes),
        cmocka_unit_test(bundled_jobs_in_the_plain_form_match_one_process),
        cmocka_unit_test(a_peer_without_the_cluster_key_never_joins),
        cmocka_unit_test(a_cluster_without_keys_refuses_to_start),
        cmocka_unit_test(data_sockets_admit_the_cluster_only_and_trust_the_connection),
        cmocka_unit_test(the_monitor_admits_only_the_cluster),
        cmocka_unit_test(a_worker_killed_mid_job_fails_it_within_seconds),
        cmocka_unit_test(a_killed_worker_s_job_resumes_exactly_once_with_restore),
        cmocka_unit_test(with_restarts_a_job_across_processes_recovers_in_place),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
