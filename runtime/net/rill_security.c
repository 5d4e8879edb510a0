/*  rill_security.c: see the header. */
#include "rill_security.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct rill_security_t {
    zcert_t *cert;  //  the cluster's key pair
    zactor_t *auth; //  this object's ZAP authenticator
};

int rill_security_make_keys(const char *dir, bool force, char *error, size_t error_size)
{
    if (mkdir(dir, 0700) && errno != EEXIST) {
        snprintf(error, error_size, "cannot make key directory '%.200s': %s", dir, strerror(errno));
        return -1;
    }
    char path[4096], secret[4200];
    snprintf(path, sizeof path, "%s/%s", dir, RILL_SECURITY_CERT);
    snprintf(secret, sizeof secret, "%s/%s", dir, RILL_SECURITY_SECRET);
    struct stat info;
    if (!force && (stat(path, &info) == 0 || stat(secret, &info) == 0)) {
        snprintf(error, error_size,
                 "'%.200s' holds a cluster certificate already (force to replace it)", dir);
        return -1;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        snprintf(error, error_size, "cannot make a certificate");
        return -1;
    }
    //  The secret file is written with the process's umask: narrow it first.
    mode_t mask = umask(077);
    int rc = zcert_save(cert, path);
    umask(mask);
    zcert_destroy(&cert);
    if (rc || chmod(secret, 0600) || chmod(path, 0644)) {
        snprintf(error, error_size, "cannot write the certificate in '%.200s': %s", dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}

rill_security_t *rill_security_new(const char *dir, char *error, size_t error_size)
{
    char secret[4200];
    snprintf(secret, sizeof secret, "%s/%s", dir, RILL_SECURITY_SECRET);
    zcert_t *cert = zcert_load(secret);
    if (!cert) {
        snprintf(error, error_size, "no cluster certificate in '%.200s' (make one with rill keys)",
                 dir);
        return NULL;
    }
    //  A file with only a public key loads with a zero secret: refuse it.
    static const byte zero[32] = {0};
    if (memcmp(zcert_secret_key(cert), zero, sizeof zero) == 0) {
        zcert_destroy(&cert);
        snprintf(error, error_size, "'%.200s' holds no secret key", secret);
        return NULL;
    }
    rill_security_t *self = zmalloc(sizeof(rill_security_t));
    self->cert = cert;
    self->auth = zactor_new(zauth, NULL);
    if (!self->auth) {
        rill_security_destroy(&self);
        snprintf(error, error_size, "cannot start the authenticator");
        return NULL;
    }
    //  Admit the clients whose public key is a certificate in dir.
    zstr_sendx(self->auth, "CURVE", dir, NULL);
    zsock_wait(self->auth);
    return self;
}

void rill_security_destroy(rill_security_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    rill_security_t *self = *self_p;
    zactor_destroy(&self->auth);
    zcert_destroy(&self->cert);
    free(self);
    *self_p = NULL;
}

void rill_security_server(rill_security_t *self, zsock_t *socket)
{
    zcert_apply(self->cert, socket);
    zsock_set_curve_server(socket, 1);
    zsock_set_zap_domain(socket, "rill");
}

void rill_security_client(rill_security_t *self, zsock_t *socket)
{
    zcert_apply(self->cert, socket);
    zsock_set_curve_serverkey(socket, zcert_public_txt(self->cert));
}
