#include "CSignalRelay.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int relay[2] = {-1, -1};
static int relay_error;
static pthread_once_t relay_once = PTHREAD_ONCE_INIT;

static void make_relay(void) {
    if (pipe(relay) != 0) {
        relay_error = errno;
        relay[0] = relay[1] = -1;
        return;
    }
    for (int i = 0; i < 2; i++) fcntl(relay[i], F_SETFD, FD_CLOEXEC);
    // A full pipe holds thousands of signals nobody has read yet; one more adds nothing, and the
    // handler must never block.
    fcntl(relay[1], F_SETFL, O_NONBLOCK);
}

static void on_signal(int signal_number) {
    int saved = errno;
    unsigned char byte = (unsigned char)signal_number;
    ssize_t written;
    do {
        written = write(relay[1], &byte, 1);
    } while (written < 0 && errno == EINTR);
    errno = saved;
}

int lm_signal_relay_descriptor(void) {
    pthread_once(&relay_once, make_relay);
    if (relay[0] < 0) errno = relay_error;
    return relay[0];
}

int lm_signal_relay_catch(int signal_number) {
    if (lm_signal_relay_descriptor() < 0) return errno;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    return sigaction(signal_number, &action, NULL) == 0 ? 0 : errno;
}
