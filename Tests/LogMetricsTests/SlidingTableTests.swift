import Reporting
import Testing

@testable import LogMetrics

@Suite struct SlidingTableTests {
    /// `routes` rows, route k with `base + routes - k` requests (so busiest first).
    static func reading(routes: Int, base: UInt64) -> Table {
        var table = Table(grouping: .route)
        table.rows = (0..<routes).map { k in
            var row = Row(key: "r\(k)")
            row.requests = base + UInt64(routes - k)
            return row
        }
        return table
    }

    @Test func theNewestReadingIsWholeAndOlderOnesKeepTheirBusiestRows() {
        var view = SlidingTable(window: 60)
        view.add(Self.reading(routes: 600, base: 1_000), at: 0)
        view.add(Self.reading(routes: 600, base: 1_100), at: 10)
        // The newest is shown as it is: every row, the total of all of them.
        let (shown, seconds) = view.current()
        #expect(seconds == 10)
        #expect(shown.rows.count == 600)
        // The busiest 500 of the first reading are exact.
        #expect(shown.rows.filter { $0.requests == 100 }.count == 500)
        // The others were not kept: they count whole, and no more than that.
        let rest = shown.rows.filter { $0.requests != 100 }
        #expect(rest.count == 100)
        #expect(rest.allSatisfy { $0.requests > 1_100 && $0.requests <= 1_200 })
    }

    @Test func aFewRowsAreKeptAsTheyAre() {
        var view = SlidingTable(window: 60)
        view.add(Self.reading(routes: 20, base: 0), at: 0)
        view.add(Self.reading(routes: 20, base: 5), at: 10)
        view.add(Self.reading(routes: 20, base: 7), at: 20)
        let (shown, seconds) = view.current()
        #expect(seconds == 20)
        #expect(shown.rows.count == 20 && shown.rows.allSatisfy { $0.requests == 7 })
    }
}
