/*
 * libsqlite3 on demand: see include/CSQLiteLoader.h. The library's header gives the prototypes of the
 * functions resolved here; nothing links against the library itself.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>

#include "CSQLiteLoader.h"

#define CSQLITE_SONAME "libsqlite3.so.0"

#define CSQLITE_FUNCTIONS(X) \
    X(sqlite3_open) X(sqlite3_close) X(sqlite3_errmsg) X(sqlite3_prepare_v2) X(sqlite3_step) \
    X(sqlite3_column_text) X(sqlite3_column_bytes) X(sqlite3_finalize)

#define CSQLITE_POINTER(name) static __typeof__(name) *csqlite_p_##name;
CSQLITE_FUNCTIONS(CSQLITE_POINTER)

static pthread_once_t csqlite_once = PTHREAD_ONCE_INIT;
static int csqlite_loaded;
static char csqlite_error[512];

static void csqlite_open_library(void) {
    void *library;
    const char *problem;

    if ((library = dlopen(CSQLITE_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        problem = dlerror();
        snprintf(csqlite_error, sizeof(csqlite_error), "%s", problem ? problem : "dlopen " CSQLITE_SONAME " failed");
        return;
    }
#define CSQLITE_RESOLVE(name) \
    if ((csqlite_p_##name = (__typeof__(name) *) dlsym(library, #name)) == NULL) { \
        snprintf(csqlite_error, sizeof(csqlite_error), "%s: undefined symbol: %s", CSQLITE_SONAME, #name); \
        return; \
    }
    CSQLITE_FUNCTIONS(CSQLITE_RESOLVE)
    csqlite_loaded = 1;
}

int csqlite_load(void) {
    (void) pthread_once(&csqlite_once, csqlite_open_library);
    return csqlite_loaded ? 0 : -1;
}

const char *csqlite_load_error(void) {
    (void) csqlite_load();
    return csqlite_error;
}

/* Callers check csqlite_load() first (SQLiteTable does); a call without the library cannot go on. */
static void csqlite_require(void) {
    if (csqlite_load() != 0) {
        fprintf(stderr, "fatal: cannot load the SQLite library: %s\n", csqlite_error);
        abort();
    }
}

int csqlite_open(const char *path, void **db) {
    csqlite_require();
    return csqlite_p_sqlite3_open(path, (sqlite3 **) db);
}

int csqlite_close(void *db) {
    csqlite_require();
    return csqlite_p_sqlite3_close((sqlite3 *) db);
}

const char *csqlite_errmsg(void *db) {
    csqlite_require();
    return csqlite_p_sqlite3_errmsg((sqlite3 *) db);
}

int csqlite_prepare(void *db, const char *sql, void **stmt, const char **tail) {
    csqlite_require();
    return csqlite_p_sqlite3_prepare_v2((sqlite3 *) db, sql, -1, (sqlite3_stmt **) stmt, tail);
}

int csqlite_step(void *stmt, int *error_number) {
    int rc;
    csqlite_require();
    rc = csqlite_p_sqlite3_step((sqlite3_stmt *) stmt);
    *error_number = errno;
    return rc;
}

const unsigned char *csqlite_column_text(void *stmt, int column, int *length) {
    const unsigned char *text;
    csqlite_require();
    text = csqlite_p_sqlite3_column_text((sqlite3_stmt *) stmt, column);
    *length = text ? csqlite_p_sqlite3_column_bytes((sqlite3_stmt *) stmt, column) : 0;
    return text;
}

int csqlite_finalize(void *stmt, int *error_number) {
    int rc;
    csqlite_require();
    rc = csqlite_p_sqlite3_finalize((sqlite3_stmt *) stmt);
    *error_number = errno;
    return rc;
}
