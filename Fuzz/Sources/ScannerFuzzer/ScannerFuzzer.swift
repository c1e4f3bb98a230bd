import AccessLogParser
import CFuzzerDriver

// One line into the JSON scanner and the TEXT parser, reusing one record the way a decoder does,
// so that stale key predictions from earlier inputs are exercised too.
nonisolated(unsafe) let record = AccessRecord()
let scanner = JSONRecordScanner(keys: FieldMap.automatic.makeKeyTable())
let textParser = IstioTextParser()

let fuzz: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt = { start, count in
    let bytes = UnsafeBufferPointer(start: start, count: count)
    var hints: UInt8 = 0
    if case .record = scanner.scan(bytes, into: record, hints: &hints) {
        check(record, count)
    }
    if case .record = textParser.parse(bytes, into: record) {
        check(record, count)
    }
    return 0
}

/// Every recorded range must lie inside the line, and decoding a value must not fail.
func check(_ record: AccessRecord, _ count: Int) {
    for field in record.present {
        guard let raw = record.rawBytes(field) else { continue }
        precondition(raw.count <= count)
        _ = record.withValue(field) { $0?.count ?? 0 }
    }
}

@_cdecl("ScannerFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzz)
}
