/*
 * fast-fatal.so: an LD_PRELOAD shim for the tests' oracle (Debian's Postfix binaries).
 *
 * Postfix's vmsg_fatal_status() and vmsg_panic() (src/util/msg.c) call sleep(1) after logging, "in
 * case we're running as a signal handler", and only then _exit(). A differential test of an error path
 * pays that second on the oracle's side for nothing: the message, the exit status and the output are
 * complete before the pause. This shim returns at once from sleep() when, and only when, its caller is
 * one of those functions of libpostfix-util; every other sleep (inet_connect's and the tcp and ldap
 * clients' retry pauses, myflock's lock waits, the test servers' own) runs as usual.
 *
 * The caller is found by dladdr() on the return address: the nearest exported symbol of the shared
 * object the call came from. Built by `make test` into the build folder; never installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

typedef unsigned int (*sleep_fn)(unsigned int);

static int called_from_fatal(void *return_address) {
    Dl_info info;
    if (dladdr(return_address, &info) == 0 || info.dli_sname == NULL || info.dli_fname == NULL)
        return 0;
    if (strstr(info.dli_fname, "libpostfix-util") == NULL)
        return 0;
    return strcmp(info.dli_sname, "vmsg_fatal_status") == 0 || strcmp(info.dli_sname, "vmsg_fatal") == 0
        || strcmp(info.dli_sname, "vmsg_panic") == 0;
}

unsigned int sleep(unsigned int seconds) {
    if (called_from_fatal(__builtin_return_address(0)))
        return 0;
    static sleep_fn real_sleep;
    if (real_sleep == NULL)
        real_sleep = (sleep_fn)dlsym(RTLD_NEXT, "sleep");
    return real_sleep != NULL ? real_sleep(seconds) : seconds;
}
