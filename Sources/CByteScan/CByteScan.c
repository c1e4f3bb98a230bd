#include "CByteScan.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

// The quote map of a whole line in one call, so that the wider vector units can be used where the
// CPU has them without building the whole program for them: the variant is chosen once, at the
// first call, from what the CPU reports.

__attribute__((target("avx512bw,bmi2"))) static int build_avx512(const uint8_t *p, long n, uint64_t *words) {
    const __m512i quote = _mm512_set1_epi8('"');
    const __m512i backslash = _mm512_set1_epi8('\\');
    uint64_t backslashes = 0;
    long word = 0;
    long offset = 0;
    for (; offset + 64 <= n; offset += 64) {
        __m512i v = _mm512_loadu_si512((const void *)(p + offset));
        words[word++] = _mm512_cmpeq_epi8_mask(v, quote);
        backslashes |= _mm512_cmpeq_epi8_mask(v, backslash);
    }
    if (offset < n) {
        // A masked load touches only the bytes it keeps, so it cannot fault past the line.
        __mmask64 keep = _bzhi_u64(~0ULL, (unsigned)(n - offset));
        __m512i v = _mm512_maskz_loadu_epi8(keep, (const void *)(p + offset));
        words[word++] = _mm512_cmpeq_epi8_mask(v, quote) & keep;
        backslashes |= _mm512_cmpeq_epi8_mask(v, backslash) & keep;
    }
    words[word] = 1;
    return backslashes != 0;
}

__attribute__((target("avx2"))) static inline void mark64_avx2(const uint8_t *p, uint64_t *quotes,
                                                               uint64_t *backslashes) {
    const __m256i quote = _mm256_set1_epi8('"');
    const __m256i backslash = _mm256_set1_epi8('\\');
    __m256i lo = _mm256_loadu_si256((const __m256i *)p);
    __m256i hi = _mm256_loadu_si256((const __m256i *)(p + 32));
    *quotes = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, quote)) |
              (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, quote)) << 32;
    *backslashes = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, backslash)) |
                   (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, backslash)) << 32;
}

__attribute__((target("avx2"))) static int build_avx2(const uint8_t *p, long n, uint64_t *words) {
    uint64_t backslashes = 0, quotes, found;
    long word = 0;
    long offset = 0;
    for (; offset + 64 <= n; offset += 64) {
        mark64_avx2(p + offset, &quotes, &found);
        words[word++] = quotes;
        backslashes |= found;
    }
    if (offset < n) {
        uint8_t block[64] = {0};
        memcpy(block, p + offset, (size_t)(n - offset));
        mark64_avx2(block, &quotes, &found);
        words[word++] = quotes;
        backslashes |= found;
    }
    words[word] = 1;
    return backslashes != 0;
}

__attribute__((target("avx512bw,popcnt"))) static long count_avx512(const uint8_t *p, long n, uint8_t byte) {
    const __m512i wanted = _mm512_set1_epi8((char)byte);
    long count = 0;
    long offset = 0;
    for (; offset + 64 <= n; offset += 64) {
        count += __builtin_popcountll(_mm512_cmpeq_epi8_mask(_mm512_loadu_si512((const void *)(p + offset)), wanted));
    }
    for (; offset < n; offset++) count += p[offset] == byte;
    return count;
}

__attribute__((target("avx2,popcnt"))) static long count_avx2(const uint8_t *p, long n, uint8_t byte) {
    const __m256i wanted = _mm256_set1_epi8((char)byte);
    long count = 0;
    long offset = 0;
    for (; offset + 32 <= n; offset += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + offset));
        count += __builtin_popcount((uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, wanted)));
    }
    for (; offset < n; offset++) count += p[offset] == byte;
    return count;
}
#endif

static int build_portable(const uint8_t *p, long n, uint64_t *words) {
    uint64_t backslashes = 0, quotes, found;
    long word = 0;
    long offset = 0;
    for (; offset + 64 <= n; offset += 64) {
        cbytescan_mark64(p + offset, &quotes, &found);
        words[word++] = quotes;
        backslashes |= found;
    }
    if (offset < n) {
        cbytescan_mark_tail(p + offset, n - offset, &quotes, &found);
        words[word++] = quotes;
        backslashes |= found;
    }
    words[word] = 1;
    return backslashes != 0;
}

static long count_portable(const uint8_t *p, long n, uint8_t byte) {
    long count = 0;
    // In blocks of 255 with byte-wide sums, which compilers vectorize.
    for (long offset = 0; offset < n; offset += 255) {
        long end = n - offset < 255 ? n : offset + 255;
        uint8_t block = 0;
        for (long k = offset; k < end; k++) block += p[k] == byte;
        count += block;
    }
    return count;
}

typedef int (*build_function)(const uint8_t *, long, uint64_t *);

static build_function kernel(int which) {
    switch (which) {
    case 0:
        return build_portable;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    case 1:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") ? build_avx2 : NULL;
    case 2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("bmi2") ? build_avx512 : NULL;
#endif
    default:
        return NULL;
    }
}

static build_function chosen = NULL;

int cbytescan_build_quote_map(const uint8_t *p, long n, uint64_t *words) {
    build_function f = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
    if (f == NULL) {
        // The widest the CPU has; racing first calls choose the same.
        for (int which = 2; f == NULL; which--) f = kernel(which);
        __atomic_store_n(&chosen, f, __ATOMIC_RELAXED);
    }
    return f(p, n, words);
}

int cbytescan_build_quote_map_using(int which, const uint8_t *p, long n, uint64_t *words) {
    build_function f = kernel(which);
    return f == NULL ? -1 : f(p, n, words);
}

typedef long (*count_function)(const uint8_t *, long, uint8_t);

static count_function counter(int which) {
    switch (which) {
    case 0:
        return count_portable;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    case 1:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt") ? count_avx2 : NULL;
    case 2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("popcnt") ? count_avx512 : NULL;
#endif
    default:
        return NULL;
    }
}

static count_function chosen_counter = NULL;

long cbytescan_count_byte(const uint8_t *p, long n, uint8_t byte) {
    count_function f = __atomic_load_n(&chosen_counter, __ATOMIC_RELAXED);
    if (f == NULL) {
        for (int which = 2; f == NULL; which--) f = counter(which);
        __atomic_store_n(&chosen_counter, f, __ATOMIC_RELAXED);
    }
    return f(p, n, byte);
}

long cbytescan_count_byte_using(int which, const uint8_t *p, long n, uint8_t byte) {
    count_function f = counter(which);
    return f == NULL ? -1 : f(p, n, byte);
}
