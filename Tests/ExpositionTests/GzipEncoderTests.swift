import Exposition
import Testing

@Suite struct GzipEncoderTests {
    @Test func oneShotRoundTrip() throws {
        var text: [UInt8] = []
        TextFormatWriter.write(Fixtures.realistic(series: 500), into: &text)
        let compressed = try GzipEncoder.compress(text)
        #expect(compressed.prefix(3) == [0x1F, 0x8B, 0x08])  // gzip magic, deflate
        #expect(try Inflate.gunzip(compressed) == text)
        #expect(compressed.count * 8 <= text.count)
    }

    @Test func streamingInChunksEqualsTheWhole() throws {
        var text: [UInt8] = []
        OpenMetricsFormatWriter.write(Fixtures.realistic(series: 200), into: &text)
        var encoder = try GzipEncoder(level: 6)
        var compressed: [UInt8] = []
        var offset = 0
        var size = 1
        while offset < text.count {
            let end = min(text.count, offset + size)
            encoder.compress(Array(text[offset..<end]), into: &compressed)
            offset = end
            size = size * 3 + 7
        }
        encoder.finish(into: &compressed)
        #expect(try Inflate.gunzip(compressed) == text)
    }

    @Test func emptyInput() throws {
        let compressed = try GzipEncoder.compress([])
        #expect(try Inflate.gunzip(compressed).isEmpty)
    }

    @Test func incompressibleInputGrowsTheOutput() throws {
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(try Inflate.gunzip(try GzipEncoder.compress(noise, level: 9)) == noise)
    }

    @Test func invalidLevelThrows() {
        #expect(throws: GzipError.self) { _ = try GzipEncoder(level: 42) }
    }
}
