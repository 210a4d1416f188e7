/* The loader pattern: see include/CLibraryLoader.h. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "CLibraryLoader.h"

int clib_open(const char *name, const char *const *sonames, const char *const *symbols, void **table,
              char *error, size_t size) {
    void *library = NULL;
    const char *problem;
    size_t i, used = 0;
    int n;

    if (size > 0)
        error[0] = 0;
    for (i = 0; sonames[i] != NULL && library == NULL; i++) {
        if ((library = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL)) != NULL)
            break;
        /* Each soname's reason, so that the message names every one tried ("A: ...; B: ..."). */
        problem = dlerror();
        if (used < size) {
            if (problem != NULL)
                n = snprintf(error + used, size - used, "%s%s", used > 0 ? "; " : "", problem);
            else
                n = snprintf(error + used, size - used, "%sdlopen %s failed", used > 0 ? "; " : "", sonames[i]);
            used = n < 0 ? size : used + (size_t) n;
        }
    }
    if (library == NULL) {
        if (size > 0 && error[0] == 0)
            snprintf(error, size, "dlopen %s failed", name);
        return -1;
    }
    for (i = 0; symbols[i] != NULL; i++) {
        if ((table[i] = dlsym(library, symbols[i])) == NULL) {
            snprintf(error, size, "%s: undefined symbol: %s", name, symbols[i]);
            return -1;
        }
    }
    if (size > 0)
        error[0] = 0;
    return 0;
}

/* One lock for the first load of every library; later calls read the state without it. */
static pthread_mutex_t clib_lock = PTHREAD_MUTEX_INITIALIZER;

int clib_load(struct clib_library *library) {
    int state = __atomic_load_n(&library->state, __ATOMIC_ACQUIRE);

    if (state == 0) {
        pthread_mutex_lock(&clib_lock);
        if ((state = library->state) == 0) {
            state = clib_open(library->name, library->sonames, library->symbols, library->table, library->error,
                              sizeof(library->error)) == 0 ? 1 : -1;
            __atomic_store_n(&library->state, state, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&clib_lock);
    }
    return state == 1 ? 0 : -1;
}

const char *clib_load_error(struct clib_library *library) {
    (void) clib_load(library);
    return library->error;
}

void clib_require(struct clib_library *library, const char *what) {
    if (clib_load(library) != 0) {
        fprintf(stderr, "fatal: cannot load the %s: %s\n", what, library->error);
        abort();
    }
}
