#ifndef PFX_CLDAP_LOADER_H
#define PFX_CLDAP_LOADER_H
/*
 * OpenLDAP's client library, loaded when the first ldap table opens rather than at program start:
 * libldap brings GnuTLS, Cyrus SASL and a dozen more libraries whose loading and relocation would
 * cost every postmap process more than the rest of a lookup (Postfix, likewise, loads its ldap
 * client as a plugin on demand). The functions MapsLDAP calls are defined, with the library's own
 * names and prototypes but hidden from the dynamic symbol table, in LDAPLoader.c; each calls the
 * library's function through a pointer that cldap_load() resolves.
 */

/* Load libldap and resolve its functions, once; 0 when they are available, else -1. */
int cldap_load(void);

/* Why cldap_load() failed (dlerror's text), or "" after success. */
const char *cldap_load_error(void);

/* liblber's LDAP_OPT_ON (the address of ber_pvt_opt_on in the loaded library). */
void *cldap_opt_on(void);

#endif
