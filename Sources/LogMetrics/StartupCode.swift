import CCodePages
import Synchronization

/// Lets go of the code pages that only starting (or reloading) ran.
///
/// Parsing the command line and the YAML configuration, compiling rules, setting up TLS and
/// the first Kubernetes list run once, and the kernel keeps the pages they touched, and large
/// runs around them, mapped: with the statically linked binary that was about 16 MiB of a
/// serving process's resident memory whose steady state maps about 7. See `CCodePages.h` for
/// what is dropped and why nothing else changes.
final class StartupCode: Sendable {
    /// When the server is ready, and again this much later: by then the first reads and scrapes
    /// have brought back the code they keep using, and what only they ran (the first pass over a
    /// glob, restoring a checkpoint) goes too. A page dropped while in use comes back on its
    /// next use; the cost is a minor fault.
    static let followUp = 10.0

    private let due = Mutex<[Double]>([])

    /// Asks for a release now and another `followUp` seconds later: at start, and after each
    /// reload.
    func schedule(now: Double) {
        due.withLock { $0 = [now, now + Self.followUp] }
    }

    /// Releases the pages at once, from the thread that starts serving.
    func releaseNow() {
        _ = lm_release_code_pages()
    }

    /// The times of the releases asked for and not yet made.
    var pendingReleases: [Double] { due.withLock { $0 } }

    /// Releases the pages when a release is due; called from the maintenance loop.
    func releaseIfDue(now: Double) {
        let isDue = due.withLock { due -> Bool in
            guard let first = due.first, now >= first else { return false }
            due.removeFirst()
            return true
        }
        if isDue { _ = lm_release_code_pages() }
    }
}
