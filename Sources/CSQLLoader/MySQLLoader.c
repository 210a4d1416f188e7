/*
 * libmariadb on demand: see include/CSQLLoader.h. MariaDB's header is used for the prototypes only;
 * every call goes through an address that csql_my_load() resolved (CLibraryLoader).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mariadb/mysql.h>

#include "CLibraryLoader.h"
#include "CSQLLoader.h"

#define CSQL_MY_SONAME "libmariadb.so.3"

#define CSQL_MY_FUNCTIONS(X) \
    X(mysql_init) X(mysql_options) X(mysql_ssl_set) X(mysql_real_connect) X(mysql_error) \
    X(mysql_real_escape_string) X(mysql_query) X(mysql_store_result) X(mysql_field_count) \
    X(mysql_next_result) X(mysql_num_rows) X(mysql_num_fields) X(mysql_fetch_row) \
    X(mysql_free_result) X(mysql_close) X(mysql_get_socket) X(mysql_get_optionv) \
    X(mysql_send_query) X(mysql_read_query_result) X(mysql_set_character_set)

CLIB_LIBRARY(csql_my, CSQL_MY_FUNCTIONS, CSQL_MY_SONAME, CSQL_MY_SONAME);
#define CALL(name) CLIB_FUNCTION(csql_my, name)

CLIB_LOAD_FUNCTIONS(csql_my, csql_my)

void *csql_my_init(const char *option_file, const char *option_group, const char *key, const char *cert,
                   const char *ca, const char *capath, const char *ciphers, int verify, int timeout) {
    MYSQL *db;
    unsigned int seconds;

    if ((db = CALL(mysql_init)(NULL)) == NULL)
        return NULL;
    /* Bounds Postfix does not set; an option file's connect-timeout still overrides the first. */
    if (timeout > 0) {
        seconds = (unsigned int) timeout;
        CALL(mysql_options)(db, MYSQL_OPT_CONNECT_TIMEOUT, &seconds);
        CALL(mysql_options)(db, MYSQL_OPT_READ_TIMEOUT, &seconds);
        CALL(mysql_options)(db, MYSQL_OPT_WRITE_TIMEOUT, &seconds);
    }
    if (option_file)
        CALL(mysql_options)(db, MYSQL_READ_DEFAULT_FILE, option_file);
    if (option_group && option_group[0])
        CALL(mysql_options)(db, MYSQL_READ_DEFAULT_GROUP, option_group);
    if (key || cert || ca || capath || ciphers)
        CALL(mysql_ssl_set)(db, key, cert, ca, capath, ciphers);
    if (verify != -1)
        CALL(mysql_options)(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    return db;
}

int csql_my_connect(void *db, const char *host, const char *user, const char *password, const char *dbname,
                    unsigned port, const char *socket) {
    return CALL(mysql_real_connect)(db, host, user, password, dbname, port, socket, CLIENT_MULTI_RESULTS) ? 0 : -1;
}

int csql_my_set_character_set(void *db, const char *charset) {
    return CALL(mysql_set_character_set)(db, charset);
}

const char *csql_my_error(void *db) {
    return CALL(mysql_error)(db);
}

unsigned long csql_my_escape(void *db, char *to, const char *from, unsigned long length) {
    return CALL(mysql_real_escape_string)(db, to, from, length);
}

int csql_my_query(void *db, const char *query) {
    return CALL(mysql_query)(db, query);
}

int csql_my_send(void *db, const char *query) {
    return CALL(mysql_send_query)(db, query, (unsigned long) strlen(query));
}

int csql_my_read(void *db) {
    return (int) CALL(mysql_read_query_result)(db);
}

void *csql_my_store_result(void *db) {
    return CALL(mysql_store_result)(db);
}

unsigned csql_my_field_count(void *db) {
    return CALL(mysql_field_count)(db);
}

int csql_my_next_result(void *db) {
    return CALL(mysql_next_result)(db);
}

unsigned long long csql_my_num_rows(void *res) {
    return (unsigned long long) CALL(mysql_num_rows)(res);
}

unsigned csql_my_num_fields(void *res) {
    return CALL(mysql_num_fields)(res);
}

char **csql_my_fetch_row(void *res) {
    return CALL(mysql_fetch_row)(res);
}

void csql_my_free_result(void *res) {
    if (res != NULL)
        CALL(mysql_free_result)(res);
}

void csql_my_close(void *db) {
    CALL(mysql_close)(db);
}

int csql_my_socket(void *db) {
    return (int) CALL(mysql_get_socket)(db);
}

int csql_my_timeout(void *db, int fallback) {
    unsigned int seconds = 0;
    if (CALL(mysql_get_optionv)(db, MYSQL_OPT_CONNECT_TIMEOUT, &seconds) != 0 || seconds == 0)
        return fallback;
    return (int) seconds;
}
