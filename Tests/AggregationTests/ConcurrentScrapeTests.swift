import AccessLogParser
import Exposition
import Synchronization
import Testing

@testable import Aggregation

/// Scrapes taken while two readers count must each be a consistent picture: no counter and no
/// bucket of any series ever smaller than in an earlier scrape, and the last scrape exact.
@Suite struct ConcurrentScrapeTests {
    final class Finished: Sendable {
        let count = Mutex(0)
    }

    static func cumulative(_ snapshot: MetricSnapshot) -> [String: UInt64] {
        var values: [String: UInt64] = [:]
        for family in snapshot.families {
            for (k, labels) in family.labels.enumerated() {
                let key = family.name + "|" + labels.values.joined(separator: ",")
                switch family.values {
                case .integers(let counts):
                    values[key] = counts[k]
                case .histograms(let columns):
                    let width = columns.bucketsPerSeries
                    var running: UInt64 = 0
                    for b in 0..<width {
                        running += columns.bucketCounts[k * width + b]
                        values[key + "|le\(b)"] = running
                    }
                default:
                    break
                }
            }
        }
        return values
    }

    @Test func scrapesDuringIngestNeverGoBackwards() async {
        let harness = Harness(shards: 2)
        let chunks = (0..<40).map { chunk in
            (0..<250).map { k in
                let n = chunk * 250 + k
                return line(
                    route: "r\(n % 37)", method: n % 5 == 0 ? "POST" : "GET", code: [200, 404, 503, 0][n % 4],
                    flags: n % 4 == 2 ? "UF,URX" : "-", duration: (n * 7919) % 3000)
            }
        }
        let finished = Finished()
        let problems = await withTaskGroup(of: [String].self) { group in
            for shard in 0..<2 {
                group.addTask {
                    for (index, chunk) in chunks.enumerated() where index % 2 == shard {
                        harness.feed(chunk, shard: shard)
                    }
                    finished.count.withLock { $0 += 1 }
                    return []
                }
            }
            group.addTask {
                var previous: [String: UInt64] = [:]
                var problems: [String] = []
                var scrapes = 0
                while finished.count.withLock({ $0 }) < 2 || scrapes < 3 {
                    let current = Self.cumulative(harness.snapshot())
                    for (key, value) in previous where (current[key] ?? 0) < value {
                        problems.append("\(key) went from \(value) to \(current[key] ?? 0)")
                    }
                    previous = current
                    scrapes += 1
                    await Task.yield()
                }
                return problems
            }
            var all: [String] = []
            for await problems in group { all += problems }
            return all
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        let snapshot = harness.snapshot()
        #expect(snapshot.sum("logmetrics_http_requests") == 10_000)
        #expect(snapshot.sum("logmetrics_http_response_flags", where: ["flag": "UF"]) == 2_500)
    }
}
