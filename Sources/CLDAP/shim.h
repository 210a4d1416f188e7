#ifndef PFX_CLDAP_SHIM_H
#define PFX_CLDAP_SHIM_H
/*
 * OpenLDAP's client library (libldap, liblber) for the ldap table: its headers only; the library is
 * loaded when the first ldap table opens (CLDAPLoader). Option setters that take
 * pointers or pointer-valued constants (LDAP_OPT_ON) are wrapped here, because Swift cannot
 * import those macros; so is the SASL interaction callback, which needs only the fixed layout
 * of Cyrus SASL's sasl_interact_t (sasl.h itself is not needed to build).
 */
#include <ldap.h>
#include <lber.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static inline int cldap_set_int(LDAP *ld, int option, int value) {
    return ldap_set_option(ld, option, &value);
}

static inline int cldap_set_timeout(LDAP *ld, int option, long seconds) {
    struct timeval tv;
    tv.tv_sec = seconds;
    tv.tv_usec = 0;
    return ldap_set_option(ld, option, &tv);
}

/* LDAP_OPT_ON is the address of liblber's ber_pvt_opt_on; libldap is loaded on demand (CLDAPLoader),
 * so the address comes from the loaded library. */
void *cldap_opt_on(void);

static inline int cldap_set_flag(LDAP *ld, int option, int on) {
    return ldap_set_option(ld, option, on ? cldap_opt_on() : LDAP_OPT_OFF);
}

static inline int cldap_set_string(LDAP *ld, int option, const char *value) {
    return ldap_set_option(ld, option, value);
}

/* The session's last result code (LDAP_OPT_RESULT_CODE), LDAP_OTHER when it cannot be read. */
static inline int cldap_result_code(LDAP *ld) {
    int rc;
    if (ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc) != LDAP_OPT_SUCCESS)
        rc = LDAP_OTHER;
    return rc;
}

static inline int cldap_set_result_code(LDAP *ld, int rc) {
    (void) ldap_set_option(ld, LDAP_OPT_RESULT_CODE, &rc);
    return rc;
}

/* ldap_result() with a timeout in whole seconds. */
static inline int cldap_result(LDAP *ld, int msgid, int all, long seconds, LDAPMessage **res) {
    struct timeval tv;
    tv.tv_sec = seconds;
    tv.tv_usec = 0;
    return ldap_result(ld, msgid, all, &tv, res);
}

/* ldap_search_ext() with a time limit in whole seconds and the session's size limit. */
static inline int cldap_search(LDAP *ld, const char *base, int scope, const char *filter,
                               char **attrs, long seconds, int *msgid) {
    struct timeval tv;
    tv.tv_sec = seconds;
    tv.tv_usec = 0;
    return ldap_search_ext(ld, base, scope, filter, attrs, 0, NULL, NULL, &tv, -1, msgid);
}

/* Simple bind, asynchronous: the caller waits for the answer with cldap_result(). */
static inline int cldap_simple_bind(LDAP *ld, const char *dn, const char *password, int *msgid) {
    struct berval cred;
    cred.bv_val = (char *) password;
    cred.bv_len = strlen(password);
    return ldap_sasl_bind(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, msgid);
}

/* The layout of Cyrus SASL's sasl_interact_t and the callback ids the bind answers. */
typedef struct {
    unsigned long id;
    const char *challenge;
    const char *prompt;
    const char *defresult;
    const void *result;
    unsigned len;
} cldap_sasl_interact;

#define CLDAP_SASL_CB_LIST_END 0
#define CLDAP_SASL_CB_USER 0x4001
#define CLDAP_SASL_CB_AUTHNAME 0x4002
#define CLDAP_SASL_CB_PASS 0x4004
#define CLDAP_SASL_CB_GETREALM 0x4008

typedef struct {
    const char *authcid;
    const char *passwd;
    const char *realm;
    const char *authzid;
} cldap_sasl_props;

static inline int cldap_sasl_interact_cb(LDAP *ld, unsigned flags, void *defaults, void *list) {
    cldap_sasl_props *props = (cldap_sasl_props *) defaults;
    cldap_sasl_interact *in;
    (void) ld;
    (void) flags;
    for (in = (cldap_sasl_interact *) list; in->id != CLDAP_SASL_CB_LIST_END; in++) {
        in->result = NULL;
        switch (in->id) {
        case CLDAP_SASL_CB_GETREALM: in->result = props->realm; break;
        case CLDAP_SASL_CB_AUTHNAME: in->result = props->authcid; break;
        case CLDAP_SASL_CB_USER: in->result = props->authzid; break;
        case CLDAP_SASL_CB_PASS: in->result = props->passwd; break;
        }
        if (in->result)
            in->len = (unsigned) strlen((const char *) in->result);
    }
    return LDAP_SUCCESS;
}

