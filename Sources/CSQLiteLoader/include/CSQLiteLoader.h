#ifndef PFX_CSQLITE_LOADER_H
#define PFX_CSQLITE_LOADER_H
/*
 * SQLite's library, loaded when the first sqlite table opens rather than at program start, so that a
 * postmap process that opens no sqlite table does not pay for loading and relocating it (Postfix,
 * likewise, loads its sqlite client as a plugin on demand). Only the calls the sqlite table makes are
 * offered, through opaque handles; each wrapper reports errno as the library left it, because Postfix
 * prints it (%m) after a failed lookup.
 */

/* Load libsqlite3 and resolve its functions, once; 0 when they are available, else -1. */
int csqlite_load(void);

/* Why csqlite_load() failed (dlerror's text), or "" after success. */
const char *csqlite_load_error(void);

/* The result codes the table tests. */
#define CSQLITE_OK 0
#define CSQLITE_ROW 100
#define CSQLITE_DONE 101

/* sqlite3_open(): read-write, created when missing, as Postfix opens it. The handle is set even on failure. */
int csqlite_open(const char *path, void **db);
/* sqlite3_open_v2(SQLITE_OPEN_READONLY), as Postfix 3.10 opens it: a missing file is an error, never
 * created. *error_number gets errno after the call. The handle is set even on failure. */
int csqlite_open_readonly(const char *path, void **db, int *error_number);
/* sqlite3_close(). */
int csqlite_close(void *db);
/* sqlite3_errmsg(). */
const char *csqlite_errmsg(void *db);
/* sqlite3_prepare_v2() of a NUL-terminated statement. */
int csqlite_prepare(void *db, const char *sql, void **stmt, const char **tail);
/* sqlite3_step(); *error_number gets errno after the call. */
int csqlite_step(void *stmt, int *error_number);
/* Column 0..n-1 of the current row as text (NULL for SQL NULL), and its length in bytes. */
const unsigned char *csqlite_column_text(void *stmt, int column, int *length);
/* sqlite3_finalize(); *error_number gets errno after the call. */
int csqlite_finalize(void *stmt, int *error_number);

#endif
