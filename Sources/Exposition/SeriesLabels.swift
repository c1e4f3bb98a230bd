/// The label sets of a family's series, by series index.
///
/// Two layouts behind one interface:
/// - a list of ``LabelSet``s, what small families, checkpoints and tests build;
/// - interned columns (``InternedLabels``): per series the identifier of each label's value, per
///   label a table of its values with their escaped text. This is how the aggregation keeps its
///   many series: a series costs four bytes a label, and a value's text is kept once however
///   many series carry it. A family of 10 000 routes kept a `LabelSet` (three allocations, about
///   300 bytes) per series before.
///
/// Writers ask for a series' escaped text (``appendEscaped(_:to:)``) or its pairs
/// (``pairCount(_:)``, ``name(_:_:)``, ``value(_:_:)``); reading a ``LabelSet`` through the
/// collection interface builds one for an interned series, which is fine off the scrape path.
public struct SeriesLabels: Sendable {
    @usableFromInline
    enum Storage: Sendable {
        case sets([LabelSet])
        case interned(InternedLabels)
    }

    @usableFromInline
    let storage: Storage

    public init(_ sets: [LabelSet]) {
        storage = .sets(sets)
    }

    public init(_ interned: InternedLabels) {
        storage = .interned(interned)
    }

    /// Appends series `index`'s pairs as the text formats write them inside braces:
    /// `name="value",...`, values escaped (see ``LabelSet/escaped``).
    @inlinable
    public func appendEscaped(_ index: Int, to out: inout [UInt8]) {
        switch storage {
        case .sets(let sets): out.append(contentsOf: sets[index].escaped)
        case .interned(let interned): interned.appendEscaped(index, to: &out)
        }
    }

    /// The length of series `index`'s escaped text.
    public func escapedCount(_ index: Int) -> Int {
        switch storage {
        case .sets(let sets): return sets[index].escaped.count
        case .interned(let interned): return interned.escapedCount(index)
        }
    }

    /// How many labels series `index` has.
    @inlinable
    public func pairCount(_ index: Int) -> Int {
        switch storage {
        case .sets(let sets): sets[index].names.count
        case .interned(let interned): interned.names.count
        }
    }

    /// The name of label `position` of series `index`.
    @inlinable
    public func name(_ index: Int, _ position: Int) -> String {
        switch storage {
        case .sets(let sets): sets[index].names[position]
        case .interned(let interned): interned.names[position]
        }
    }

    /// The value of label `position` of series `index`.
    @inlinable
    public func value(_ index: Int, _ position: Int) -> String {
        switch storage {
        case .sets(let sets): sets[index].values[position]
        case .interned(let interned): interned.value(index, position)
        }
    }

    /// The value of the label named `name` of series `index`, if it has one.
    public func value(named name: String, _ index: Int) -> String? {
        switch storage {
        case .sets(let sets): return sets[index][name]
        case .interned(let interned):
            return interned.names.firstIndex(of: name).map { interned.value(index, $0) }
        }
    }

    /// The label names of series `index`.
    public func names(_ index: Int) -> [String] {
        switch storage {
        case .sets(let sets): sets[index].names
        case .interned(let interned): interned.names
        }
    }

    /// The label names when every series has the same (always for interned labels, and for no
    /// series at all: none); nil when they differ.
    public var uniformNames: [String]? {
        switch storage {
        case .sets(let sets):
            let names = sets.first?.names ?? []
            return sets.allSatisfy { $0.names == names } ? names : nil
        case .interned(let interned): return interned.names
        }
    }

    /// The label values of series `index`, in the order of its names.
    public func values(_ index: Int) -> [String] {
        switch storage {
        case .sets(let sets): sets[index].values
        case .interned(let interned): (0..<interned.names.count).map { interned.value(index, $0) }
        }
    }

    /// The series at `indices`, in that order.
    public func selecting(_ indices: [Int]) -> SeriesLabels {
        switch storage {
        case .sets(let sets): SeriesLabels(indices.map { sets[$0] })
        case .interned(let interned): SeriesLabels(interned.selecting(indices))
        }
    }
}

// MARK: - Collection

extension SeriesLabels: RandomAccessCollection {
    public var startIndex: Int { 0 }

    public var endIndex: Int {
        switch storage {
        case .sets(let sets): sets.count
        case .interned(let interned): interned.count
        }
    }

    /// Series `index`'s label set; built anew for an interned series.
    public subscript(index: Int) -> LabelSet {
        switch storage {
        case .sets(let sets): return sets[index]
        case .interned(let interned):
            var escaped: [UInt8] = []
            interned.appendEscaped(index, to: &escaped)
            return LabelSet(names: interned.names, values: values(index), escaped: escaped)
        }
    }
}

