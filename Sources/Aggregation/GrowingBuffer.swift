/// A buffer of trivial values that grows by doubling; not copyable, so that it is freed once.
///
/// What the per-line structures keep their entries in: reading it is a pointer, where an array
/// stored in a class costs a retain and a release on every read.
struct GrowingBuffer<Element: BitwiseCopyable>: ~Copyable {
    private(set) var base: UnsafeMutablePointer<Element>
    private var capacity: Int
    /// Set to 0 to empty the buffer and keep its memory.
    var count = 0

    init(capacity: Int = 16) {
        self.capacity = max(1, capacity)
        base = .allocate(capacity: self.capacity)
    }

    mutating func append(_ values: UnsafeBufferPointer<Element>) {
        if count + values.count > capacity {
            var grown = capacity * 2
            while grown < count + values.count { grown *= 2 }
            let larger = UnsafeMutablePointer<Element>.allocate(capacity: grown)
            larger.initialize(from: base, count: count)
            base.deallocate()
            base = larger
            capacity = grown
        }
        if let start = values.baseAddress { (base + count).initialize(from: start, count: values.count) }
        count += values.count
    }

    mutating func append(contentsOf values: [Element]) {
        values.withUnsafeBufferPointer { append($0) }
    }

    deinit { base.deallocate() }
}
