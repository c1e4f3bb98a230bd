import CAllocator

/// Buffers of trivial values that start zeroed and grow keeping their contents (see
/// `ZeroedMemory.h`): a large one grows without a copy, and the capacity it has not written yet
/// is not resident, so the stores and tables that double as they fill pay for what they hold.
/// Every element type here is valid as all-zero bits.
enum ZeroedMemory {
    /// `capacity` zeroed elements (at least one).
    static func allocate<Element: BitwiseCopyable>(_: Element.Type, capacity: Int) -> UnsafeMutablePointer<Element> {
        guard let raw = lm_zeroed_allocate(max(1, capacity) * MemoryLayout<Element>.stride) else {
            fatalError("out of memory for \(capacity) \(Element.self)")
        }
        return raw.bindMemory(to: Element.self, capacity: max(1, capacity))
    }

    /// `pointer`, of `old` elements, now `new` long: the first `old` kept, the rest zero.
    /// `pointer` is not valid afterwards.
    static func resize<Element: BitwiseCopyable>(
        _ pointer: UnsafeMutablePointer<Element>, from old: Int, to new: Int
    ) -> UnsafeMutablePointer<Element> {
        let stride = MemoryLayout<Element>.stride
        guard let raw = lm_zeroed_resize(pointer, max(1, old) * stride, max(1, new) * stride) else {
            fatalError("out of memory for \(new) \(Element.self)")
        }
        return raw.bindMemory(to: Element.self, capacity: max(1, new))
    }

    /// Frees a buffer of `capacity` elements made here.
    static func free<Element: BitwiseCopyable>(_ pointer: UnsafeMutablePointer<Element>, capacity: Int) {
        lm_zeroed_free(pointer, max(1, capacity) * MemoryLayout<Element>.stride)
    }
}
