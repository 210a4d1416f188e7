#ifndef PFX_CSQL_LOADER_H
#define PFX_CSQL_LOADER_H
/*
 * The PostgreSQL (libpq) and MariaDB (libmariadb) client libraries for the pgsql and mysql tables,
 * loaded when the first such table opens rather than at program start, as CLDAPLoader loads libldap:
 * a postmap that opens no SQL table pays nothing for them. Each function here is a prefixed wrapper
 * (csql_pq_*, csql_my_*) around one library call made through a pointer that the load resolved;
 * handles are opaque pointers. Callers load the library first (csql_pq_load, csql_my_load).
 */
#include <stddef.h>

/* Load libpq and resolve its functions, once; 0 when available, else -1 (see csql_pq_load_error). */
int csql_pq_load(void);
const char *csql_pq_load_error(void);

/* PQresultStatus values the tables distinguish. */
enum {
    CSQL_PGRES_EMPTY_QUERY = 0,
    CSQL_PGRES_COMMAND_OK = 1,
    CSQL_PGRES_TUPLES_OK = 2,
    CSQL_PGRES_BAD_RESPONSE = 5,
    CSQL_PGRES_FATAL_ERROR = 7,
};

/*
 * Connect as PQsetdbLogin(host, port, NULL, NULL, dbname, user, password) does (a dbname that is a
 * connection string is expanded; non-empty host, port, user and password override it), or, with
 * conninfo set, as PQconnectdb(conninfo). default_timeout, when > 0, is the connect_timeout used
 * unless the connection string or PGCONNECT_TIMEOUT gives one. Returns a PGconn, possibly failed.
 */
void *csql_pq_connect(const char *conninfo, const char *host, const char *port, const char *dbname,
                      const char *user, const char *password, int default_timeout);
int csql_pq_connection_ok(void *conn);
const char *csql_pq_error_message(void *conn);
int csql_pq_set_client_encoding(void *conn, const char *encoding);
/* PQescapeStringConn; *error is 0 on success. */
size_t csql_pq_escape(void *conn, char *to, const char *from, size_t length, int *error);
/* The connect_timeout in effect for the connection, 0 when none. */
int csql_pq_connect_timeout(void *conn);
/*
 * PQexec, bounded by timeout seconds (0: no bound) with the watchdog: the result, or NULL when the
 * query could not be sent; *timed_out is set when the watchdog cut the connection.
 */
void *csql_pq_exec(void *conn, const char *query, int timeout, int *timed_out);
/*
 * Pipeline mode, to overlap the round trips of queries sent ahead: enter it, send each query (extended
 * protocol, one Sync each, so an error ends only its own query), then take their results in order
 * (NULL with *timed_out when the watchdog cut the connection, or on a broken connection), and leave it
 * once nothing is pending. 1 on success.
 */
int csql_pq_pipeline_enter(void *conn);
int csql_pq_pipeline_send(void *conn, const char *query);
void *csql_pq_pipeline_next(void *conn, int timeout, int *timed_out);
int csql_pq_pipeline_exit(void *conn);
int csql_pq_result_status(void *res);
const char *csql_pq_result_error_message(void *res);
int csql_pq_ntuples(void *res);
int csql_pq_nfields(void *res);
const char *csql_pq_getvalue(void *res, int row, int column);
void csql_pq_clear(void *res);
void csql_pq_finish(void *conn);

/* Load libmariadb and resolve its functions, once; 0 when available, else -1. */
int csql_my_load(void);
const char *csql_my_load_error(void);

/*
 * mysql_init, the options Postfix sets (option file and group, TLS files, server certificate check:
 * verify < 0 leaves it alone), and timeout seconds for connect, read and write unless the option file
 * says otherwise. NULL when out of memory.
 */
void *csql_my_init(const char *option_file, const char *option_group, const char *key, const char *cert,
                   const char *ca, const char *capath, const char *ciphers, int verify, int timeout);
/* mysql_real_connect with CLIENT_MULTI_RESULTS; 0 on success. */
int csql_my_connect(void *db, const char *host, const char *user, const char *password, const char *dbname,
                    unsigned port, const char *socket);
const char *csql_my_error(void *db);
/* mysql_set_character_set() (Postfix 3.10 sets the table's charset after connecting). */
int csql_my_set_character_set(void *db, const char *charset);
unsigned long csql_my_escape(void *db, char *to, const char *from, unsigned long length);
int csql_my_query(void *db, const char *query);
/*
 * mysql_query in two halves, so that the queries of keys about to be looked up can be sent ahead and
 * their round trips overlap: send now (mysql_send_query), read the answer later in the same order
 * (mysql_read_query_result). 0 on success.
 */
int csql_my_send(void *db, const char *query);
int csql_my_read(void *db);
void *csql_my_store_result(void *db);
unsigned csql_my_field_count(void *db);
int csql_my_next_result(void *db);
unsigned long long csql_my_num_rows(void *res);
unsigned csql_my_num_fields(void *res);
/* The next row's column values (NULL columns as NULL), or NULL after the last row. */
char **csql_my_fetch_row(void *res);
void csql_my_free_result(void *res);
void csql_my_close(void *db);
/* The connection's socket (for the watchdog), -1 without one. */
int csql_my_socket(void *db);
/* The connection's connect timeout in seconds, else fallback. */
int csql_my_timeout(void *db, int fallback);

/*
 * Bound a blocking library call on socket fd to seconds (Watchdog.c): arm before the call (a slot, -1
 * when unbounded), disarm the slot after it; disarm returns 1 when the deadline passed and the socket
 * was shut down.
 */
int csql_watch_arm(int fd, int seconds);
int csql_watch_disarm(int slot);

/* errno, for messages that print %m after a library call. */
int csql_errno(void);
void csql_set_errno(int value);

#endif
