/// A buffer of trivial values that grows by doubling; not copyable, so that it is freed once.
///
/// What the per-line structures keep their entries in: reading it is a pointer, where an array
/// stored in a class costs a retain and a release on every read. Its memory is ``ZeroedMemory``:
/// a large buffer grows without a copy, and holds resident only what was written.
struct GrowingBuffer<Element: BitwiseCopyable>: ~Copyable {
    private(set) var base: UnsafeMutablePointer<Element>
    private var capacity: Int
    /// Set to 0 to empty the buffer and keep its memory.
    var count = 0

    init(capacity: Int = 16) {
        self.capacity = max(1, capacity)
        base = ZeroedMemory.allocate(Element.self, capacity: self.capacity)
    }

    mutating func append(_ values: UnsafeBufferPointer<Element>) {
        if count + values.count > capacity {
            var grown = capacity * 2
            while grown < count + values.count { grown *= 2 }
            base = ZeroedMemory.resize(base, from: capacity, to: grown)
            capacity = grown
        }
        if let start = values.baseAddress { (base + count).initialize(from: start, count: values.count) }
        count += values.count
    }

    mutating func append(contentsOf values: [Element]) {
        values.withUnsafeBufferPointer { append($0) }
    }

    deinit { ZeroedMemory.free(base, capacity: capacity) }
}
