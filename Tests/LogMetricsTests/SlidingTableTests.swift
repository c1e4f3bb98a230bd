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
        // The one at 1 gave way to the one at 2: at 61 the window starts at 0, not at 1.
        let (shown, seconds) = view.window(endingWith: Self.reading(routes: 3, base: 9), at: 61)
        #expect(seconds == 61 && shown.rows.allSatisfy { $0.requests == 9 })
        view.add(Self.reading(routes: 3, base: 9), at: 70)
        // The one at 2 was as close to the one at 0, and gave way too.
        let (later, laterSeconds) = view.current()
        #expect(laterSeconds == 70 && later.rows.allSatisfy { $0.requests == 9 })
        view.add(Self.reading(routes: 3, base: 10), at: 71)
        view.add(Self.reading(routes: 3, base: 12), at: 80)
        // 70 is far enough from 0 to stay: at 135 the window starts there.
        let (last, lastSeconds) = view.window(endingWith: Self.reading(routes: 3, base: 20), at: 135)
        #expect(lastSeconds == 65 && last.rows.allSatisfy { $0.requests == 11 })
    }

    @Test func aRouteNewSinceTheStartShowsEverythingAndOneThatFellStartsAgain() {
        var view = SlidingTable(window: 60, spacing: 5)
        view.add(Self.reading(routes: 600, base: 1_000), at: 0)
        // A second reading, so that the first is kept as a start: trimmed of detail past row 500.
        view.add(Self.reading(routes: 600, base: 1_050), at: 10)
        var latest = Self.reading(routes: 600, base: 1_100)
        var fresh = Row(key: "new")
        fresh.requests = 40
        fresh.flags = ["UH": 40]
        latest.rows.insert(fresh, at: 0)
        // r599 lost series to expiry: fewer than at the start, so what it has is since then.
        latest.rows[latest.rows.count - 1].requests = 30
        let (shown, seconds) = view.window(endingWith: latest, at: 20)
        #expect(seconds == 20)
        let byKey = Dictionary(uniqueKeysWithValues: shown.rows.map { ($0.key, $0) })
        #expect(byKey["new"]?.requests == 40 && byKey["new"]?.flags == ["UH": 40])
        #expect(byKey["r599"]?.requests == 30)
        #expect(byKey["r0"]?.requests == 100 && byKey["r0"]?.flags == ["UF": 100])
        #expect(byKey["r598"]?.requests == 100 && byKey["r598"]?.hasDetail == false)
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

    @Test func manyRowsAreKeptAsCountsBeyondTheBusiest() {
        var view = SlidingTable(window: 60, spacing: 5, keepsNewestWhole: false)
        view.add(Self.reading(routes: 10_000, base: 1_000), at: 0)
        view.add(Self.reading(routes: 10_000, base: 1_100), at: 10)
        view.add(Self.reading(routes: 10_000, base: 1_200), at: 20)
        // Three readings of 500 whole rows and every row's counts (about six bytes a row here),
        // and one list of the 10 000 keys that all three share.
        #expect(view.approximateBytes < 10_000 * 16 + 3 * (500 * MemoryLayout<Row>.stride + 10_000 * 8))
        let (shown, seconds) = view.window(endingWith: Self.reading(routes: 10_000, base: 1_300), at: 25)
        #expect(seconds == 25)
        #expect(shown.rows.count == 10_000 && shown.rows.allSatisfy { $0.requests == 300 && $0.serverErrors == 150 })
        #expect(shown.rows.filter { $0.flags["UF"] == 300 }.count == 500)
        // Without the newest kept whole there is no view ending at it.
        #expect(view.current().1 == 0)
    }

    @Test func readingsShareTheirKeysUntilANewOneComesAndForgetGoneOnes() {
        var view = SlidingTable(window: 60, spacing: 5, keepsNewestWhole: false)
        view.add(Self.reading(routes: 1_000, base: 1_000), at: 0)
        view.add(Self.reading(routes: 1_000, base: 2_000), at: 10)
        // The second reading's keys are the first one's.
        #expect(view.keyListCount == 1)
        // A new route: a new key list, the old one kept by the first reading.
        var grown = Self.reading(routes: 1_000, base: 3_000)
        var fresh = Row(key: "new")
        fresh.requests = 5
        grown.rows.insert(fresh, at: 0)
        view.add(grown, at: 20)
        #expect(view.keyListCount == 2)
        let (shown, _) = view.window(endingWith: grown, at: 20)
        #expect(shown.rows.first { $0.key == "new" }?.requests == 5)
        #expect(shown.rows.filter { $0.key != "new" }.allSatisfy { $0.requests == 2_000 })
        // Most routes gone: the next reading starts a list of its own rather than carry them.
        view.add(Self.reading(routes: 10, base: 4_000), at: 30)
        #expect(view.keyListCount == 3)
        view.add(Self.reading(routes: 10, base: 4_050), at: 40)
        #expect(view.keyListCount == 3)
        // Route k had 2 000 - k requests at 0 and has 4 110 - k now.
        let (few, seconds) = view.window(endingWith: Self.reading(routes: 10, base: 4_100), at: 45)
        #expect(seconds == 45)
        #expect(few.rows.count == 10 && few.rows.allSatisfy { $0.requests == 2_110 })
    }

    @Test func largeCountsSurviveTheirEncoding() {
        var view = SlidingTable(window: 60, spacing: 5, keepsNewestWhole: false)
        var table = Table(grouping: .route)
        for (k, value) in [0, 1, 127, 128, 16_383, 16_384, UInt64(UInt32.max), UInt64.max / 2].enumerated() {
            var row = Row(key: "r\(k)")
            row.requests = UInt64(value) + 1
            row.clientErrors = UInt64(value)
            row.serverErrors = UInt64(value) / 3
            row.slow = UInt64(value) / 7
            table.rows.append(row)
        }
        view.add(table, at: 0)
        var later = table
        for k in later.rows.indices { later.rows[k].requests += 10 }
        let (shown, _) = view.window(endingWith: later, at: 5)
        #expect(shown.rows.count == table.rows.count && shown.rows.allSatisfy { $0.requests == 10 })
        #expect(shown.rows.allSatisfy { $0.clientErrors == 0 && $0.serverErrors == 0 && $0.slow == 0 })
    }
}