/* SASL bind with the mechanisms, identities and minimum security strength of the table. */
static inline int cldap_sasl_bind(LDAP *ld, const char *mechs, const char *authcid, const char *passwd,
                                  const char *realm, const char *authzid, int minssf) {
    char secprops[32];
    cldap_sasl_props props;
    int rc;
    snprintf(secprops, sizeof(secprops), "minssf=%d", minssf);
    if ((rc = ldap_set_option(ld, LDAP_OPT_X_SASL_SECPROPS, secprops)) != LDAP_OPT_SUCCESS)
        return rc;
    props.authcid = authcid;
    props.passwd = passwd;
    props.realm = realm;
    props.authzid = authzid;
    return ldap_sasl_interactive_bind_s(ld, NULL, mechs, NULL, NULL, LDAP_SASL_QUIET,
                                        cldap_sasl_interact_cb, &props);
}

/*
 * A guard on the connections of one session. libldap calls lc_add right after each TCP (or
 * Unix-domain) connection is made and before any TLS handshake; the guard notes the socket and gives
 * it I/O timeouts. While a call that may open the connection runs (a bind, StartTLS, the first
 * search), a watchdog thread is armed: if the call is still running when the timeout expires, it shuts
 * the socket down. That bounds what libldap itself does not: its TLS handshake with GnuTLS spins on a
 * non-blocking socket for as long as a server that accepted the connection stays silent.
 */
#include <stdlib.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <sys/socket.h>

typedef struct cldap_guard {
    struct ldap_conncb cb; /* first: libldap hands this pointer back to the callbacks */
    long seconds;
    int fd;
    int stop;
    int running;
    long grace;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
} cldap_guard;

static inline int cldap_guard_add(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
                                  struct ldap_conncb *ctx) {
    cldap_guard *guard = (cldap_guard *) ctx;
    ber_socket_t fd;
    struct timeval tv;
    (void) ld;
    (void) srv;
    (void) addr;
    if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) <= 0 || fd < 0)
        return 0;
    pthread_mutex_lock(&guard->lock);
    guard->fd = fd;
    pthread_mutex_unlock(&guard->lock);
    if (guard->seconds > 0) {
        tv.tv_sec = guard->seconds;
        tv.tv_usec = 0;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    }
    return 0;
}

static inline void cldap_guard_del(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx) {
    cldap_guard *guard = (cldap_guard *) ctx;
    (void) ld;
    (void) sb;
    pthread_mutex_lock(&guard->lock);
    guard->fd = -1;
    pthread_mutex_unlock(&guard->lock);
}

static inline cldap_guard *cldap_guard_new(long seconds) {
    cldap_guard *guard = (cldap_guard *) calloc(1, sizeof(*guard));
    if (guard == NULL)
        return NULL;
    guard->cb.lc_add = cldap_guard_add;
    guard->cb.lc_del = cldap_guard_del;
    guard->cb.lc_arg = guard;
    guard->seconds = seconds;
    guard->fd = -1;
    pthread_mutex_init(&guard->lock, NULL);
    pthread_cond_init(&guard->cond, NULL);
    return guard;
}

static inline int cldap_guard_install(LDAP *ld, cldap_guard *guard) {
    return ldap_set_option(ld, LDAP_OPT_CONNECT_CB, &guard->cb);
}

static inline void *cldap_guard_watch(void *arg) {
    cldap_guard *guard = (cldap_guard *) arg;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += guard->seconds + guard->grace;
    pthread_mutex_lock(&guard->lock);
    while (!guard->stop) {
        if (pthread_cond_timedwait(&guard->cond, &guard->lock, &deadline) == ETIMEDOUT) {
            if (!guard->stop && guard->fd >= 0)
                (void) shutdown(guard->fd, SHUT_RDWR);
            break;
        }
    }
    pthread_mutex_unlock(&guard->lock);
    return NULL;
}

/*
 * Start the watchdog before a call that may connect. It fires `grace` seconds after the timeout, so
 * that libldap's own timeouts, where they work, report first.
 */
static inline void cldap_guard_arm(cldap_guard *guard, long grace) {
    int saved = errno;
    if (guard == NULL || guard->seconds <= 0 || guard->running)
        return;
    guard->grace = grace;
    guard->stop = 0;
    if (pthread_create(&guard->thread, NULL, cldap_guard_watch, guard) == 0)
        guard->running = 1;
    errno = saved;
}

/* Stop the watchdog after the call. */
static inline void cldap_guard_disarm(cldap_guard *guard) {
    int saved = errno;
    if (guard == NULL || !guard->running)
        return;
    pthread_mutex_lock(&guard->lock);
    guard->stop = 1;
    pthread_cond_signal(&guard->cond);
    pthread_mutex_unlock(&guard->lock);
    pthread_join(guard->thread, NULL);
    guard->running = 0;
    errno = saved;
}

/* Release a guard once its session is unbound. */
static inline void cldap_guard_free(cldap_guard *guard) {
    if (guard == NULL)
        return;
    cldap_guard_disarm(guard);
    pthread_mutex_destroy(&guard->lock);
    pthread_cond_destroy(&guard->cond);
    free(guard);
}

/* errno, for messages that print %m after a library call. */
static inline int cldap_errno(void) { return errno; }
static inline void cldap_set_errno(int value) { errno = value; }

#endif
