/*  rill_cmd_keys.c: `rill keys DIR [--force]`: makes the cluster certificate that secures the
    tcp sockets of a job spanning processes (runtime/net/rill_security). Each process reads
    DIR; the tool only writes it, and reminds the user where it must go next. */
#include "rill_cli.h"
#include "rill_security.h"

#include <string.h>

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: rill keys DIR [--force]\n"
            "\n"
            "Makes the cluster certificate of a job that runs on several processes:\n"
            "DIR/%s (the public key) and DIR/%s (the secret key, mode 0600);\n"
            "DIR is created mode 0700 when missing. Every tcp socket of the job speaks CURVE\n"
            "with this key pair, and each process admits only peers whose certificate is in\n"
            "DIR. Copy DIR to every host of the job and keep it private.\n"
            "\n"
            "  --force   replace the certificate DIR holds (every host then needs the new one)\n",
            RILL_SECURITY_CERT, RILL_SECURITY_SECRET);
}

int rill_cmd_keys(int argc, char **argv)
{
    const char *dir = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            s_usage(stdout);
            return RILL_EXIT_OK;
        }
        if (strcmp(argv[i], "--force") == 0)
            force = true;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "rill keys: unknown option '%s'\n", argv[i]);
            s_usage(stderr);
            return RILL_EXIT_USAGE;
        } else if (dir) {
            fprintf(stderr, "rill keys: one DIR only ('%s' and '%s')\n", dir, argv[i]);
            s_usage(stderr);
            return RILL_EXIT_USAGE;
        } else
            dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "rill keys: no DIR given\n");
        s_usage(stderr);
        return RILL_EXIT_USAGE;
    }
    char error[512] = "";
    if (rill_security_make_keys(dir, force, error, sizeof error)) {
        fprintf(stderr, "rill keys: %s\n", error);
        return RILL_EXIT_FAILURE;
    }
    printf("rill keys: wrote the cluster certificate: %s/%s (public), %s/%s (secret)\n", dir,
           RILL_SECURITY_CERT, dir, RILL_SECURITY_SECRET);
    printf("Copy %s to every host of the job and keep it private: its secret key admits "
           "anyone who holds it.\n",
           dir);
    return RILL_EXIT_OK;
}
