/*
 * libmariadb on demand: see include/CSQLLoader.h. MariaDB's header is used for the prototypes only;
 * every call goes through a pointer resolved by csql_my_load().
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mariadb/mysql.h>

#include "CSQLLoader.h"

#define CSQL_MY_SONAME "libmariadb.so.3"

#define CSQL_MY_FUNCTIONS(X) \
    X(mysql_init) X(mysql_options) X(mysql_ssl_set) X(mysql_real_connect) X(mysql_error) \
    X(mysql_real_escape_string) X(mysql_query) X(mysql_store_result) X(mysql_field_count) \
    X(mysql_next_result) X(mysql_num_rows) X(mysql_num_fields) X(mysql_fetch_row) \
    X(mysql_free_result) X(mysql_close) X(mysql_get_socket) X(mysql_get_optionv) \
    X(mysql_send_query) X(mysql_read_query_result)

#define CSQL_MY_POINTER(name) static __typeof__(name) *csql_p_##name;
CSQL_MY_FUNCTIONS(CSQL_MY_POINTER)

static pthread_once_t csql_my_once = PTHREAD_ONCE_INIT;
static int csql_my_loaded;
static char csql_my_problem[512];

static void csql_my_open(void) {
    void *library;
    const char *problem;

    if ((library = dlopen(CSQL_MY_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        problem = dlerror();
        snprintf(csql_my_problem, sizeof(csql_my_problem), "%s", problem ? problem : "dlopen " CSQL_MY_SONAME " failed");
        return;
    }
#define CSQL_MY_RESOLVE(name) \
    if ((csql_p_##name = (__typeof__(name) *) dlsym(library, #name)) == NULL) { \
        snprintf(csql_my_problem, sizeof(csql_my_problem), "%s: undefined symbol: %s", CSQL_MY_SONAME, #name); \
        return; \
    }
    CSQL_MY_FUNCTIONS(CSQL_MY_RESOLVE)
    csql_my_loaded = 1;
}

int csql_my_load(void) {
    int saved = errno;
    (void) pthread_once(&csql_my_once, csql_my_open);
    errno = saved;
    return csql_my_loaded ? 0 : -1;
}

const char *csql_my_load_error(void) {
    (void) csql_my_load();
    return csql_my_problem;
}

void *csql_my_init(const char *option_file, const char *option_group, const char *key, const char *cert,
                   const char *ca, const char *capath, const char *ciphers, int verify, int timeout) {
    MYSQL *db;
    unsigned int seconds;

    if ((db = csql_p_mysql_init(NULL)) == NULL)
        return NULL;
    /* Bounds Postfix does not set; an option file's connect-timeout still overrides the first. */
    if (timeout > 0) {
        seconds = (unsigned int) timeout;
        csql_p_mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &seconds);
        csql_p_mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &seconds);
        csql_p_mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &seconds);
    }
    if (option_file)
        csql_p_mysql_options(db, MYSQL_READ_DEFAULT_FILE, option_file);
    if (option_group && option_group[0])
        csql_p_mysql_options(db, MYSQL_READ_DEFAULT_GROUP, option_group);
    if (key || cert || ca || capath || ciphers)
        csql_p_mysql_ssl_set(db, key, cert, ca, capath, ciphers);
    if (verify != -1)
        csql_p_mysql_options(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    return db;
}

int csql_my_connect(void *db, const char *host, const char *user, const char *password, const char *dbname,
                    unsigned port, const char *socket) {
    return csql_p_mysql_real_connect(db, host, user, password, dbname, port, socket, CLIENT_MULTI_RESULTS) ? 0 : -1;
}

const char *csql_my_error(void *db) {
    return csql_p_mysql_error(db);
}

unsigned long csql_my_escape(void *db, char *to, const char *from, unsigned long length) {
    return csql_p_mysql_real_escape_string(db, to, from, length);
}

int csql_my_query(void *db, const char *query) {
    return csql_p_mysql_query(db, query);
}

int csql_my_send(void *db, const char *query) {
    return csql_p_mysql_send_query(db, query, (unsigned long) strlen(query));
}

int csql_my_read(void *db) {
    return (int) csql_p_mysql_read_query_result(db);
}

void *csql_my_store_result(void *db) {
    return csql_p_mysql_store_result(db);
}

unsigned csql_my_field_count(void *db) {
    return csql_p_mysql_field_count(db);
}

int csql_my_next_result(void *db) {
    return csql_p_mysql_next_result(db);
}

unsigned long long csql_my_num_rows(void *res) {
    return (unsigned long long) csql_p_mysql_num_rows(res);
}

unsigned csql_my_num_fields(void *res) {
    return csql_p_mysql_num_fields(res);
}

char **csql_my_fetch_row(void *res) {
    return csql_p_mysql_fetch_row(res);
}

void csql_my_free_result(void *res) {
    if (res != NULL)
        csql_p_mysql_free_result(res);
}

void csql_my_close(void *db) {
    csql_p_mysql_close(db);
}

int csql_my_socket(void *db) {
    return (int) csql_p_mysql_get_socket(db);
}

int csql_my_timeout(void *db, int fallback) {
    unsigned int seconds = 0;
    if (csql_p_mysql_get_optionv(db, MYSQL_OPT_CONNECT_TIMEOUT, &seconds) != 0 || seconds == 0)
        return fallback;
    return (int) seconds;
}
