/*
 * libldap on demand: see include/CLDAPLoader.h. The stubs below stand in for the library's
 * functions at link time; they are hidden, so the executable exports none of them and the loaded
 * library's calls to its own functions still bind inside the library.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#pragma GCC visibility push(hidden)
#include <lber.h>
#include <ldap.h>
#pragma GCC visibility pop

#include "CLDAPLoader.h"

/* The library this was compiled against: OpenLDAP 2.5 is libldap-2.5.so.0; 2.6 and later, libldap.so.2. */
#if LDAP_VENDOR_VERSION_MAJOR == 2 && LDAP_VENDOR_VERSION_MINOR == 5
#define CLDAP_SONAME "libldap-2.5.so.0"
#else
#define CLDAP_SONAME "libldap.so.2"
#endif

/* Every library function MapsLDAP and the CLDAP shim call. */
#define CLDAP_FUNCTIONS(X) \
    X(ber_free) X(ber_set_option) X(ber_sockbuf_ctrl) X(ldap_abandon_ext) X(ldap_count_values_len) \
    X(ldap_err2string) X(ldap_first_attribute) X(ldap_first_entry) X(ldap_free_urldesc) \
    X(ldap_get_option) X(ldap_get_values_len) X(ldap_initialize) X(ldap_is_ldap_url) X(ldap_memfree) \
    X(ldap_msgfree) X(ldap_next_attribute) X(ldap_next_entry) X(ldap_parse_result) X(ldap_result) \
    X(ldap_sasl_bind) X(ldap_sasl_interactive_bind_s) X(ldap_search_ext) X(ldap_set_option) \
    X(ldap_start_tls_s) X(ldap_unbind_ext) X(ldap_url_parse) X(ldap_value_free_len)

#define CLDAP_POINTER(name) static __typeof__(name) *cldap_p_##name;
CLDAP_FUNCTIONS(CLDAP_POINTER)

static pthread_once_t cldap_once = PTHREAD_ONCE_INIT;
static int cldap_loaded;
static char cldap_error[512];
static void *cldap_on;

