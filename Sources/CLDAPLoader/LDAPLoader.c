/*
 * libldap on demand: see include/CLDAPLoader.h. The stubs below stand in for the library's
 * functions at link time; they are hidden, so the executable exports none of them and the loaded
 * library's calls to its own functions still bind inside the library.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#pragma GCC visibility push(hidden)
#include <lber.h>
#include <ldap.h>
#pragma GCC visibility pop

#include "CLibraryLoader.h"
#include "CLDAPLoader.h"

/*
 * The sonames tried, in order: OpenLDAP 2.6 and later (Debian 13) is libldap.so.2, OpenLDAP 2.5 (Debian 12)
 * libldap-2.5.so.0; the functions called here have the same prototypes in both. The one this was compiled
 * against comes first, so a machine with both loads the one the headers describe.
 */
#if LDAP_VENDOR_VERSION_MAJOR == 2 && LDAP_VENDOR_VERSION_MINOR == 5
#define CLDAP_SONAMES "libldap-2.5.so.0", "libldap.so.2"
#else
#define CLDAP_SONAMES "libldap.so.2", "libldap-2.5.so.0"
#endif

/* Every library function MapsLDAP and the CLDAP shim call. */
#define CLDAP_FUNCTIONS(X) \
    X(ber_free) X(ber_set_option) X(ber_sockbuf_ctrl) X(ldap_abandon_ext) X(ldap_count_values_len) \
    X(ldap_err2string) X(ldap_first_attribute) X(ldap_first_entry) X(ldap_free_urldesc) \
    X(ldap_get_option) X(ldap_get_values_len) X(ldap_initialize) X(ldap_is_ldap_url) X(ldap_memfree) \
    X(ldap_msgfree) X(ldap_next_attribute) X(ldap_next_entry) X(ldap_parse_result) X(ldap_result) \
    X(ldap_sasl_bind) X(ldap_sasl_interactive_bind_s) X(ldap_search_ext) X(ldap_set_option) \
    X(ldap_start_tls_s) X(ldap_unbind_ext) X(ldap_url_parse) X(ldap_value_free_len)

/* The functions, then liblber's LDAP_OPT_ON, a variable. */
#define CLDAP_SYMBOLS(X) CLDAP_FUNCTIONS(X) X(ber_pvt_opt_on)

CLIB_LIBRARY(cldap, CLDAP_SYMBOLS, "libldap", CLDAP_SONAMES);
#define CALL(name) CLIB_FUNCTION(cldap, name)

CLIB_LOAD_FUNCTIONS(cldap, cldap)

/* Callers check cldap_load() first (LDAPTable does); a call without the library cannot go on. */
#define REQUIRE() clib_require(&cldap, "LDAP client library")

void *cldap_opt_on(void) {
    REQUIRE();
    return CLIB_ADDRESS(cldap, ber_pvt_opt_on);
}

#pragma GCC visibility push(hidden)

void ber_free(BerElement *ber, int freebuf) {
    REQUIRE();
    CALL(ber_free)(ber, freebuf);
}

int ber_set_option(void *item, int option, LDAP_CONST void *invalue) {
    REQUIRE();
    return CALL(ber_set_option)(item, option, invalue);
}

int ber_sockbuf_ctrl(Sockbuf *sb, int opt, void *arg) {
    REQUIRE();
    return CALL(ber_sockbuf_ctrl)(sb, opt, arg);
}

int ldap_abandon_ext(LDAP *ld, int msgid, LDAPControl **serverctrls, LDAPControl **clientctrls) {
    REQUIRE();
    return CALL(ldap_abandon_ext)(ld, msgid, serverctrls, clientctrls);
}

int ldap_count_values_len(struct berval **vals) {
    REQUIRE();
    return CALL(ldap_count_values_len)(vals);
}

char *ldap_err2string(int err) {
    REQUIRE();
    return CALL(ldap_err2string)(err);
}

char *ldap_first_attribute(LDAP *ld, LDAPMessage *entry, BerElement **ber) {
    REQUIRE();
    return CALL(ldap_first_attribute)(ld, entry, ber);
}

LDAPMessage *ldap_first_entry(LDAP *ld, LDAPMessage *chain) {
    REQUIRE();
    return CALL(ldap_first_entry)(ld, chain);
}

void ldap_free_urldesc(LDAPURLDesc *ludp) {
    REQUIRE();
    CALL(ldap_free_urldesc)(ludp);
}

