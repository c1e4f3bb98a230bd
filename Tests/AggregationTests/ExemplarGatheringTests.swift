import Exposition
import Testing

@testable import Aggregation

@Suite struct ExemplarGatheringTests {
    private func add(_ gathering: inout ExemplarGathering, slot: Int, id: String, time: Double, value: Int64 = 7) {
        var id = id
        let state = ExemplarSlots.Slot(kind: .traceID, length: 0, second: 0, value: value, timestamp: time)
        id.withUTF8 { gathering.add(slot: slot, state, id: $0) }
    }

    /// Shards hand their slots over in any order, the same slot possibly from several: per slot
    /// the newest wins, the one added first on a tie, and values are in the family's unit.
    @Test func theNewestOfASlotWinsAndTheFirstOnATie() {
        var gathering = ExemplarGathering(slotCount: 10, perUnit: 1000)
        // The first shard's.
        add(&gathering, slot: 7, id: "a7", time: 5)
        add(&gathering, slot: 2, id: "a2", time: 5)
        add(&gathering, slot: 4, id: "a4", time: 5)
        // The second shard's: newer in slot 2, as old in slot 7, older in slot 4.
        add(&gathering, slot: 2, id: "b2", time: 6)
        add(&gathering, slot: 7, id: "b7", time: 5)
        add(&gathering, slot: 4, id: "b4", time: 4)
        let column = gathering.column()
        #expect(column.count == 10 && column.entryCount == 3)
        #expect(column[2]?.labels == LabelSet(["trace_id": "b2"]) && column[2]?.timestamp == 6)
        #expect(column[7]?.labels == LabelSet(["trace_id": "a7"]))
        #expect(column[4]?.labels == LabelSet(["trace_id": "a4"]) && column[4]?.value == 0.007)
        #expect(column[0] == nil && column[9] == nil)
    }

    /// Series 1 of three expired: the slots of series 0 and 2 (three per series) are renumbered,
    /// series 1's are gone.
    @Test func keepingSomeSeriesRenumbersTheirSlotsAndDropsTheRest() {
        var gathering = ExemplarGathering(slotCount: 9, perUnit: 1)
        for slot in [0, 2, 3, 5, 7, 8] { add(&gathering, slot: slot, id: "s\(slot)", time: 1) }
        gathering.keep(series: [0, 2], width: 3)
        let column = gathering.column()
        #expect(column.count == 6)
        let held = (0..<6).map { column[$0].map { $0.label(0).value } }
        #expect(held == ["s0", nil, "s2", nil, "s7", "s8"])
    }
}
