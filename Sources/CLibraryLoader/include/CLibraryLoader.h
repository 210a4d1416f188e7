#ifndef PFX_CLIBRARY_LOADER_H
#define PFX_CLIBRARY_LOADER_H
/*
 * A client library loaded when the first table that needs it opens rather than at program start
 * (libldap, libpq, libmariadb, libsqlite3, libnsl): a tool that opens no such table never loads the
 * library, nor what the library brings (Postfix, likewise, loads its database clients as plugins on
 * demand). This is the one pattern every loader follows: dlopen the first of the library's sonames
 * that loads, resolve its symbols into a table of addresses, once per process, and keep the reason
 * of a failure for the table's message.
 *
 * A C loader declares its library with CLIB_LIBRARY (an X-macro list of the symbols, a name for
 * messages, the sonames), loads it with clib_load() and calls through CLIB_FUNCTION(), which gives the
 * address the library's own prototype. Swift code that loads once by other means (a lazy static)
 * calls clib_open() itself.
 */
#include <stddef.h>

/* One library: what to load, and (the last two fields, private) how loading went. */
struct clib_library {
    /* In messages: "NAME: undefined symbol: SYMBOL", and "dlopen NAME failed" when dlerror() has no text. */
    const char *name;
    /* Tried in this order; NULL-terminated. */
    const char *const *sonames;
    /* NULL-terminated; table[i] receives the address of symbols[i]. */
    const char *const *symbols;
    void **table;
    /* 0: not tried yet, 1: loaded, -1: failed (see error). */
    int state;
    char error[512];
};

/*
 * dlopen (RTLD_NOW | RTLD_LOCAL) the first of sonames that loads and resolve every symbol into table:
 * 0, or -1 with the reason in error (dlerror's text for each soname tried, joined by "; ", so that a
 * library renamed between releases names both sonames; or "NAME: undefined symbol: SYMBOL" for the first
 * symbol missing). Nothing is remembered: see clib_load. errno is left as the
 * dynamic loader leaves it.
 */
int clib_open(const char *name, const char *const *sonames, const char *const *symbols, void **table,
              char *error, size_t size);

/* clib_open, once per library and process (later calls, on any thread, answer as the first did); 0 when loaded, else -1. */
int clib_load(struct clib_library *library);

/* Why clib_load() failed, or "" after success. */
const char *clib_load_error(struct clib_library *library);

/*
 * For wrappers whose callers checked clib_load() first: load, or print "fatal: cannot load the WHAT:
 * REASON" and abort (a call without the library cannot go on).
 */
void clib_require(struct clib_library *library, const char *what);

/* X-macro helpers for CLIB_LIBRARY. */
#define CLIB_INDEX(symbol) clib_index_##symbol,
#define CLIB_NAME(symbol) #symbol,

/*
 * Declare library VAR (static, in this file): SYMBOLS is an X-macro list of the symbols to resolve,
 * NAME the text for messages, and the rest the sonames to try in order.
 */
#define CLIB_LIBRARY(var, SYMBOLS, label, ...) \
    enum { SYMBOLS(CLIB_INDEX) var##_symbol_count }; \
    static const char *const var##_symbols[] = { SYMBOLS(CLIB_NAME) NULL }; \
    static const char *const var##_sonames[] = { __VA_ARGS__, NULL }; \
    static void *var##_table[var##_symbol_count]; \
    static struct clib_library var = { label, var##_sonames, var##_symbols, var##_table, 0, "" }

/*
 * Define, for library VAR, `int PREFIX_load(void)` (clib_load: 0 when loaded) and `const char
 * *PREFIX_load_error(void)` (clib_load_error): the two functions each loader's header declares.
 */
#define CLIB_LOAD_FUNCTIONS(prefix, var) \
    int prefix##_load(void) { return clib_load(&var); } \
    const char *prefix##_load_error(void) { return clib_load_error(&var); }

/* The address of SYMBOL in loaded library VAR. */
#define CLIB_ADDRESS(var, symbol) ((var).table[clib_index_##symbol])

/* Function SYMBOL of loaded library VAR, with the prototype of the library's header. */
#define CLIB_FUNCTION(var, symbol) ((__typeof__(symbol) *) CLIB_ADDRESS(var, symbol))

#endif