// MARK: - ExpressibleByArrayLiteral

extension SeriesLabels: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: LabelSet...) {
        self.init(elements)
    }
}

// MARK: - Equatable

extension SeriesLabels: Equatable {
    /// Equal when they hold the same label sets in the same order, whatever their layout.
    public static func == (a: SeriesLabels, b: SeriesLabels) -> Bool {
        guard a.count == b.count else { return false }
        var left: [UInt8] = []
        var right: [UInt8] = []
        for index in 0..<a.count {
            left.removeAll(keepingCapacity: true)
            right.removeAll(keepingCapacity: true)
            a.appendEscaped(index, to: &left)
            b.appendEscaped(index, to: &right)
            guard left == right, a.names(index) == b.names(index) else { return false }
        }
        return true
    }
}

/// One label's values, each with its escaped text: a table that only grows, so that an identifier
/// handed out once always means the same value.
public struct LabelValueTable: Sendable {
    public private(set) var values: [String] = []
    /// Every value's escaped text, end to end: value `k`'s is `escaped[ends[k - 1]..<ends[k]]`.
    @usableFromInline
    private(set) var escaped: [UInt8] = []
    @usableFromInline
    private(set) var ends: [UInt32] = []

    public init() {}

    public var count: Int { values.count }

    /// Adds `value` (valid UTF-8, as every label value is by the time it is interned) and returns
    /// its identifier.
    @discardableResult
    public mutating func append(_ value: String) -> UInt32 {
        let id = UInt32(values.count)
        values.append(value)
        Escaping.appendLabelValue(value, to: &escaped)
        ends.append(UInt32(escaped.count))
        return id
    }

    @inlinable
    func escapedRange(_ id: Int) -> Range<Int> {
        (id == 0 ? 0 : Int(ends[id &- 1]))..<Int(ends[id])
    }
}

/// Label sets as columns of interned values: see ``SeriesLabels``.
public struct InternedLabels: Sendable {
    /// The label names every series has, in order.
    public let names: [String]
    /// Per label, `name="`, with a comma before it for all but the first.
    @usableFromInline
    let prefixes: [[UInt8]]
    /// Per label, the table its identifiers index.
    @usableFromInline
    let tables: [LabelValueTable]
    /// `names.count` identifiers per row, row after row.
    @usableFromInline
    let ids: [UInt32]
    /// Series index -> row of ``ids``, when they differ (rows of expired series left out).
    @usableFromInline
    let rows: [UInt32]?
    public let count: Int

    /// - Parameters:
    ///   - names: the label names, valid (checked when the family was configured).
    ///   - tables: per label, the table of its values (labels that share a table may repeat it).
    ///   - ids: per row, one identifier per label, each valid in its label's table.
    ///   - rows: the rows that are series, in series order; nil for every row of `ids`, in order.
    ///   - count: how many rows `ids` holds when `rows` is nil (it may hold more, not yet used).
    public init(names: [String], tables: [LabelValueTable], ids: [UInt32], rows: [UInt32]? = nil, count: Int) {
        precondition(names.count == tables.count)
        precondition(rows != nil || ids.count >= count * names.count)
        self.names = names
        self.prefixes = names.enumerated().map { position, name in
            (position == 0 ? [] : [UInt8(ascii: ",")]) + Array(name.utf8) + Array(#"=""#.utf8)
        }
        self.tables = tables
        self.ids = ids
        self.rows = rows
        self.count = rows?.count ?? count
    }

    @inlinable
    func id(_ index: Int, _ position: Int) -> Int {
        let row = rows.map { Int($0[index]) } ?? index
        return Int(ids[row &* names.count &+ position])
    }

    @inlinable
    func appendEscaped(_ index: Int, to out: inout [UInt8]) {
        for position in 0..<names.count {
            out.append(contentsOf: prefixes[position])
            let table = tables[position]
            let range = table.escapedRange(id(index, position))
            table.escaped.withUnsafeBufferPointer { out.append(contentsOf: $0[range]) }
            out.append(UInt8(ascii: "\""))
        }
    }

    func escapedCount(_ index: Int) -> Int {
        var total = 0
        for position in 0..<names.count {
            total += prefixes[position].count + tables[position].escapedRange(id(index, position)).count + 1
        }
        return total
    }

    @inlinable
    func value(_ index: Int, _ position: Int) -> String {
        tables[position].values[id(index, position)]
    }

    func selecting(_ indices: [Int]) -> InternedLabels {
        let rows = indices.map { index in UInt32(self.rows.map { Int($0[index]) } ?? index) }
        return InternedLabels(names: names, tables: tables, ids: ids, rows: rows, count: rows.count)
    }
}
