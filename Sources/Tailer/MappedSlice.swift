import CMappedFile

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One slice of a mapped window made sure of before its bytes are handed on, and checked again
/// after (see `CMappedFile.h`): the steps of ``LogFileReader``'s mapped read, kept apart so that
/// any reader of mapped windows takes the same ones.
///
/// A page past the new end of a file that shrank faults, and reads as zeros; the bytes after that
/// end in its last page read as zeros without a fault. Touching every page first and looking at the
/// size again finds both before anything is delivered. A cut while the bytes are parsed cannot be
/// prevented, only found afterwards, by a fault below the touch's or a size below what was handed on.
struct MappedSlice {
    /// The file offset the window maps from, the file, and where the slice begins in the window.
    let start: Int64
    let descriptor: Int32
    let from: Int
    /// Where in the window the first page that had no file behind it begins, or -1.
    let fault: Int
    /// Where the file's own bytes end: `from..<end` may be handed on.
    let end: Int
    /// A page faulted that the file still reaches: it could not be read (an I/O error) or the file
    /// grew back at once. `read(2)` tells which.
    let unreadable: Bool

    /// Touches `from..<to` of `window`, which maps `descriptor` from file offset `start`.
    /// `hooks` let tests change the file just before the touch and just after it.
    init(
        _ window: inout cmapped_window, start: Int64, from: Int, to: Int, descriptor: Int32,
        hooks: MappedSliceHooks? = nil
    ) {
        self.start = start
        self.descriptor = descriptor
        self.from = from
        hooks?.beforeTouch?(from)
        fault = cmapped_touch(&window, from, to)
        hooks?.afterTouch?(fault)
        let size = Self.size(descriptor) ?? start + Int64(to)
        var end = Int(max(Int64(from), min(Int64(to), size - start)))
        if fault >= 0 { end = min(end, max(from, fault)) }
        self.end = end
        unreadable = fault >= 0 && size > start + Int64(fault)
    }

    /// What became of `from..<upTo`, handed on since the touch.
    enum Afterwards: Equatable {
        case intact
        /// Cut while they were parsed: those past the cut read as zeros.
        case cut
        /// A page failed under them although the file still reaches it.
        case failed
    }

    /// Looks again once `from..<upTo` (at most `end`) has been handed on. A fault below `upTo` is
    /// new (the touch's own is at `end` or past it, or below `from` in the page a slice that began
    /// mid-page shares with the one before, and then nothing of the slice is handed on).
    func afterwards(_ window: inout cmapped_window, upTo: Int) -> Afterwards {
        guard upTo > from else { return .intact }
        let later = cmapped_fault(&window)
        let size = Self.size(descriptor) ?? Int64.max
        if later >= 0 && later < upTo {
            return size > start + Int64(later) ? .failed : .cut
        }
        return size < start + Int64(upTo) ? .cut : .intact
    }

    private static func size(_ descriptor: Int32) -> Int64? {
        var status = stat()
        return fstat(descriptor, &status) == 0 ? Int64(status.st_size) : nil
    }
}

/// Where tests step in while a mapped slice is made sure of.
struct MappedSliceHooks {
    /// Called with the slice's start in the window, before its pages are touched.
    var beforeTouch: ((Int) -> Void)?
    /// Called with what the touch found (``MappedSlice/fault``), before the size is looked at.
    var afterTouch: ((Int) -> Void)?
}
