#include "CodePages.h"

#if defined(__linux__)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef struct {
    unsigned long start;
    unsigned long end;
    unsigned long inode;
    unsigned long device;
    int executable;
    int candidate;  // private, not writable, file-backed
    size_t resident;
    size_t anonymous;
} Mapping;

// Reads every mapping of /proc/self/smaps; returns how many, or -1.
static long read_mappings(Mapping **out) {
    FILE *file = fopen("/proc/self/smaps", "re");
    if (file == NULL) return -1;
    size_t capacity = 256;
    long count = 0;
    Mapping *mappings = malloc(capacity * sizeof(Mapping));
    if (mappings == NULL) {
        fclose(file);
        return -1;
    }
    char line[4096];
    Mapping *current = NULL;
    while (fgets(line, sizeof line, file) != NULL) {
        unsigned long start, end, offset, inode;
        unsigned int major, minor;
        char permissions[5];
        // A mapping's first line: "start-end perms offset major:minor inode [path]".
        if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu", &start, &end, permissions, &offset, &major, &minor, &inode) ==
            7) {
            if ((size_t)count == capacity) {
                capacity *= 2;
                Mapping *grown = realloc(mappings, capacity * sizeof(Mapping));
                if (grown == NULL) {
                    free(mappings);
                    fclose(file);
                    return -1;
                }
                mappings = grown;
            }
            current = &mappings[count++];
            memset(current, 0, sizeof *current);
            current->start = start;
            current->end = end;
            current->inode = inode;
            current->device = ((unsigned long)major << 20) | minor;
            current->executable = permissions[2] == 'x';
            current->candidate = inode != 0 && permissions[1] == '-' && permissions[3] == 'p';
            continue;
        }
        if (current == NULL) continue;
        size_t kilobytes;
        if (sscanf(line, "Rss: %zu kB", &kilobytes) == 1) {
            current->resident = kilobytes * 1024;
        } else if (sscanf(line, "Anonymous: %zu kB", &kilobytes) == 1) {
            current->anonymous = kilobytes * 1024;
        }
    }
    fclose(file);
    *out = mappings;
    return count;
}

size_t lm_release_code_pages(void) {
    Mapping *mappings = NULL;
    long count = read_mappings(&mappings);
    if (count < 0) return 0;
    size_t released = 0;
    for (long k = 0; k < count; k++) {
        Mapping *mapping = &mappings[k];
        if (!mapping->candidate || mapping->anonymous != 0 || mapping->resident == 0) continue;
        // Only files the process runs code from: the executable and its libraries, not a data
        // file it maps (whose pages could be gone from a truncated file).
        int loaded = 0;
        for (long j = 0; j < count && !loaded; j++) {
            loaded = mappings[j].executable && mappings[j].inode == mapping->inode &&
                     mappings[j].device == mapping->device;
        }
        if (!loaded) continue;
        if (madvise((void *)mapping->start, mapping->end - mapping->start, MADV_DONTNEED) == 0) {
            released += mapping->resident;
        }
    }
    free(mappings);
    return released;
}

#else

size_t lm_release_code_pages(void) { return 0; }

#endif
