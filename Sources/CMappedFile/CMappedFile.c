#include "CMappedFile.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// Windows in use, by address range. A slot is free when its start is 0, reserved (matching
// nothing) while its end is 0. Each window is read only by the thread that mapped it; the handler
// only reads `start` and `end`, and records the lowest faulting address in `fault`.
#define SLOTS 64

static struct {
    uintptr_t start;
    uintptr_t end;
    uintptr_t fault;  // lowest faulting address in the window, UINTPTR_MAX for none
} slots[SLOTS];

static struct sigaction previous;
// Set once a previous handler installed with SA_RESETHAND has run: from then on the previous
// action is the default, as the kernel would have left it, while this handler stays installed.
static volatile sig_atomic_t previous_spent = 0;
static uintptr_t page_size;
static pthread_once_t installed = PTHREAD_ONCE_INIT;
static int install_error = 0;

// Whatever would have happened without this handler. `fault`: raised by the kernel for an access
// that runs again when the handler returns.
static void pass_on(int signal_number, siginfo_t *info, void *context, int fault) {
    int spent = __atomic_load_n(&previous_spent, __ATOMIC_ACQUIRE);
    if (spent || previous.sa_handler == SIG_DFL || previous.sa_handler == SIG_IGN) {
        // A fault cannot be ignored, and is best left to happen again under the default action:
        // the access faults once more and the core shows where. A signal that will not come again
        // (sent by kill, or a memory error reported ahead of any access) is raised again if the
        // default would have ended the process; it takes effect when this handler returns.
        if (fault) {
            signal(SIGBUS, SIG_DFL);
        } else if (spent || previous.sa_handler == SIG_DFL) {
            signal(SIGBUS, SIG_DFL);
            raise(SIGBUS);
        }
        return;
    }
    // The previous handler runs as the kernel would have run it: once only if it asked for that,
    // and with its own mask added to the one in force. Only the previous action goes back to the
    // default: resetting SIGBUS itself would leave every mapped window unprotected from then on.
    struct sigaction handler = previous;
    if (handler.sa_flags & SA_RESETHAND) {
        if (__atomic_exchange_n(&previous_spent, 1, __ATOMIC_ACQ_REL)) {
            pass_on(signal_number, info, context, fault);  // another thread ran it first
            return;
        }
    }
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, &handler.sa_mask, &mask);
    if (handler.sa_flags & SA_SIGINFO) {
        handler.sa_sigaction(signal_number, info, context);
    } else {
        handler.sa_handler(signal_number);
    }
    pthread_sigmask(SIG_SETMASK, &mask, NULL);
}

static void on_sigbus(int signal_number, siginfo_t *info, void *context) {
    int saved_errno = errno;
    // si_code > 0: raised by the kernel for an access, whose address is si_addr; except an
    // action-optional memory error, reported for a page no access has reached yet. A SIGBUS that
    // another process sent (kill, sigqueue) has no address to look at.
    int fault = info != NULL && info->si_code > 0;
#ifdef BUS_MCEERR_AO
    if (fault && info->si_code == BUS_MCEERR_AO) fault = 0;
#endif
    if (fault) {
        uintptr_t address = (uintptr_t)info->si_addr;
        for (int k = 0; k < SLOTS; k++) {
            uintptr_t start = __atomic_load_n(&slots[k].start, __ATOMIC_ACQUIRE);
            uintptr_t end = __atomic_load_n(&slots[k].end, __ATOMIC_ACQUIRE);
            // The start again: a slot freed and taken again between the two loads would pair
            // one window's start with another's end.
            if (start <= 1 || address < start || address >= end ||
                __atomic_load_n(&slots[k].start, __ATOMIC_ACQUIRE) != start) {
                continue;
            }
            uintptr_t page = address & ~(page_size - 1);
            void *zero = mmap((void *)page, (size_t)page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                              -1, 0);
            if (zero == MAP_FAILED) break;
            uintptr_t seen = __atomic_load_n(&slots[k].fault, __ATOMIC_ACQUIRE);
            while (page < seen && !__atomic_compare_exchange_n(&slots[k].fault, &seen, page, 0, __ATOMIC_ACQ_REL,
                                                               __ATOMIC_ACQUIRE)) {
            }
            errno = saved_errno;
            return;  // the access runs again and reads zeros
        }
    }
    pass_on(signal_number, info, context, fault);
    errno = saved_errno;
}

static void install(void) {
    page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &previous) != 0) install_error = errno;
}

int cmapped_map(int fd, off_t offset, size_t length, cmapped_window *window) {
    pthread_once(&installed, install);
    if (install_error != 0) return install_error;
    if (length == 0) return EINVAL;
    int slot = -1;
    for (int k = 0; k < SLOTS && slot < 0; k++) {
        uintptr_t expected = 0;
        // A placeholder start reserves the slot; with its end still 0 it matches nothing.
        if (__atomic_compare_exchange_n(&slots[k].start, &expected, (uintptr_t)1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            slot = k;
        }
    }
    if (slot < 0) return EMFILE;
    void *base = mmap(NULL, length, PROT_READ, MAP_PRIVATE, fd, offset);
    if (base == MAP_FAILED) {
        int error = errno;
        __atomic_store_n(&slots[slot].start, 0, __ATOMIC_RELEASE);
        return error;
    }
    (void)madvise(base, length, MADV_SEQUENTIAL);
    __atomic_store_n(&slots[slot].fault, UINTPTR_MAX, __ATOMIC_RELAXED);
    // The start before the end: until the end is set, the handler matches nothing in this slot.
    // The end is rounded up to the page, which is mapped whole.
    uintptr_t end = ((uintptr_t)base + length + page_size - 1) & ~(page_size - 1);
    __atomic_store_n(&slots[slot].start, (uintptr_t)base, __ATOMIC_RELEASE);
    __atomic_store_n(&slots[slot].end, end, __ATOMIC_RELEASE);
    window->base = (const uint8_t *)base;
    window->length = length;
    window->slot = slot;
    return 0;
}

long cmapped_touch(const cmapped_window *window, size_t from, size_t to) {
    size_t page = (size_t)page_size;
    if (to > window->length) to = window->length;
    const volatile uint8_t *base = window->base;
    for (size_t k = from; k < to; k += page - (k % page)) (void)base[k];
    return cmapped_fault(window);
}

long cmapped_fault(const cmapped_window *window) {
    uintptr_t fault = __atomic_load_n(&slots[window->slot].fault, __ATOMIC_ACQUIRE);
    return fault == UINTPTR_MAX ? -1 : (long)(fault - (uintptr_t)window->base);
}

void cmapped_unmap(cmapped_window *window) {
    if (window->base == NULL) return;
    // Out of the registry first, since after munmap the range may be mapped again by anyone;
    // the end goes first, so that a reserved slot (start 1) matches nothing.
    __atomic_store_n(&slots[window->slot].end, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&slots[window->slot].start, 0, __ATOMIC_RELEASE);
    munmap((void *)window->base, window->length);
    window->base = NULL;
    window->length = 0;
}
