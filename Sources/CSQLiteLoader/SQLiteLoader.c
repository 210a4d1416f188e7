/*
 * libsqlite3 on demand: see include/CSQLiteLoader.h. The library's header gives the prototypes of the
 * functions resolved here; nothing links against the library itself (CLibraryLoader loads it).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>

#include "CLibraryLoader.h"
#include "CSQLiteLoader.h"

#define CSQLITE_SONAME "libsqlite3.so.0"

#define CSQLITE_FUNCTIONS(X) \
    X(sqlite3_open) X(sqlite3_open_v2) X(sqlite3_close) X(sqlite3_errmsg) X(sqlite3_prepare_v2) X(sqlite3_step) \
    X(sqlite3_column_text) X(sqlite3_column_bytes) X(sqlite3_finalize)

CLIB_LIBRARY(csqlite, CSQLITE_FUNCTIONS, CSQLITE_SONAME, CSQLITE_SONAME);
#define CALL(name) CLIB_FUNCTION(csqlite, name)

CLIB_LOAD_FUNCTIONS(csqlite, csqlite)

/* Callers check csqlite_load() first (SQLiteTable does); a call without the library cannot go on. */
#define REQUIRE() clib_require(&csqlite, "SQLite library")

int csqlite_open(const char *path, void **db) {
    REQUIRE();
    return CALL(sqlite3_open)(path, (sqlite3 **) db);
}

int csqlite_open_readonly(const char *path, void **db, int *error_number) {
    REQUIRE();
    errno = 0;
    int rc = CALL(sqlite3_open_v2)(path, (sqlite3 **) db, SQLITE_OPEN_READONLY, NULL);
    *error_number = errno;
    return rc;
}

int csqlite_close(void *db) {
    REQUIRE();
    return CALL(sqlite3_close)((sqlite3 *) db);
}

const char *csqlite_errmsg(void *db) {
    REQUIRE();
    return CALL(sqlite3_errmsg)((sqlite3 *) db);
}

int csqlite_prepare(void *db, const char *sql, void **stmt, const char **tail) {
    REQUIRE();
    return CALL(sqlite3_prepare_v2)((sqlite3 *) db, sql, -1, (sqlite3_stmt **) stmt, tail);
}

int csqlite_step(void *stmt, int *error_number) {
    int rc;
    REQUIRE();
    rc = CALL(sqlite3_step)((sqlite3_stmt *) stmt);
    *error_number = errno;
    return rc;
}

const unsigned char *csqlite_column_text(void *stmt, int column, int *length) {
    const unsigned char *text;
    REQUIRE();
    text = CALL(sqlite3_column_text)((sqlite3_stmt *) stmt, column);
    *length = text ? CALL(sqlite3_column_bytes)((sqlite3_stmt *) stmt, column) : 0;
    return text;
}

int csqlite_finalize(void *stmt, int *error_number) {
    int rc;
    REQUIRE();
    rc = CALL(sqlite3_finalize)((sqlite3_stmt *) stmt);
    *error_number = errno;
    return rc;
}
