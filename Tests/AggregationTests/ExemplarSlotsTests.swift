import Testing

@testable import Aggregation

@Suite struct ExemplarSlotsTests {
    static func held(_ slots: ExemplarSlots) -> [Int: String] {
        var held: [Int: String] = [:]
        slots.forEachExemplar { index, _, id in held[index] = String(decoding: id, as: UTF8.self) }
        return held
    }

    static func record(
        _ slots: inout ExemplarSlots, _ index: Int, _ id: String, second: UInt32 = 1, at time: Double = 1
    ) {
        Array(id.utf8).withUnsafeBufferPointer {
            slots.record(index, kind: .traceID, id: $0, value: 7, second: second, timestamp: time)
        }
    }

    @Test func farApartSlotsEachKeepTheirOwn() {
        var slots = ExemplarSlots(enabled: true)
        defer { slots.deallocate() }
        for index in stride(from: 0, to: 210_000, by: 21) { Self.record(&slots, index + 3, "t\(index)") }
        let held = Self.held(slots)
        #expect(held.count == 10_000)
        #expect(slots.cellCount == 10_000)
        #expect(held[3] == "t0")
        #expect(held[21 * 4_321 + 3] == "t\(21 * 4_321)")
        #expect(held[209_979 + 3] == "t209979")
        #expect(slots.slot(4) == nil)
        #expect(slots.slot(3)?.value == 7)
    }

    @Test func aSlotIsRewrittenOncePerSecondAndKeepsItsCell() {
        var slots = ExemplarSlots(enabled: true)
        defer { slots.deallocate() }
        #expect(slots.wantsUpdate(5, second: 1))
        Self.record(&slots, 5, "first", second: 1)
        #expect(!slots.wantsUpdate(5, second: 1))
        #expect(slots.wantsUpdate(5, second: 2))
        #expect(slots.wantsUpdate(6, second: 1))
        Self.record(&slots, 5, "second", second: 2)
        #expect(Self.held(slots) == [5: "second"])
        #expect(slots.cellCount == 1)
    }

    @Test func clearedSlotsHoldNothingUntilWrittenAgain() {
        var slots = ExemplarSlots(enabled: true)
        defer { slots.deallocate() }
        Self.record(&slots, 0, "a")
        Self.record(&slots, 1, "b")
        slots.clear(0..<1)
        #expect(Self.held(slots) == [1: "b"])
        #expect(slots.wantsUpdate(0, second: 1))
        Self.record(&slots, 0, "c")
        #expect(Self.held(slots) == [0: "c", 1: "b"])
        #expect(slots.cellCount == 2)
    }

    @Test func absorbingTakesTheNewerAndACopyIsItsOwn() {
        var mine = ExemplarSlots(enabled: true)
        var other = ExemplarSlots(enabled: true)
        defer {
            mine.deallocate()
            other.deallocate()
        }
        Self.record(&mine, 0, "mine-new", at: 10)
        Self.record(&other, 4, "other-old", at: 5)
        Self.record(&other, 9, "other-only", at: 5)
        mine.absorb(other, 4, into: 0)
        mine.absorb(other, 9, into: 40)
        mine.absorb(other, 8, into: 41)
        #expect(Self.held(mine) == [0: "mine-new", 40: "other-only"])
        var copy = mine.copy()
        defer { copy.deallocate() }
        Self.record(&copy, 40, "changed", second: 2, at: 20)
        #expect(Self.held(mine) == [0: "mine-new", 40: "other-only"])
        #expect(Self.held(copy) == [0: "mine-new", 40: "changed"])
    }

    @Test func aDisabledFamilyWantsNone() {
        let slots = ExemplarSlots(enabled: false)
        defer { slots.deallocate() }
        #expect(!slots.wantsUpdate(0, second: 1))
    }
}
