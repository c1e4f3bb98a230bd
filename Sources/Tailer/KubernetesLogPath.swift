/// What a Kubernetes node log path says about the container that wrote it.
///
/// Two layouts are recognised, wherever they are mounted (matching is on the last components,
/// so `/host/var/log/pods/...` in a DaemonSet works too):
///
/// - `.../pods/<namespace>_<pod>_<uid>/<container>/<N>.log`, with kubelet's rotated
///   `<N>.log.<YYYYMMDD-HHMMSS>` and compressed `<N>.log.<YYYYMMDD-HHMMSS>.gz`. `N` is the
///   container's restart count.
/// - `.../containers/<pod>_<namespace>_<container>-<64 hex container id>.log`, the symlinks
///   kubelet keeps. Kubernetes names cannot contain `_`, so splitting on it is unambiguous. (A
///   name that kubelet had to cut to 255 bytes does not end in a full id and is not recognised.)
public struct KubernetesLogPath: Hashable, Sendable {
    public var namespace: String
    public var pod: String
    /// The pod UID (only in the `pods` layout).
    public var podUID: String?
    public var container: String
    /// The restart count `N` of `N.log` (only in the `pods` layout).
    public var restartCount: Int?
    /// The 64-hex runtime container id (only in the `containers` layout).
    public var containerID: String?
    /// kubelet's rotation timestamp `YYYYMMDD-HHMMSS`, for a rotated file.
    public var rotation: String?
    /// Whether the file is a gzip-compressed rotated file.
    public var isCompressed: Bool

    /// Parses `path`, or returns nil when it is not in either layout.
    public init?(path: String) {
        let components = path.split(separator: "/").map(String.init)
        if components.count >= 4, components[components.count - 4] == "pods",
            let parsed = Self.parsePods(
                podDirectory: components[components.count - 3],
                container: components[components.count - 2],
                file: components[components.count - 1])
        {
            self = parsed
        } else if components.count >= 2, components[components.count - 2] == "containers",
            let parsed = Self.parseContainers(file: components[components.count - 1])
        {
            self = parsed
        } else {
            return nil
        }
    }

    /// The owning workload's name, guessed from the pod name; see ``workloadName(ofPod:)``.
    public var workload: String { Self.workloadName(ofPod: pod) }

    /// `namespace`, `pod`, `container` and `workload`.
    public var labels: [String: String] {
        ["namespace": namespace, "pod": pod, "container": container, "workload": workload]
    }

    private init(namespace: String, pod: String, container: String) {
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.isCompressed = false
    }

