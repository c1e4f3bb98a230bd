#ifndef CFILEBIRTH_H
#define CFILEBIRTH_H

// Before any system header: glibc declares statx only for _GNU_SOURCE, decided at the first.
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif

#include <stdint.h>

#if defined(__linux__)
#include <fcntl.h>
#include <sys/stat.h>
#endif

// A file's birth (creation) time, which tells two files apart that got the same inode number
// one after the other. statx(2) has it on Linux 4.11 and later for file systems that record
// it (ext4, xfs, btrfs, tmpfs); Swift's Glibc module does not export statx, hence this shim.

/// Nanoseconds since the epoch when the open file `fd` was created, or -1 when the system or
/// the file system does not tell.
static inline int64_t cfilebirth_nanoseconds(int fd) {
#if defined(__linux__) && defined(STATX_BTIME)
    struct statx info;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &info) != 0) return -1;
    if (!(info.stx_mask & STATX_BTIME)) return -1;
    return (int64_t)info.stx_btime.tv_sec * 1000000000 + (int64_t)info.stx_btime.tv_nsec;
#else
    (void)fd;
    return -1;
#endif
}

#endif
