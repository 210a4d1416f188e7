/*
 * A bound on blocking client-library calls that have none of their own (libpq's PQexec waits for a
 * server forever; so does libmariadb without read timeouts). One thread per process watches the calls
 * in progress: csql_watch_arm() gives it a socket and a deadline and returns a slot, csql_watch_disarm()
 * gives the slot back and says whether the deadline passed, in which case the watchdog has shut the
 * socket down and the library call has failed as it fails on a broken connection. The library's own
 * code path, and so its messages, stay those of the unbounded call. Calls on several threads (tables
 * on different threads) each have their own slot. Arming costs a mutex and, only when the thread
 * sleeps longer than the new deadline, a wake-up.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "CSQLLoader.h"

#define CSQL_WATCH_SLOTS 64

static struct {
    int fd;                     /* -1: free */
    int fired;
    struct timespec deadline;
} csql_watch[CSQL_WATCH_SLOTS];

static pthread_mutex_t csql_watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t csql_watch_cond;
static pthread_once_t csql_watch_once = PTHREAD_ONCE_INIT;
static int csql_watch_started;
/* When the watchdog will next wake up on its own (tv_sec 0: not before it is signalled). */
static struct timespec csql_watch_wake;

static int csql_before(const struct timespec *a, const struct timespec *b) {
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void *csql_watch_main(void *unused) {
    struct timespec now, next;
    int i, any;
    (void) unused;
    pthread_mutex_lock(&csql_watch_lock);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        any = 0;
        for (i = 0; i < CSQL_WATCH_SLOTS; i++) {
            if (csql_watch[i].fd < 0 || csql_watch[i].fired)
                continue;
            if (!csql_before(&now, &csql_watch[i].deadline)) {
                (void) shutdown(csql_watch[i].fd, SHUT_RDWR);
                csql_watch[i].fired = 1;
            } else if (!any || csql_before(&csql_watch[i].deadline, &next)) {
                next = csql_watch[i].deadline;
                any = 1;
            }
        }
        if (any) {
            csql_watch_wake = next;
            (void) pthread_cond_timedwait(&csql_watch_cond, &csql_watch_lock, &next);
        } else {
            csql_watch_wake.tv_sec = 0;
            csql_watch_wake.tv_nsec = 0;
            pthread_cond_wait(&csql_watch_cond, &csql_watch_lock);
        }
    }
    return NULL;
}

static void csql_watch_start(void) {
    pthread_condattr_t attr;
    pthread_attr_t tattr;
    pthread_t thread;
    int i;

    for (i = 0; i < CSQL_WATCH_SLOTS; i++)
        csql_watch[i].fd = -1;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&csql_watch_cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_attr_init(&tattr);
    pthread_attr_setdetachstate(&tattr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &tattr, csql_watch_main, NULL) == 0)
        csql_watch_started = 1;
    pthread_attr_destroy(&tattr);
}

int csql_watch_arm(int fd, int seconds) {
    int saved = errno;
    int i, slot = -1;
    if (fd < 0 || seconds <= 0)
        return -1;
    (void) pthread_once(&csql_watch_once, csql_watch_start);
    if (!csql_watch_started) {
        errno = saved;
        return -1;
    }
    pthread_mutex_lock(&csql_watch_lock);
    for (i = 0; i < CSQL_WATCH_SLOTS; i++) {
        if (csql_watch[i].fd < 0) {
            slot = i;
            break;
        }
    }
    if (slot >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &csql_watch[slot].deadline);
        csql_watch[slot].deadline.tv_sec += seconds;
        csql_watch[slot].fd = fd;
        csql_watch[slot].fired = 0;
        if (csql_watch_wake.tv_sec == 0 || csql_before(&csql_watch[slot].deadline, &csql_watch_wake))
            pthread_cond_signal(&csql_watch_cond);
    }
    pthread_mutex_unlock(&csql_watch_lock);
    errno = saved;
    return slot;
}

int csql_watch_disarm(int slot) {
    int saved = errno;
    int fired;
    if (slot < 0 || slot >= CSQL_WATCH_SLOTS)
        return 0;
    pthread_mutex_lock(&csql_watch_lock);
    fired = csql_watch[slot].fired;
    csql_watch[slot].fd = -1;
    csql_watch[slot].fired = 0;
    pthread_mutex_unlock(&csql_watch_lock);
    errno = saved;
    return fired;
}
