/// The exemplars of one family's slots, sparse and in columns: one slot per series, or one per
/// series and bucket (see ``MetricFamilySnapshot/exemplars``).
///
/// Most slots are empty (a route's requests fall in two or three of a histogram's 21 buckets),
/// so only slots with an exemplar have an entry, in slot order; an entry is its value, time,
/// label name (from a small table) and identifier bytes in one shared buffer. A scrape of
/// 10 000 routes kept an optional reference for every slot (1.7 MB) and an object and a string
/// per exemplar (another 3 MB); this is about 40 bytes an exemplar.
///
/// Reading it as a collection of optional ``Exemplar``s (one per slot) finds an entry by binary
/// search and hands out a view of it, which allocates nothing.
public struct ExemplarColumn: Sendable {
    /// How many slots: the family's series, or series times buckets.
    public let slotCount: Int
    let storage: Storage

    /// Immutable once built; what ``Exemplar`` views refer to.
    final class Storage: Sendable {
        /// The slots with an exemplar, ascending.
        let slots: [UInt32]
        let values: [Double]
        /// NaN for an exemplar without a time.
        let timestamps: [Double]
        /// The label names in use; most columns have one or two.
        let names: [String]
        /// Per entry, its label's index in ``names``; ``generalName`` for other label sets.
        let nameIndices: [UInt8]
        /// Every entry's label value, end to end: entry `k`'s is `ids[idEnds[k - 1]..<idEnds[k]]`.
        let ids: [UInt8]
        let idEnds: [UInt32]
        /// The entries whose labels are not one name and value.
        let general: [Int: LabelSet]

        static let generalName = UInt8.max

        init(
            slots: [UInt32], values: [Double], timestamps: [Double], names: [String], nameIndices: [UInt8],
            ids: [UInt8], idEnds: [UInt32], general: [Int: LabelSet]
        ) {
            self.slots = slots
            self.values = values
            self.timestamps = timestamps
            self.names = names
            self.nameIndices = nameIndices
            self.ids = ids
            self.idEnds = idEnds
            self.general = general
        }

        func timestamp(_ entry: Int) -> Double? {
            timestamps[entry].isNaN ? nil : timestamps[entry]
        }

        func idRange(_ entry: Int) -> Range<Int> {
            (entry == 0 ? 0 : Int(idEnds[entry - 1]))..<Int(idEnds[entry])
        }

        func labelCount(_ entry: Int) -> Int {
            nameIndices[entry] == Self.generalName ? general[entry]?.names.count ?? 0 : 1
        }

        func label(_ entry: Int, _ k: Int) -> (name: String, value: String) {
            if nameIndices[entry] == Self.generalName, let labels = general[entry] {
                return (labels.names[k], labels.values[k])
            }
            return (names[Int(nameIndices[entry])], String(decoding: ids[idRange(entry)], as: UTF8.self))
        }

        func labels(_ entry: Int) -> LabelSet {
            if nameIndices[entry] == Self.generalName { return general[entry] ?? .empty }
            let (name, value) = label(entry, 0)
            return LabelSet(names: [name], values: [value])
        }

        func appendEscapedLabels(_ entry: Int, to out: inout [UInt8]) {
            if nameIndices[entry] == Self.generalName {
                out.append(contentsOf: general[entry]?.escaped ?? [])
                return
            }
            out.append(contentsOf: names[Int(nameIndices[entry])].utf8)
            out.append(contentsOf: #"=""#.utf8)
            ids.withUnsafeBufferPointer {
                Escaping.appendLabelValue(UnsafeBufferPointer(rebasing: $0[idRange(entry)]), to: &out)
            }
            out.append(UInt8(ascii: "\""))
        }

        /// The first entry whose slot is at least `slot`.
        func lowerBound(_ slot: Int) -> Int {
            var low = 0
            var high = slots.count
            while low < high {
                let middle = (low + high) / 2
                if Int(slots[middle]) < slot { low = middle + 1 } else { high = middle }
            }
            return low
        }
    }

    /// Slots with an exemplar, in the order the writers visit them.
    public var entryCount: Int { storage.slots.count }

    /// The entries of slots `range`, for a writer visiting one series' buckets.
    func entries(inSlots range: Range<Int>) -> Range<Int> {
        let start = storage.lowerBound(range.lowerBound)
        var end = start
        while end < storage.slots.count && Int(storage.slots[end]) < range.upperBound { end += 1 }
        return start..<end
    }

    /// The slot of entry `entry`.
    func slot(ofEntry entry: Int) -> Int { Int(storage.slots[entry]) }

