#ifndef PFX_CBERKELEYDB_SHIM_H
#define PFX_CBERKELEYDB_SHIM_H
/* Berkeley DB 5.3 exposes its API as function pointers inside structs.
 * These wrappers give each call one grep-able C name (prefix CBDB_). */
#include <db.h>
#include <string.h>

static inline int CBDB_env_create(DB_ENV **env) { return db_env_create(env, 0); }
static inline int CBDB_env_get_cachesize(DB_ENV *e, u_int32_t *g, u_int32_t *b, int *n) { return e->get_cachesize(e, g, b, n); }
static inline int CBDB_env_set_cachesize(DB_ENV *e, u_int32_t g, u_int32_t b, int n) { return e->set_cachesize(e, g, b, n); }
static inline int CBDB_env_set_cache_max(DB_ENV *e, u_int32_t g, u_int32_t b) { return e->set_cache_max(e, g, b); }
static inline int CBDB_env_open(DB_ENV *e, const char *home, u_int32_t flags) { return e->open(e, home, flags, 0); }
static inline int CBDB_env_close(DB_ENV *e) { return e->close(e, 0); }
static inline void CBDB_env_set_errcall(DB_ENV *e, void (*fn)(const DB_ENV *, const char *, const char *)) { e->set_errcall(e, fn); }

static inline int CBDB_create(DB **db, DB_ENV *env) { return db_create(db, env, 0); }
static inline int CBDB_set_h_nelem(DB *db, u_int32_t n) { return db->set_h_nelem(db, n); }
static inline int CBDB_open(DB *db, const char *file, DBTYPE type, u_int32_t flags, int mode) {
    return db->open(db, NULL, file, NULL, type, flags, mode);
}
static inline int CBDB_close(DB *db) { return db->close(db, 0); }
static inline int CBDB_fd(DB *db, int *fd) { return db->fd(db, fd); }
static inline int CBDB_sync(DB *db) { return db->sync(db, 0); }
static inline int CBDB_get_type(DB *db, DBTYPE *t) { return db->get_type(db, t); }

static inline int CBDB_get(DB *db, const void *k, u_int32_t klen, void **v, u_int32_t *vlen) {
    DBT key, val;
    memset(&key, 0, sizeof key); memset(&val, 0, sizeof val);
    key.data = (void *) k; key.size = klen;
    int rc = db->get(db, NULL, &key, &val, 0);
    if (rc == 0) { *v = val.data; *vlen = val.size; }
    return rc;
}
static inline int CBDB_put(DB *db, const void *k, u_int32_t klen, const void *v, u_int32_t vlen, int noOverwrite) {
    DBT key, val;
    memset(&key, 0, sizeof key); memset(&val, 0, sizeof val);
    key.data = (void *) k; key.size = klen;
    val.data = (void *) v; val.size = vlen;
    return db->put(db, NULL, &key, &val, noOverwrite ? DB_NOOVERWRITE : 0);
}
static inline int CBDB_del(DB *db, const void *k, u_int32_t klen) {
    DBT key;
    memset(&key, 0, sizeof key);
    key.data = (void *) k; key.size = klen;
    return db->del(db, NULL, &key, 0);
}
static inline int CBDB_cursor(DB *db, DBC **c) { return db->cursor(db, NULL, c, 0); }
static inline int CBDB_cursor_next(DBC *c, void **k, u_int32_t *klen, void **v, u_int32_t *vlen) {
    DBT key, val;
    memset(&key, 0, sizeof key); memset(&val, 0, sizeof val);
    int rc = c->get(c, &key, &val, DB_NEXT);
    if (rc == 0) { *k = key.data; *klen = key.size; *v = val.data; *vlen = val.size; }
    return rc;
}
static inline int CBDB_cursor_close(DBC *c) { return c->close(c); }

static inline const char *CBDB_strerror(int e) { return db_strerror(e); }
static inline void CBDB_version(int *maj, int *min, int *patch) { (void) db_version(maj, min, patch); }
#define CBDB_COMPILED_MAJOR DB_VERSION_MAJOR
#define CBDB_COMPILED_MINOR DB_VERSION_MINOR
#define CBDB_COMPILED_PATCH DB_VERSION_PATCH
#endif
