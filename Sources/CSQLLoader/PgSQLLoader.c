/*
 * libpq on demand: see include/CSQLLoader.h. libpq's own header is used for the prototypes only;
 * every call goes through a pointer resolved by csql_pq_load().
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <postgresql/libpq-fe.h>

#include "CSQLLoader.h"

#define CSQL_PQ_SONAME "libpq.so.5"

#define CSQL_PQ_FUNCTIONS(X) \
    X(PQconnectdbParams) X(PQstatus) X(PQerrorMessage) X(PQsetClientEncoding) X(PQescapeStringConn) \
    X(PQexec) X(PQsocket) X(PQenterPipelineMode) X(PQexitPipelineMode) X(PQsendQueryParams) \
    X(PQpipelineSync) X(PQgetResult) X(PQresultStatus) \
    X(PQresultErrorMessage) X(PQntuples) X(PQnfields) X(PQgetvalue) X(PQclear) X(PQfinish) \
    X(PQconninfo) X(PQconninfoFree)

#define CSQL_PQ_POINTER(name) static __typeof__(name) *csql_p_##name;
CSQL_PQ_FUNCTIONS(CSQL_PQ_POINTER)

static pthread_once_t csql_pq_once = PTHREAD_ONCE_INIT;
static int csql_pq_loaded;
static char csql_pq_error[512];

static void csql_pq_open(void) {
    void *library;
    const char *problem;

    if ((library = dlopen(CSQL_PQ_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        problem = dlerror();
        snprintf(csql_pq_error, sizeof(csql_pq_error), "%s", problem ? problem : "dlopen " CSQL_PQ_SONAME " failed");
        return;
    }
#define CSQL_PQ_RESOLVE(name) \
    if ((csql_p_##name = (__typeof__(name) *) dlsym(library, #name)) == NULL) { \
        snprintf(csql_pq_error, sizeof(csql_pq_error), "%s: undefined symbol: %s", CSQL_PQ_SONAME, #name); \
        return; \
    }
    CSQL_PQ_FUNCTIONS(CSQL_PQ_RESOLVE)
    csql_pq_loaded = 1;
}

int csql_pq_load(void) {
    int saved = errno;
    (void) pthread_once(&csql_pq_once, csql_pq_open);
    errno = saved;
    return csql_pq_loaded ? 0 : -1;
}

const char *csql_pq_load_error(void) {
    (void) csql_pq_load();
    return csql_pq_error;
}

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
    return csql_p_PQconnectdbParams(keywords, values, 1);
}

int csql_pq_connection_ok(void *conn) {
    return conn != NULL && csql_p_PQstatus(conn) == CONNECTION_OK;
}

const char *csql_pq_error_message(void *conn) {
    return csql_p_PQerrorMessage(conn);
}

int csql_pq_set_client_encoding(void *conn, const char *encoding) {
    return csql_p_PQsetClientEncoding(conn, encoding);
}

size_t csql_pq_escape(void *conn, char *to, const char *from, size_t length, int *error) {
    return csql_p_PQescapeStringConn(conn, to, from, length, error);
}

int csql_pq_connect_timeout(void *conn) {
    PQconninfoOption *options, *o;
    int seconds = 0;

    if (conn == NULL || (options = csql_p_PQconninfo(conn)) == NULL)
        return 0;
    for (o = options; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL)
            seconds = atoi(o->val);
    }
    csql_p_PQconninfoFree(options);
    return seconds > 0 ? seconds : 0;
}

void *csql_pq_exec(void *conn, const char *query, int timeout, int *timed_out) {
    PGresult *result;

    int slot = csql_watch_arm(csql_p_PQsocket(conn), timeout);
    result = csql_p_PQexec(conn, query);
    *timed_out = csql_watch_disarm(slot);
    if (*timed_out) {
        csql_p_PQclear(result);
        return NULL;
    }
    return result;
}

int csql_pq_pipeline_enter(void *conn) {
    return csql_p_PQenterPipelineMode(conn);
}

int csql_pq_pipeline_send(void *conn, const char *query) {
    return csql_p_PQsendQueryParams(conn, query, 0, NULL, NULL, NULL, NULL, 0) && csql_p_PQpipelineSync(conn);
}

void *csql_pq_pipeline_next(void *conn, int timeout, int *timed_out) {
    PGresult *result, *extra;
    int slot = csql_watch_arm(csql_p_PQsocket(conn), timeout);

    result = csql_p_PQgetResult(conn);
    /* The end of this query's results, then its Sync. */
    if (result != NULL && csql_p_PQresultStatus(result) != PGRES_PIPELINE_SYNC) {
        while ((extra = csql_p_PQgetResult(conn)) != NULL)
            csql_p_PQclear(extra);
        if ((extra = csql_p_PQgetResult(conn)) != NULL)
            csql_p_PQclear(extra);
    }
    *timed_out = csql_watch_disarm(slot);
    if (*timed_out || csql_p_PQstatus(conn) == CONNECTION_BAD) {
        csql_p_PQclear(result);
        return NULL;
    }
    return result;
}

int csql_pq_pipeline_exit(void *conn) {
    return csql_p_PQexitPipelineMode(conn);
}

int csql_pq_result_status(void *res) {
    return (int) csql_p_PQresultStatus(res);
}

const char *csql_pq_result_error_message(void *res) {
    return csql_p_PQresultErrorMessage(res);
}

int csql_pq_ntuples(void *res) {
    return csql_p_PQntuples(res);
}

int csql_pq_nfields(void *res) {
    return csql_p_PQnfields(res);
}

const char *csql_pq_getvalue(void *res, int row, int column) {
    return csql_p_PQgetvalue(res, row, column);
}

void csql_pq_clear(void *res) {
    if (res != NULL)
        csql_p_PQclear(res);
}

void csql_pq_finish(void *conn) {
    if (conn != NULL)
        csql_p_PQfinish(conn);
}

int csql_errno(void) { return errno; }
void csql_set_errno(int value) { errno = value; }
