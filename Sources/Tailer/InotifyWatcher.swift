#if os(Linux)
    #if canImport(Glibc)
        import Glibc
    #elseif canImport(Musl)
        import Musl
    #endif

    /// inotify watches on directories (not on files): one watch per directory sees its files
    /// being written, created, renamed and deleted, and a file's watch would not survive the
    /// rename that rotation is.
    final class InotifyWatcher {
        enum Event {
            /// Something happened to the entry `name` of `directory`.
            case entry(directory: String, name: String, mask: UInt32)
            /// The directory itself went away or moved; its watch is gone.
            case directoryGone(String)
            /// The kernel's queue overflowed: events were lost, everything must be checked.
            case overflow
        }

        /// Content writes, attribute changes (permissions, link count) and every way an entry
        /// comes or goes.
        static let mask: UInt32 =
            UInt32(IN_MODIFY) | UInt32(IN_ATTRIB) | UInt32(IN_CREATE) | UInt32(IN_DELETE)
            | UInt32(IN_MOVED_FROM) | UInt32(IN_MOVED_TO) | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF)
            | UInt32(IN_ONLYDIR)

        static let entryChanges: UInt32 =
            UInt32(IN_CREATE) | UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM) | UInt32(IN_MOVED_TO)

        let descriptor: Int32
        private var directoryByWatch: [Int32: String] = [:]
        private var watchByDirectory: [String: Int32] = [:]
        /// Events are read into this fixed buffer (a few hundred events per read).
        private let buffer: UnsafeMutableRawBufferPointer

        init() throws(SystemError) {
            let fd = inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
            guard fd >= 0 else { throw SystemError("inotify_init1", path: "(inotify)", errno: errno) }
            descriptor = fd
            buffer = .allocate(byteCount: 64 * 1024, alignment: 8)
        }

        deinit {
            closeDescriptor(descriptor)
            buffer.deallocate()
        }

        var watchedDirectories: Set<String> { Set(watchByDirectory.keys) }

        func isWatching(_ directory: String) -> Bool { watchByDirectory[directory] != nil }

        /// Watches `directory`. ENOSPC (max_user_watches) and ENOMEM are the limits that make the
        /// caller fall back to polling.
        func watch(_ directory: String) throws(SystemError) {
            guard watchByDirectory[directory] == nil else { return }
            let wd = inotify_add_watch(descriptor, directory, Self.mask)
            guard wd >= 0 else { throw SystemError("inotify_add_watch", path: directory, errno: errno) }
            watchByDirectory[directory] = wd
            // Two names of one directory share a watch; events keep the first name.
            if directoryByWatch[wd] == nil { directoryByWatch[wd] = directory }
        }

        func unwatch(_ directory: String) {
            guard let wd = watchByDirectory.removeValue(forKey: directory) else { return }
            if let other = watchByDirectory.first(where: { $0.value == wd })?.key {
                // Another name still shares the watch: its events go by that name from now on.
                if directoryByWatch[wd] == directory { directoryByWatch[wd] = other }
                return
            }
            directoryByWatch[wd] = nil
            // EINVAL means the kernel already dropped the watch (directory deleted): fine.
            _ = inotify_rm_watch(descriptor, wd)
        }

        /// Reads every queued event, calling `body` for each, until the queue is empty.
        func drain(_ body: (Event) -> Void) throws(SystemError) {
            let headerSize = 16  // wd, mask, cookie, len: four 32-bit fields
            while true {
                let n = readRetrying(descriptor, buffer.baseAddress!, buffer.count)
                if n < 0 {
                    if errno == EAGAIN || errno == EWOULDBLOCK { return }
                    throw SystemError("read", path: "(inotify)", errno: errno)
                }
                if n == 0 { return }
                var position = 0
                // The kernel only returns whole events, so each header and name is in range.
                while position + headerSize <= n {
                    let wd = buffer.loadUnaligned(fromByteOffset: position, as: Int32.self)
                    let mask = buffer.loadUnaligned(fromByteOffset: position + 4, as: UInt32.self)
                    let length = Int(buffer.loadUnaligned(fromByteOffset: position + 12, as: UInt32.self))
                    let nameBytes = UnsafeRawBufferPointer(
                        rebasing: buffer[(position + headerSize)..<min(n, position + headerSize + length)])
                    position += headerSize + length
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                        body(.overflow)
                        continue
                    }
                    guard let directory = directoryByWatch[wd] else { continue }
                    if mask & UInt32(IN_IGNORED) != 0 {
                        forget(wd)
                        body(.directoryGone(directory))
                        continue
                    }
                    if mask & (UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF)) != 0 {
                        // A moved directory keeps its watch but no longer has this name.
                        unwatch(directory)
                        body(.directoryGone(directory))
                        continue
                    }
                    // The name is NUL-padded to the event's length.
                    let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                    body(.entry(directory: directory, name: name, mask: mask))
                }
            }
        }

        private func forget(_ wd: Int32) {
            directoryByWatch[wd] = nil
            for (directory, watch) in watchByDirectory where watch == wd { watchByDirectory[directory] = nil }
        }
    }
#endif