    private static func parsePods(podDirectory: String, container: String, file: String) -> KubernetesLogPath? {
        let parts = podDirectory.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }), !container.isEmpty else { return nil }
        var name = Substring(file)
        var compressed = false
        if name.hasSuffix(".gz") {
            compressed = true
            name = name.dropLast(3)
        }
        var rotation: String?
        if let suffix = rotationSuffix(of: String(name)) {
            rotation = suffix
            name = name.dropLast(suffix.utf8.count + 1)
        }
        guard name.hasSuffix(".log") else { return nil }
        let count = name.dropLast(4)
        guard let restarts = Int(count), count.allSatisfy(\.isASCII) else { return nil }
        // A compressed file that is not a rotated one is not something kubelet writes.
        if compressed && rotation == nil { return nil }
        var parsed = KubernetesLogPath(namespace: String(parts[0]), pod: String(parts[1]), container: container)
        parsed.podUID = String(parts[2])
        parsed.restartCount = restarts
        parsed.rotation = rotation
        parsed.isCompressed = compressed
        return parsed
    }

    private static func parseContainers(file: String) -> KubernetesLogPath? {
        guard file.hasSuffix(".log") else { return nil }
        let parts = file.dropLast(4).split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        guard let dash = parts[2].lastIndex(of: "-") else { return nil }
        let container = parts[2][..<dash]
        let id = parts[2][parts[2].index(after: dash)...]
        guard !container.isEmpty, id.utf8.count == 64, id.utf8.allSatisfy(isLowerHex) else { return nil }
        var parsed = KubernetesLogPath(namespace: String(parts[1]), pod: String(parts[0]), container: String(container))
        parsed.containerID = String(id)
        return parsed
    }

    /// kubelet's rotation suffix of a file name (`0.log.20240101-120000` → `20240101-120000`), or
    /// nil. Go layout `20060102-150405`: 8 digits, `-`, 6 digits.
    static func rotationSuffix(of name: String) -> String? {
        let bytes = Array(name.utf8)
        guard bytes.count > 20 else { return nil }
        let suffix = bytes[(bytes.count - 15)...]
        let dot = bytes[bytes.count - 16]
        guard dot == UInt8(ascii: "."), String(decoding: bytes[..<(bytes.count - 16)], as: UTF8.self).hasSuffix(".log")
        else { return nil }
        for (index, byte) in suffix.enumerated() {
            if index == 8 {
                guard byte == UInt8(ascii: "-") else { return nil }
            } else {
                guard isDigit(byte) else { return nil }
            }
        }
        return String(decoding: suffix, as: UTF8.self)
    }

    /// Guesses the workload (Deployment, StatefulSet, DaemonSet, Job, CronJob) from a pod name,
    /// without asking the API server:
    ///
    /// 1. `<name>-<hash>-<suffix>` where `hash` is 6-10 characters of the alphabet Kubernetes
    ///    uses for generated names (`bcdfghjklmnpqrstvwxz2456789`: no vowels, no 0, 1, 3) and
    ///    `suffix` 5 lowercase alphanumerics → `<name>` (Deployment → ReplicaSet → pod:
    ///    `reviews-v1-545db77b95-2pxmb` → `reviews-v1`).
    /// 2. `<name>-<suffix>` with a 5-character suffix → `<name>` (DaemonSet, bare ReplicaSet,
    ///    Job: `node-exporter-abcde` → `node-exporter`); then, if what is left ends in `-` and 8
    ///    or more digits (a CronJob's scheduled time in minutes), that is removed too
    ///    (`backup-28485720-x7k2p` → `backup`).
    /// 3. `<name>-<digits>` → `<name>` (StatefulSet ordinal: `web-0` → `web`).
    /// 4. Otherwise the pod name itself.
    ///
    /// Limits: a bare pod (or a static pod, `kube-apiserver-<node>`) whose name happens to end
    /// in a 5-character or numeric segment loses it (`redis-cache` → `redis`); a Deployment
    /// whose name ends in a segment that looks like a hash is cut too short. The exact answer
    /// needs the pod's `ownerReferences` from the API server.
    public static func workloadName(ofPod pod: String) -> String {
        var segments = pod.split(separator: "-", omittingEmptySubsequences: false)
        guard segments.count >= 2 else { return pod }
        let last = segments[segments.count - 1]
        if isGeneratedSuffix(last) {
            if segments.count >= 3, isTemplateHash(segments[segments.count - 2]) {
                return segments.dropLast(2).joined(separator: "-")
            }
            segments.removeLast()
            if segments.count >= 2, let tail = segments.last, tail.utf8.count >= 8, tail.utf8.allSatisfy(isDigit) {
                segments.removeLast()
            }
            return segments.joined(separator: "-")
        }
        if !last.isEmpty, last.utf8.allSatisfy(isDigit) {
            return segments.dropLast().joined(separator: "-")
        }
        return pod
    }

    private static func isGeneratedSuffix(_ segment: Substring) -> Bool {
        segment.utf8.count == 5
            && segment.utf8.allSatisfy { isDigit($0) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) }
    }

    private static func isTemplateHash(_ segment: Substring) -> Bool {
        (6...10).contains(segment.utf8.count) && segment.utf8.allSatisfy { generatedNameAlphabet.contains($0) }
    }

    /// k8s.io/apimachinery `rand.String`'s alphabet.
    private static let generatedNameAlphabet = Set("bcdfghjklmnpqrstvwxz2456789".utf8)
}

private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

private func isLowerHex(_ byte: UInt8) -> Bool {
    isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
}
