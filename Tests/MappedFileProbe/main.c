// Runs one SIGBUS scenario in a fresh process, so that the handler is installed over a known
// previous action, and reports by its exit: a status of its own, or death by SIGBUS.
//
//   mapped-file-probe SCENARIO FILE
//
// FILE is a scratch file of at least two pages that the probe may truncate.

#include "CMappedFile.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { handled = 10, wrong = 11 };

// Counts its runs (installed with SA_RESETHAND, so it should run once).
static volatile sig_atomic_t reset_runs = 0;
static void reset_counter(int signal_number) {
    (void)signal_number;
    reset_runs += 1;
}

// Exits `handled` when SIGUSR1, which this handler's mask names, is blocked while it runs.
static void mask_checker(int signal_number, siginfo_t *info, void *context) {
    (void)signal_number;
    (void)info;
    (void)context;
    sigset_t blocked;
    pthread_sigmask(SIG_BLOCK, NULL, &blocked);
    _exit(sigismember(&blocked, SIGUSR1) ? handled : wrong);
}

// Maps FILE outside every window, cuts it to nothing and reads the mapping: a real fault that is
// none of logmetrics' business.
static int foreign_fault(const char *path) {
    int fd = open(path, O_RDWR);
    if (fd < 0) return 2;
    long page = sysconf(_SC_PAGESIZE);
    const volatile unsigned char *bytes = mmap(NULL, (size_t)page * 2, PROT_READ, MAP_SHARED, fd, 0);
    if (bytes == MAP_FAILED || ftruncate(fd, 0) != 0) return 2;
    return bytes[page];
}

// Whether a window over FILE still survives FILE being cut to nothing under it.
static int still_protected(const char *path) {
    int fd = open(path, O_RDWR);
    if (fd < 0) return 0;
    long page = sysconf(_SC_PAGESIZE);
    cmapped_window window;
    if (cmapped_map(fd, 0, (size_t)page * 2, &window) != 0 || ftruncate(fd, 0) != 0) return 0;
    long fault = cmapped_touch(&window, 0, (size_t)page * 2);
    cmapped_unmap(&window);
    return fault >= 0;
}

// Maps a window of FILE, so that the handler is installed.
static int install(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    cmapped_window window;
    if (cmapped_map(fd, 0, (size_t)sysconf(_SC_PAGESIZE), &window) != 0) return -1;
    cmapped_unmap(&window);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: mapped-file-probe SCENARIO FILE\n");
        return 2;
    }
    const char *scenario = argv[1];
    const char *path = argv[2];
    struct sigaction action;
    memset(&action, 0, sizeof action);
    sigemptyset(&action.sa_mask);
    if (strcmp(scenario, "kill-default") == 0 || strcmp(scenario, "fault-default") == 0) {
        action.sa_handler = SIG_DFL;
    } else if (strcmp(scenario, "kill-ignored") == 0 || strcmp(scenario, "fault-ignored") == 0) {
        action.sa_handler = SIG_IGN;
    } else if (strcmp(scenario, "kill-reset-hand") == 0 || strcmp(scenario, "kill-reset-hand-twice") == 0) {
        action.sa_handler = reset_counter;
        action.sa_flags = SA_RESETHAND;
    } else if (strcmp(scenario, "kill-masked") == 0) {
        action.sa_sigaction = mask_checker;
        action.sa_flags = SA_SIGINFO;
        sigaddset(&action.sa_mask, SIGUSR1);
    } else {
        fprintf(stderr, "mapped-file-probe: unknown scenario %s\n", scenario);
        return 2;
    }
    if (sigaction(SIGBUS, &action, NULL) != 0 || install(path) != 0) return 2;
    if (strncmp(scenario, "fault-", 6) == 0) return foreign_fault(path) == 2 ? 2 : 0;
    kill(getpid(), SIGBUS);
    if (strcmp(scenario, "kill-reset-hand") == 0) {
        // The previous handler ran once, and the windows are still looked after.
        return reset_runs == 1 && still_protected(path) ? handled : wrong;
    }
    if (strcmp(scenario, "kill-reset-hand-twice") == 0) {
        kill(getpid(), SIGBUS);  // the previous action is now the default: this one ends the process
        return wrong;
    }
    return 0;
}
