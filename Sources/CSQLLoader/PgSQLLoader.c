/*
 * libpq on demand: see include/CSQLLoader.h. libpq's own header is used for the prototypes only;
 * every call goes through an address that csql_pq_load() resolved (CLibraryLoader).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postgresql/libpq-fe.h>

#include "CLibraryLoader.h"
#include "CSQLLoader.h"

#define CSQL_PQ_SONAME "libpq.so.5"

#define CSQL_PQ_FUNCTIONS(X) \
    X(PQconnectdbParams) X(PQstatus) X(PQerrorMessage) X(PQsetClientEncoding) X(PQescapeStringConn) \
    X(PQexec) X(PQsocket) X(PQenterPipelineMode) X(PQexitPipelineMode) X(PQsendQueryParams) \
    X(PQpipelineSync) X(PQgetResult) X(PQresultStatus) \
    X(PQresultErrorMessage) X(PQntuples) X(PQnfields) X(PQgetvalue) X(PQclear) X(PQfinish) \
    X(PQconninfo) X(PQconninfoFree)

CLIB_LIBRARY(csql_pq, CSQL_PQ_FUNCTIONS, CSQL_PQ_SONAME, CSQL_PQ_SONAME);
#define CALL(name) CLIB_FUNCTION(csql_pq, name)

CLIB_LOAD_FUNCTIONS(csql_pq, csql_pq)

void *csql_pq_connect(const char *conninfo, const char *host, const char *port, const char *dbname,
                      const char *user, const char *password, int default_timeout) {
    const char *keywords[8];
    const char *values[8];
    char timeout[32];
    int n = 0;

    /* First, so that a connection string (expanded from dbname) or the environment overrides it. */
    if (default_timeout > 0 && getenv("PGCONNECT_TIMEOUT") == NULL) {
        snprintf(timeout, sizeof(timeout), "%d", default_timeout);
        keywords[n] = "connect_timeout";
        values[n++] = timeout;
    }
    if (conninfo != NULL) {
        keywords[n] = "dbname";
        values[n++] = conninfo;
    } else {
        keywords[n] = "dbname";
        values[n++] = dbname;
        keywords[n] = "host";
        values[n++] = host;
        keywords[n] = "port";
        values[n++] = port;
        keywords[n] = "user";
        values[n++] = user;
        keywords[n] = "password";
        values[n++] = password;
    }
    keywords[n] = NULL;
    values[n] = NULL;
    return CALL(PQconnectdbParams)(keywords, values, 1);
}

int csql_pq_connection_ok(void *conn) {
    return conn != NULL && CALL(PQstatus)(conn) == CONNECTION_OK;
}

const char *csql_pq_error_message(void *conn) {
    return CALL(PQerrorMessage)(conn);
}

int csql_pq_set_client_encoding(void *conn, const char *encoding) {
    return CALL(PQsetClientEncoding)(conn, encoding);
}

size_t csql_pq_escape(void *conn, char *to, const char *from, size_t length, int *error) {
    return CALL(PQescapeStringConn)(conn, to, from, length, error);
}

int csql_pq_connect_timeout(void *conn) {
    PQconninfoOption *options, *o;
    int seconds = 0;

    if (conn == NULL || (options = CALL(PQconninfo)(conn)) == NULL)
        return 0;
    for (o = options; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL)
            seconds = atoi(o->val);
    }
    CALL(PQconninfoFree)(options);
    return seconds > 0 ? seconds : 0;
}

void *csql_pq_exec(void *conn, const char *query, int timeout, int *timed_out) {
    PGresult *result;

    int slot = csql_watch_arm(CALL(PQsocket)(conn), timeout);
    result = CALL(PQexec)(conn, query);
    *timed_out = csql_watch_disarm(slot);
    if (*timed_out) {
        CALL(PQclear)(result);
        return NULL;
    }
    return result;
}

int csql_pq_pipeline_enter(void *conn) {
    return CALL(PQenterPipelineMode)(conn);
}

int csql_pq_pipeline_send(void *conn, const char *query) {
    return CALL(PQsendQueryParams)(conn, query, 0, NULL, NULL, NULL, NULL, 0) && CALL(PQpipelineSync)(conn);
}

void *csql_pq_pipeline_next(void *conn, int timeout, int *timed_out) {
    PGresult *result, *extra;
    int slot = csql_watch_arm(CALL(PQsocket)(conn), timeout);

    result = CALL(PQgetResult)(conn);
    /* The end of this query's results, then its Sync. */
    if (result != NULL && CALL(PQresultStatus)(result) != PGRES_PIPELINE_SYNC) {
        while ((extra = CALL(PQgetResult)(conn)) != NULL)
            CALL(PQclear)(extra);
        if ((extra = CALL(PQgetResult)(conn)) != NULL)
            CALL(PQclear)(extra);
    }
    *timed_out = csql_watch_disarm(slot);
    if (*timed_out || CALL(PQstatus)(conn) == CONNECTION_BAD) {
        CALL(PQclear)(result);
        return NULL;
    }
    return result;
}

int csql_pq_pipeline_exit(void *conn) {
    return CALL(PQexitPipelineMode)(conn);
}

int csql_pq_result_status(void *res) {
    return (int) CALL(PQresultStatus)(res);
}

const char *csql_pq_result_error_message(void *res) {
    return CALL(PQresultErrorMessage)(res);
}

int csql_pq_ntuples(void *res) {
    return CALL(PQntuples)(res);
}

int csql_pq_nfields(void *res) {
    return CALL(PQnfields)(res);
}

const char *csql_pq_getvalue(void *res, int row, int column) {
    return CALL(PQgetvalue)(res, row, column);
}

void csql_pq_clear(void *res) {
    if (res != NULL)
        CALL(PQclear)(res);
}

void csql_pq_finish(void *conn) {
    if (conn != NULL)
        CALL(PQfinish)(conn);
}

int csql_errno(void) { return errno; }
void csql_set_errno(int value) { errno = value; }