    /// A view of entry `entry`.
    func exemplar(entry: Int) -> Exemplar { Exemplar(storage, entry: entry) }
}

// MARK: - Building

extension ExemplarColumn {
    /// Builds a column entry by entry, in ascending slot order.
    public struct Builder {
        let slotCount: Int
        private var slots: [UInt32] = []
        private var values: [Double] = []
        private var timestamps: [Double] = []
        private var names: [String] = []
        private var nameIndices: [UInt8] = []
        private var ids: [UInt8] = []
        private var idEnds: [UInt32] = []
        private var general: [Int: LabelSet] = [:]

        public init(slotCount: Int) {
            self.slotCount = slotCount
        }

        /// Makes room for `entries` more exemplars with `idBytes` more bytes of label values, so
        /// that a column built to a known size is not doubled past it.
        public mutating func reserve(entries: Int, idBytes: Int) {
            slots.reserveCapacity(slots.count + entries)
            values.reserveCapacity(values.count + entries)
            timestamps.reserveCapacity(timestamps.count + entries)
            nameIndices.reserveCapacity(nameIndices.count + entries)
            idEnds.reserveCapacity(idEnds.count + entries)
            ids.reserveCapacity(ids.count + idBytes)
        }

        /// Adds an exemplar with the one label `name` set to `id` (UTF-8, escaped on writing),
        /// in slot `slot`, which must be above every slot added before.
        public mutating func append(
            slot: Int, name: String, id: UnsafeBufferPointer<UInt8>, value: Double, timestamp: Double?
        ) {
            precondition(slot < slotCount && (slots.last.map { Int($0) < slot } ?? true), "slots out of order")
            var index = names.firstIndex(of: name)
            if index == nil, names.count < Int(Storage.generalName) {
                names.append(name)
                index = names.count - 1
            }
            guard let index else {
                // More distinct names than a column keeps in its table: a label set of its own.
                return appendGeneral(
                    slot: slot, LabelSet(names: [name], values: [String(decoding: id, as: UTF8.self)]), value: value,
                    timestamp: timestamp)
            }
            slots.append(UInt32(slot))
            values.append(value)
            timestamps.append(timestamp ?? .nan)
            nameIndices.append(UInt8(index))
            ids.append(contentsOf: id)
            idEnds.append(UInt32(ids.count))
        }

        /// Adds `exemplar` in slot `slot`, which must be above every slot added before.
        public mutating func append(slot: Int, _ exemplar: Exemplar) {
            if exemplar.labelCount == 1 {
                let (name, value) = exemplar.label(0)
                var id = value
                return id.withUTF8 {
                    append(slot: slot, name: name, id: $0, value: exemplar.value, timestamp: exemplar.timestamp)
                }
            }
            appendGeneral(slot: slot, exemplar.labels, value: exemplar.value, timestamp: exemplar.timestamp)
        }

        /// An entry with a label set of its own, not one name from the table and an identifier.
        private mutating func appendGeneral(slot: Int, _ labels: LabelSet, value: Double, timestamp: Double?) {
            precondition(slot < slotCount && (slots.last.map { Int($0) < slot } ?? true), "slots out of order")
            general[slots.count] = labels
            slots.append(UInt32(slot))
            values.append(value)
            timestamps.append(timestamp ?? .nan)
            nameIndices.append(Storage.generalName)
            idEnds.append(UInt32(ids.count))
        }

        public func build() -> ExemplarColumn {
            ExemplarColumn(
                slotCount: slotCount,
                storage: Storage(
                    slots: slots, values: values, timestamps: timestamps, names: names, nameIndices: nameIndices,
                    ids: ids, idEnds: idEnds, general: general))
        }
    }

    /// One exemplar per slot, nil for an empty one.
    public init(_ slots: [Exemplar?]) {
        var builder = Builder(slotCount: slots.count)
        for (slot, exemplar) in slots.enumerated() {
            if let exemplar { builder.append(slot: slot, exemplar) }
        }
        self = builder.build()
    }
}

// MARK: - Collection

extension ExemplarColumn: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { slotCount }

    /// The exemplar of slot `slot`, if it has one.
    public subscript(slot: Int) -> Exemplar? {
        let entry = storage.lowerBound(slot)
        guard entry < storage.slots.count, Int(storage.slots[entry]) == slot else { return nil }
        return Exemplar(storage, entry: entry)
    }
}

// MARK: - ExpressibleByArrayLiteral

extension ExemplarColumn: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: Exemplar?...) {
        self.init(elements)
    }
}
