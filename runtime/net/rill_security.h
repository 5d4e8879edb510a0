/*  rill_security.h: CURVE for rill's tcp sockets (every tcp socket of a job that spans processes).
    Security model: one cluster certificate (a CURVE key pair) in a directory every process of
    a job reads. Every tcp socket is a CURVE server or client with that pair; a process's
    authenticator (czmq's zauth, ZAP) admits a client only when its public key is a
    certificate in that directory. A peer with another key, or plain text, is refused: it
    never gets a message through. Keeping the directory private (0700, the secret 0600) is
    what keeps the cluster closed. */
#ifndef RILL_SECURITY_H_INCLUDED
#define RILL_SECURITY_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct rill_security_t rill_security_t;

//  The certificate's two files in the key directory: the public key (the one the
//  authenticator admits) and the secret key, which never leaves the cluster's hosts.
#define RILL_SECURITY_CERT "cluster.cert"
#define RILL_SECURITY_SECRET RILL_SECURITY_CERT "_secret"

//  Makes the cluster's certificate in dir (created mode 0700 when missing): dir/cluster.cert
//  (the public key, admitted) and dir/cluster.cert_secret (mode 0600). Refuses to replace an
//  existing one unless force. 0, or -1 with a message in error.
int rill_security_make_keys(const char *dir, bool force, char *error, size_t error_size);

//  Loads the cluster certificate from dir and starts this object's authenticator, admitting
//  the certificates in dir. NULL with a message in error (missing, unreadable, no secret).
rill_security_t *rill_security_new(const char *dir, char *error, size_t error_size);
void rill_security_destroy(rill_security_t **self_p);

//  Before bind: the socket serves CURVE with the cluster's key pair (clients authenticated by
//  the authenticator). Before connect: the socket is a CURVE client of a cluster server.
void rill_security_server(rill_security_t *self, zsock_t *socket);
void rill_security_client(rill_security_t *self, zsock_t *socket);

#endif
