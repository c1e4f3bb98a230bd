import Exposition

/// A family's exemplars as they come from the shards (each shard's in no particular order, and
/// the same slot possibly from several), made into a column: per slot the newest, the first
/// shard's on a tie.
struct ExemplarGathering {
    var slotCount: Int
    private var slots: [UInt32] = []
    private var slotStates: [ExemplarSlots.Slot] = []
    private var ids: [UInt8] = []
    private var idEnds: [UInt32] = []
    /// Observations per unit of the family: a value in milliseconds is written in seconds.
    let perUnit: Double

    init(slotCount: Int, perUnit: Double) {
        self.slotCount = slotCount
        self.perUnit = perUnit
    }

    var isEmpty: Bool { slots.isEmpty }

    /// Makes room for `count` more exemplars (identifiers of a trace id's length).
    mutating func reserve(_ count: Int) {
        slots.reserveCapacity(slots.count + count)
        slotStates.reserveCapacity(slotStates.count + count)
        idEnds.reserveCapacity(idEnds.count + count)
        ids.reserveCapacity(ids.count + count * 36)
    }

    mutating func add(slot index: Int, _ slot: ExemplarSlots.Slot, id: UnsafeBufferPointer<UInt8>) {
        guard index < slotCount else { return }
        slots.append(UInt32(index))
        slotStates.append(slot)
        ids.append(contentsOf: id)
        idEnds.append(UInt32(ids.count))
    }

    /// Keeps the slots of `series`, `width` each, renumbered in that order.
    mutating func keep(series: [Int], width: Int) {
        var position = [Int](repeating: -1, count: slotCount / max(1, width) + 1)
        for (new, old) in series.enumerated() where old < position.count { position[old] = new }
        for k in slots.indices {
            let index = Int(slots[k])
            let new = position[index / width]
            slots[k] = new < 0 ? .max : UInt32(new * width + index % width)
        }
        slotCount = series.count * width
    }

    func column() -> ExemplarColumn {
        // Stable: among entries of one slot, the first shard's comes first.
        let order = slots.indices.sorted { slots[$0] != slots[$1] ? slots[$0] < slots[$1] : $0 < $1 }
        var builder = ExemplarColumn.Builder(slotCount: slotCount)
        builder.reserve(entries: order.count, idBytes: ids.count)
        ids.withUnsafeBufferPointer { ids in
            var k = 0
            while k < order.count, slots[order[k]] != .max {
                // The newest of the slot's entries; an equal time keeps the earlier.
                var best = order[k]
                var next = k + 1
                while next < order.count, slots[order[next]] == slots[best] {
                    if slotStates[order[next]].timestamp > slotStates[best].timestamp { best = order[next] }
                    next += 1
                }
                let start = best == 0 ? 0 : Int(idEnds[best - 1])
                let state = slotStates[best]
                builder.append(
                    slot: Int(slots[best]), name: state.kind.labelName,
                    id: UnsafeBufferPointer(rebasing: ids[start..<Int(idEnds[best])]),
                    value: Double(state.value) / perUnit, timestamp: state.timestamp)
                k = next
            }
        }
        return builder.build()
    }
}
