import Reporting
import Testing

@testable import LogMetrics

@Suite struct SlidingTableTests {
    /// `routes` rows, route k with `base + routes - k` requests (so busiest first), each with a
    /// flag and one timed request per request.
    static func reading(routes: Int, base: UInt64) -> Table {
        var table = Table(grouping: .route)
        table.rows = (0..<routes).map { k in
            var row = Row(key: "r\(k)")
            row.requests = base + UInt64(routes - k)
            row.serverErrors = row.requests / 2
            row.flags = ["UF": row.requests]
            return row
        }
        return table
    }

    @Test func everyCountIsExactAndOnlyTheBusiestKeepTheirDetail() {
        var view = SlidingTable(window: 60, spacing: 5)
        view.add(Self.reading(routes: 600, base: 1_000), at: 0)
        view.add(Self.reading(routes: 600, base: 1_100), at: 10)
        let (shown, seconds) = view.current()
        #expect(seconds == 10)
        #expect(shown.rows.count == 600)
        #expect(shown.requests == 600 * 100)
        #expect(shown.rows.allSatisfy { $0.requests == 100 && $0.serverErrors == 50 })
        // The 500 busiest at the start keep their flags for the window; the others show none
        // rather than their flags since start.
        #expect(shown.rows.filter { $0.flags["UF"] == 100 }.count == 500)
        #expect(shown.rows.filter { $0.flags.isEmpty && !$0.hasDetail }.count == 100)
    }

    @Test func readingsCloserThanTheSpacingReplaceTheNewest() {
        var view = SlidingTable(window: 60, spacing: 5)
        view.add(Self.reading(routes: 3, base: 0), at: 0)
        view.add(Self.reading(routes: 3, base: 5), at: 1)
        view.add(Self.reading(routes: 3, base: 7), at: 2)
        // Against the first: the second was replaced by the third, not kept as a start.
        var (shown, seconds) = view.current()
        #expect(seconds == 2 && shown.rows.allSatisfy { $0.requests == 7 })
        view.add(Self.reading(routes: 3, base: 9), at: 70)
        // The window's start is the newest reading at or before 70 - 60: the one at 2.
        (shown, seconds) = view.current()
        #expect(seconds == 68 && shown.rows.allSatisfy { $0.requests == 2 })
    }

    @Test func aFewRowsAreKeptAsTheyAre() {
        var view = SlidingTable(window: 60, spacing: 5)
        view.add(Self.reading(routes: 20, base: 0), at: 0)
        view.add(Self.reading(routes: 20, base: 5), at: 10)
        view.add(Self.reading(routes: 20, base: 7), at: 20)
        let (shown, seconds) = view.current()
        #expect(seconds == 20)
        #expect(shown.rows.count == 20 && shown.rows.allSatisfy { $0.requests == 7 && $0.flags["UF"] == 7 })
    }
}