static void cldap_open(void) {
    void *library;
    const char *problem;

    if ((library = dlopen(CLDAP_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        problem = dlerror();
        snprintf(cldap_error, sizeof(cldap_error), "%s", problem ? problem : "dlopen " CLDAP_SONAME " failed");
        return;
    }
#define CLDAP_RESOLVE(name) \
    if ((cldap_p_##name = (__typeof__(name) *) dlsym(library, #name)) == NULL) { \
        snprintf(cldap_error, sizeof(cldap_error), "%s: undefined symbol: %s", CLDAP_SONAME, #name); \
        return; \
    }
    CLDAP_FUNCTIONS(CLDAP_RESOLVE)
    if ((cldap_on = dlsym(library, "ber_pvt_opt_on")) == NULL) {
        snprintf(cldap_error, sizeof(cldap_error), "%s: undefined symbol: ber_pvt_opt_on", CLDAP_SONAME);
        return;
    }
    cldap_loaded = 1;
}

int cldap_load(void) {
    (void) pthread_once(&cldap_once, cldap_open);
    return cldap_loaded ? 0 : -1;
}

const char *cldap_load_error(void) {
    (void) cldap_load();
    return cldap_error;
}

/* Callers check cldap_load() first (LDAPTable does); a call without the library cannot go on. */
static void cldap_require(void) {
    if (cldap_load() != 0) {
        fprintf(stderr, "fatal: cannot load the LDAP client library: %s\n", cldap_error);
        abort();
    }
}

void *cldap_opt_on(void) {
    cldap_require();
    return cldap_on;
}

#pragma GCC visibility push(hidden)

void ber_free(BerElement *ber, int freebuf) {
    cldap_require();
    cldap_p_ber_free(ber, freebuf);
}

int ber_set_option(void *item, int option, LDAP_CONST void *invalue) {
    cldap_require();
    return cldap_p_ber_set_option(item, option, invalue);
}

int ber_sockbuf_ctrl(Sockbuf *sb, int opt, void *arg) {
    cldap_require();
    return cldap_p_ber_sockbuf_ctrl(sb, opt, arg);
}

int ldap_abandon_ext(LDAP *ld, int msgid, LDAPControl **serverctrls, LDAPControl **clientctrls) {
    cldap_require();
    return cldap_p_ldap_abandon_ext(ld, msgid, serverctrls, clientctrls);
}

int ldap_count_values_len(struct berval **vals) {
    cldap_require();
    return cldap_p_ldap_count_values_len(vals);
}

char *ldap_err2string(int err) {
    cldap_require();
    return cldap_p_ldap_err2string(err);
}

char *ldap_first_attribute(LDAP *ld, LDAPMessage *entry, BerElement **ber) {
    cldap_require();
    return cldap_p_ldap_first_attribute(ld, entry, ber);
}

LDAPMessage *ldap_first_entry(LDAP *ld, LDAPMessage *chain) {
    cldap_require();
    return cldap_p_ldap_first_entry(ld, chain);
}

void ldap_free_urldesc(LDAPURLDesc *ludp) {
    cldap_require();
    cldap_p_ldap_free_urldesc(ludp);
}

int ldap_get_option(LDAP *ld, int option, void *outvalue) {
    cldap_require();
    return cldap_p_ldap_get_option(ld, option, outvalue);
}

struct berval **ldap_get_values_len(LDAP *ld, LDAPMessage *entry, LDAP_CONST char *target) {
    cldap_require();
    return cldap_p_ldap_get_values_len(ld, entry, target);
}

int ldap_initialize(LDAP **ldp, LDAP_CONST char *url) {
    cldap_require();
    return cldap_p_ldap_initialize(ldp, url);
}

int ldap_is_ldap_url(LDAP_CONST char *url) {
    cldap_require();
    return cldap_p_ldap_is_ldap_url(url);
}

void ldap_memfree(void *p) {
    cldap_require();
    cldap_p_ldap_memfree(p);
}

int ldap_msgfree(LDAPMessage *lm) {
    cldap_require();
    return cldap_p_ldap_msgfree(lm);
}

char *ldap_next_attribute(LDAP *ld, LDAPMessage *entry, BerElement *ber) {
    cldap_require();
    return cldap_p_ldap_next_attribute(ld, entry, ber);
}

LDAPMessage *ldap_next_entry(LDAP *ld, LDAPMessage *entry) {
    cldap_require();
    return cldap_p_ldap_next_entry(ld, entry);
}

int ldap_parse_result(LDAP *ld, LDAPMessage *res, int *errcodep, char **matcheddnp, char **diagmsgp,
                      char ***referralsp, LDAPControl ***serverctrls, int freeit) {
    cldap_require();
    return cldap_p_ldap_parse_result(ld, res, errcodep, matcheddnp, diagmsgp, referralsp, serverctrls, freeit);
}

int ldap_result(LDAP *ld, int msgid, int all, struct timeval *timeout, LDAPMessage **result) {
    cldap_require();
    return cldap_p_ldap_result(ld, msgid, all, timeout, result);
}

int ldap_sasl_bind(LDAP *ld, LDAP_CONST char *dn, LDAP_CONST char *mechanism, struct berval *cred,
                   LDAPControl **serverctrls, LDAPControl **clientctrls, int *msgidp) {
    cldap_require();
    return cldap_p_ldap_sasl_bind(ld, dn, mechanism, cred, serverctrls, clientctrls, msgidp);
}

int ldap_sasl_interactive_bind_s(LDAP *ld, LDAP_CONST char *dn, LDAP_CONST char *saslMechanism,
                                 LDAPControl **serverControls, LDAPControl **clientControls, unsigned flags,
                                 LDAP_SASL_INTERACT_PROC *proc, void *defaults) {
    cldap_require();
    return cldap_p_ldap_sasl_interactive_bind_s(ld, dn, saslMechanism, serverControls, clientControls, flags,
                                                proc, defaults);
}

int ldap_search_ext(LDAP *ld, LDAP_CONST char *base, int scope, LDAP_CONST char *filter, char **attrs,
                    int attrsonly, LDAPControl **serverctrls, LDAPControl **clientctrls, struct timeval *timeout,
                    int sizelimit, int *msgidp) {
    cldap_require();
    return cldap_p_ldap_search_ext(ld, base, scope, filter, attrs, attrsonly, serverctrls, clientctrls, timeout,
                                   sizelimit, msgidp);
}

int ldap_set_option(LDAP *ld, int option, LDAP_CONST void *invalue) {
    cldap_require();
    return cldap_p_ldap_set_option(ld, option, invalue);
}

int ldap_start_tls_s(LDAP *ld, LDAPControl **serverctrls, LDAPControl **clientctrls) {
    cldap_require();
    return cldap_p_ldap_start_tls_s(ld, serverctrls, clientctrls);
}

int ldap_unbind_ext(LDAP *ld, LDAPControl **serverctrls, LDAPControl **clientctrls) {
    cldap_require();
    return cldap_p_ldap_unbind_ext(ld, serverctrls, clientctrls);
}

int ldap_url_parse(LDAP_CONST char *url, LDAPURLDesc **ludpp) {
    cldap_require();
    return cldap_p_ldap_url_parse(url, ludpp);
}

void ldap_value_free_len(struct berval **vals) {
    cldap_require();
    cldap_p_ldap_value_free_len(vals);
}

#pragma GCC visibility pop
