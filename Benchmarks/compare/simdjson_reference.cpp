// The parsing floor for Benchmarks/compare: simdjson On-Demand over an access log, counting
// requests by (route, method, response_code, response_flags) and a per-route duration histogram
// on Envoy's millisecond buckets, which is what logmetrics' request counter and duration
// histogram hold. The route is `route_name`, or the path when it is null (no route matched).
//
//   simdjson_reference ACCESS_LOG > counts.tsv
//
// Output, tab-separated: `requests ROUTE METHOD CODE FLAGS COUNT` and
// `duration ROUTE COUNT SUM_MS`. Lines that do not parse are counted in `malformed N`.
#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

constexpr std::array<double, 19> kBounds = {0.5,   1,     5,      10,     25,     50,      100,
                                            250,   500,   1000,   2500,   5000,   10000,   30000,
                                            60000, 300000, 600000, 1800000, 3600000};

struct Histogram {
    std::array<uint64_t, kBounds.size() + 1> buckets{};
    uint64_t count = 0;
    int64_t sum = 0;

    void observe(int64_t ms) {
        size_t i = 0;
        while (i < kBounds.size() && static_cast<double>(ms) > kBounds[i]) ++i;
        ++buckets[i];
        ++count;
        sum += ms;
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: simdjson_reference ACCESS_LOG\n");
        return 2;
    }
    // Mapped, not copied: the page cache is the buffer, as for logmetrics reading the file.
    int fd = open(argv[1], O_RDONLY);
    struct stat status {};
    if (fd < 0 || fstat(fd, &status) != 0) {
        std::perror(argv[1]);
        return 1;
    }
    const size_t size = static_cast<size_t>(status.st_size);
    void* mapped = size > 0 ? mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
    if (size > 0 && mapped == MAP_FAILED) {
        std::perror("mmap");
        return 1;
    }
    madvise(mapped, size, MADV_SEQUENTIAL);
    const char* data = static_cast<const char*>(mapped);
    simdjson::ondemand::parser parser;
    std::unordered_map<std::string, uint64_t> requests;
    std::unordered_map<std::string, Histogram> durations;
    uint64_t malformed = 0;
    std::string key;

    size_t start = 0;
    simdjson::padded_string tail;  // a line too near the end of the mapping for simdjson's padding
    while (start < size) {
        const char* newline = static_cast<const char*>(std::memchr(data + start, '\n', size - start));
        size_t end = newline ? static_cast<size_t>(newline - data) : size;
        size_t length = end - start;
        if (length > 0) {
            // The rest of the file is the padding simdjson needs after the line.
            simdjson::ondemand::document doc;
            std::string_view route, method, flags;
            int64_t code = 0, duration = 0;
            bool ok;
            if (size - start >= length + simdjson::SIMDJSON_PADDING) {
                ok = !parser.iterate(data + start, length, size - start).get(doc);
            } else {
                tail = simdjson::padded_string(data + start, length);
                ok = !parser.iterate(tail).get(doc);
            }
            if (ok) {
                auto object = doc.get_object();
                ok = !object.error();
                if (ok) {
                    simdjson::ondemand::object o = object.value_unsafe();
                    ok = !o["duration"].get_int64().get(duration) && !o["method"].get_string().get(method);
                    std::string_view path;
                    if (ok) ok = !o["path"].get_string().get(path);
                    if (ok) ok = !o["response_code"].get_int64().get(code);
                    if (ok) ok = !o["response_flags"].get_string().get(flags);
                    if (ok) {
                        auto name = o["route_name"];
                        bool isNull = false;
                        ok = !name.is_null().get(isNull);
                        if (ok && isNull) {
                            route = path;
                        } else if (ok) {
                            ok = !name.get_string().get(route);
                        }
                    }
                }
            }
            if (ok) {
                key.assign(route);
                key.push_back('\t');
                key.append(method);
                key.push_back('\t');
                key.append(std::to_string(code));
                key.push_back('\t');
                key.append(flags);
                ++requests[key];
                durations[std::string(route)].observe(duration);
            } else {
                ++malformed;
            }
        }
        start = end + 1;
    }
    for (const auto& [k, count] : requests) std::printf("requests\t%s\t%llu\n", k.c_str(), (unsigned long long)count);
    for (const auto& [route, h] : durations) {
        std::printf("duration\t%s\t%llu\t%lld\n", route.c_str(), (unsigned long long)h.count, (long long)h.sum);
    }
    std::printf("malformed\t%llu\n", (unsigned long long)malformed);
    return 0;
}
