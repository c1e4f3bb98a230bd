#ifndef CMAPPEDFILE_H
#define CMAPPEDFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// Read-only file windows that survive the file being truncated while they are read.
//
// Reading a mapped page past a file's end raises SIGBUS, which would kill the process when a log
// is truncated (copytruncate, an operator's `: > file`) while `report` reads it. A process-wide
// SIGBUS handler, installed with the first window, puts a zero page where the missing page was
// and notes where in the window it happened, so the reader learns that the file shrank and stops
// there. Faults outside every window, and SIGBUS sent by another process, go on to the handler
// that was installed before, or end the process as they would have (a fault by faulting again
// under the default action, so that the core shows the access).

typedef struct {
    const uint8_t *base;
    size_t length;
    int slot;
} cmapped_window;

/// Maps `length` bytes of `fd` from `offset` (a multiple of the page size). Returns 0, or an
/// errno value (EMFILE when too many windows are open at once).
int cmapped_map(int fd, off_t offset, size_t length, cmapped_window *window);

/// Reads one byte of every page of base[from..<to], so that a page the file no longer has
/// faults now rather than while its lines are parsed. Returns cmapped_fault afterwards.
long cmapped_touch(const cmapped_window *window, size_t from, size_t to);

/// Where in the window the first page that had no file behind it begins (a multiple of the page
/// size), or -1 when every read found its page. A fault is a truncation when the file is now no
/// longer than that; otherwise the page could not be read (an I/O error) or the file grew again.
long cmapped_fault(const cmapped_window *window);

void cmapped_unmap(cmapped_window *window);

#endif
