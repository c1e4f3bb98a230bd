import Testing

@testable import Aggregation

@Suite struct ZeroedMemoryTests {
    /// Grows a buffer through every path: heap to heap, heap to mapping, mapping to mapping (in
    /// place within a page and moved), checking at each step that what was written is kept and
    /// the rest reads zero.
    @Test func growingKeepsWhatWasWrittenAndTheRestIsZero() {
        var capacity = 8
        var buffer = ZeroedMemory.allocate(UInt64.self, capacity: capacity)
        #expect((0..<capacity).allSatisfy { buffer[$0] == 0 })
        var written = 0
        // 8 elements (64 bytes) to 2^21 (16 MiB), with a step that ends inside a page.
        for newCapacity in [100, 5_000, 8_191, 8_193, 20_000, 300_001, 1 << 21] {
            for k in written..<capacity { buffer[k] = UInt64(k) &* 0x9E37_79B9 &+ 1 }
            written = capacity
            buffer = ZeroedMemory.resize(buffer, from: capacity, to: newCapacity)
            capacity = newCapacity
            #expect((0..<written).allSatisfy { buffer[$0] == UInt64($0) &* 0x9E37_79B9 &+ 1 })
            #expect((written..<capacity).allSatisfy { buffer[$0] == 0 })
        }
        ZeroedMemory.free(buffer, capacity: capacity)
    }

    @Test func aGrowingBufferKeepsItsElements() {
        var buffer = GrowingBuffer<UInt32>(capacity: 4)
        let values = Array(0..<UInt32(100_000))
        for chunk in stride(from: 0, to: values.count, by: 777) {
            values[chunk..<min(chunk + 777, values.count)].withUnsafeBufferPointer { buffer.append($0) }
        }
        #expect(buffer.count == values.count)
        #expect(UnsafeBufferPointer(start: buffer.base, count: buffer.count).elementsEqual(values))
    }

    /// Within one page, and shrinking then growing again: what the shrink cut off reads zero when
    /// it comes back, though the page kept it.
    @Test func resizingWithinAPageAndShrinkingThenGrowingReadsZeroPastWhatIsKept() {
        let elements = 70_000
        var buffer = ZeroedMemory.allocate(UInt8.self, capacity: elements)
        for k in 0..<elements { buffer[k] = 0xAB }
        buffer = ZeroedMemory.resize(buffer, from: elements, to: elements + 100)
        #expect((0..<elements).allSatisfy { buffer[$0] == 0xAB })
        #expect((elements..<(elements + 100)).allSatisfy { buffer[$0] == 0 })
        buffer = ZeroedMemory.resize(buffer, from: elements + 100, to: elements - 5_000)
        #expect((0..<(elements - 5_000)).allSatisfy { buffer[$0] == 0xAB })
        buffer = ZeroedMemory.resize(buffer, from: elements - 5_000, to: elements + 9_000)
        #expect((0..<(elements - 5_000)).allSatisfy { buffer[$0] == 0xAB })
        #expect(((elements - 5_000)..<(elements + 9_000)).allSatisfy { buffer[$0] == 0 })
        ZeroedMemory.free(buffer, capacity: elements + 9_000)
    }
}