int ldap_get_option(LDAP *ld, int option, void *outvalue) {
    REQUIRE();
    return CALL(ldap_get_option)(ld, option, outvalue);
}

struct berval **ldap_get_values_len(LDAP *ld, LDAPMessage *entry, LDAP_CONST char *target) {
    REQUIRE();
    return CALL(ldap_get_values_len)(ld, entry, target);
}

int ldap_initialize(LDAP **ldp, LDAP_CONST char *url) {
    REQUIRE();
    return CALL(ldap_initialize)(ldp, url);
}

int ldap_is_ldap_url(LDAP_CONST char *url) {
    REQUIRE();
    return CALL(ldap_is_ldap_url)(url);
}

void ldap_memfree(void *p) {
    REQUIRE();
    CALL(ldap_memfree)(p);
}

int ldap_msgfree(LDAPMessage *lm) {
    REQUIRE();
    return CALL(ldap_msgfree)(lm);
}

char *ldap_next_attribute(LDAP *ld, LDAPMessage *entry, BerElement *ber) {
    REQUIRE();
    return CALL(ldap_next_attribute)(ld, entry, ber);
}

LDAPMessage *ldap_next_entry(LDAP *ld, LDAPMessage *entry) {
    REQUIRE();
    return CALL(ldap_next_entry)(ld, entry);
}

int ldap_parse_result(LDAP *ld, LDAPMessage *res, int *errcodep, char **matcheddnp, char **diagmsgp,
                      char ***referralsp, LDAPControl ***serverctrls, int freeit) {
    REQUIRE();
    return CALL(ldap_parse_result)(ld, res, errcodep, matcheddnp, diagmsgp, referralsp, serverctrls, freeit);
}

int ldap_result(LDAP *ld, int msgid, int all, struct timeval *timeout, LDAPMessage **result) {
    REQUIRE();
    return CALL(ldap_result)(ld, msgid, all, timeout, result);
}

int ldap_sasl_bind(LDAP *ld, LDAP_CONST char *dn, LDAP_CONST char *mechanism, struct berval *cred,
                   LDAPControl **serverctrls, LDAPControl **clientctrls, int *msgidp) {
    REQUIRE();
    return CALL(ldap_sasl_bind)(ld, dn, mechanism, cred, serverctrls, clientctrls, msgidp);
}

int ldap_sasl_interactive_bind_s(LDAP *ld, LDAP_CONST char *dn, LDAP_CONST char *saslMechanism,
                                 LDAPControl **serverControls, LDAPControl **clientControls, unsigned flags,
                                 LDAP_SASL_INTERACT_PROC *proc, void *defaults) {
    REQUIRE();
    return CALL(ldap_sasl_interactive_bind_s)(ld, dn, saslMechanism, serverControls, clientControls, flags,
                                                proc, defaults);
}

int ldap_search_ext(LDAP *ld, LDAP_CONST char *base, int scope, LDAP_CONST char *filter, char **attrs,
                    int attrsonly, LDAPControl **serverctrls, LDAPControl **clientctrls, struct timeval *timeout,
                    int sizelimit, int *msgidp) {
    REQUIRE();
    return CALL(ldap_search_ext)(ld, base, scope, filter, attrs, attrsonly, serverctrls, clientctrls, timeout,
                                   sizelimit, msgidp);
}

int ldap_set_option(LDAP *ld, int option, LDAP_CONST void *invalue) {
    REQUIRE();
    return CALL(ldap_set_option)(ld, option, invalue);
}

int ldap_start_tls_s(LDAP *ld, LDAPControl **serverctrls, LDAPControl **clientctrls) {
    REQUIRE();
    return CALL(ldap_start_tls_s)(ld, serverctrls, clientctrls);
}

int ldap_unbind_ext(LDAP *ld, LDAPControl **serverctrls, LDAPControl **clientctrls) {
    REQUIRE();
    return CALL(ldap_unbind_ext)(ld, serverctrls, clientctrls);
}

int ldap_url_parse(LDAP_CONST char *url, LDAPURLDesc **ludpp) {
    REQUIRE();
    return CALL(ldap_url_parse)(url, ludpp);
}

void ldap_value_free_len(struct berval **vals) {
    REQUIRE();
    CALL(ldap_value_free_len)(vals);
}

#pragma GCC visibility pop
