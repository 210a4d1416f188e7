/*
 * A bound on blocking client-library calls that have none of their own (libpq's PQexec waits for a
 * server forever; so does libmariadb without read timeouts). One thread per process watches the call
 * in progress: csql_watch_arm() gives it a socket and a deadline, csql_watch_disarm() takes them back
 * and says whether the deadline passed, in which case the watchdog has shut the socket down and the
 * library call has failed as it fails on a broken connection. The library's own code path, and so its
 * messages, stay those of the unbounded call. Arming costs a mutex and, only when the thread sleeps
 * without a deadline, a wake-up.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include "CSQLLoader.h"

static pthread_mutex_t csql_watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t csql_watch_cond;
static pthread_once_t csql_watch_once = PTHREAD_ONCE_INIT;
static int csql_watch_started;
static int csql_watch_fd = -1;
static struct timespec csql_watch_deadline;
static int csql_watch_fired;
static int csql_watch_idle;

static int csql_before(const struct timespec *a, const struct timespec *b) {
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void *csql_watch_main(void *unused) {
    struct timespec now;
    (void) unused;
    pthread_mutex_lock(&csql_watch_lock);
    for (;;) {
        if (csql_watch_fd < 0) {
            csql_watch_idle = 1;
            pthread_cond_wait(&csql_watch_cond, &csql_watch_lock);
            csql_watch_idle = 0;
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!csql_before(&now, &csql_watch_deadline)) {
            (void) shutdown(csql_watch_fd, SHUT_RDWR);
            csql_watch_fired = 1;
            csql_watch_fd = -1;
            continue;
        }
        (void) pthread_cond_timedwait(&csql_watch_cond, &csql_watch_lock, &csql_watch_deadline);
    }
    return NULL;
}

static void csql_watch_start(void) {
    pthread_condattr_t attr;
    pthread_t thread;
    pthread_attr_t tattr;

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

void csql_watch_arm(int fd, int seconds) {
    int saved = errno;
    if (fd < 0 || seconds <= 0)
        return;
    (void) pthread_once(&csql_watch_once, csql_watch_start);
    if (!csql_watch_started) {
        errno = saved;
        return;
    }
    pthread_mutex_lock(&csql_watch_lock);
    clock_gettime(CLOCK_MONOTONIC, &csql_watch_deadline);
    csql_watch_deadline.tv_sec += seconds;
    csql_watch_fd = fd;
    csql_watch_fired = 0;
    if (csql_watch_idle)
        pthread_cond_signal(&csql_watch_cond);
    pthread_mutex_unlock(&csql_watch_lock);
    errno = saved;
}

int csql_watch_disarm(void) {
    int saved = errno;
    int fired;
    if (!csql_watch_started)
        return 0;
    pthread_mutex_lock(&csql_watch_lock);
    csql_watch_fd = -1;
    fired = csql_watch_fired;
    csql_watch_fired = 0;
    pthread_mutex_unlock(&csql_watch_lock);
    errno = saved;
    return fired;
}
