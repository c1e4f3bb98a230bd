import AccessLogParser
import ArgumentParser
import Configuration
import Foundation
import Kubernetes
import Tailer

/// Options that decide how input is read, parsed and counted; shared by every command.
struct InputOptions: ParsableArguments {
    @Argument(help: "Access-log files to read; standard input when none (or `-`).")
    var paths: [String] = []

    @Option(name: .long, help: "A YAML configuration file (routes, labels, buckets, limits).")
    var config: String?

    @Option(help: "Metric names and labels: default, or istio (Istio's standard metrics).")
    var preset: LogMetricsConfiguration.Preset?

    @Option(name: .customLong("label"), help: "A static label on every series, NAME=VALUE (repeatable).")
    var labels: [String] = []

    @Option(help: "Container-log envelope: auto, raw, cri or docker.")
    var envelope: Envelope?

    @Option(help: "Lines longer than this many bytes are skipped and counted as oversized (default 65536).")
    var maxLineBytes: Int?

    @Option(
        name: .customLong("kube-api"),
        help: ArgumentHelp(
            "The Kubernetes API for pod and service labels: a URL such as http://127.0.0.1:8001 (kubectl proxy), "
                + "or auto inside a pod. Overrides kubernetes.api of --config.",
            valueName: "url"))
    var kubeAPI: String?

    @Option(
        name: .customLong("kube-pod-label"),
        help: ArgumentHelp(
            "A pod label key to carry as destination_<key> and source_<key> (repeatable; adds to kubernetes.pod_labels).",
            valueName: "key"))
    var kubePodLabels: [String] = []

    @Option(
        name: .customLong("kube-service-label"),
        help: ArgumentHelp(
            "A service label key to carry as destination_service_<key> (repeatable; adds to "
                + "kubernetes.service_labels).", valueName: "key"))
    var kubeServiceLabels: [String] = []

    var inputs: [String] { paths.isEmpty ? ["-"] : paths }

    /// Whether `--config` names a file that can be read again on SIGHUP (not a pipe, which is
    /// empty the second time and would reload as the defaults).
    var configIsReloadable: Bool {
        guard let config else { return false }
        var info = stat()
        return stat(config, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    func validate() throws {
        if config == "-" {
            throw ValidationError(
                "--config needs a file; standard input is for the log (use --config /dev/stdin to insist)")
        }
        if let maxLineBytes, maxLineBytes < 1024 { throw ValidationError("--max-line-bytes must be at least 1024") }
        for label in labels where !label.contains("=") {
            throw ValidationError("--label expects NAME=VALUE, got \"\(label)\"")
        }
        for key in kubePodLabels + kubeServiceLabels where !MetadataLabelName.isValidKey(key) {
            throw ValidationError("\"\(key)\" is not a Kubernetes label key ([prefix/]name)")
        }
        if let kubeAPI, kubeAPI != "auto" {
            do {
                _ = try KubernetesConfiguration(api: .url(kubeAPI)).endpoint(environment: [:])
            } catch {
                throw ValidationError("--kube-api: \(error)")
            }
        }
    }

    /// The configuration file (or the defaults) with the command line's options on top.
    func configuration() throws -> CompiledConfiguration { try loadConfiguration().compiled }

    /// The same, with the text of the file as it was read (what the status page shows as in force).
    func loadConfiguration() throws -> (compiled: CompiledConfiguration, text: String?) {
        var configuration = LogMetricsConfiguration()
        var text: String?
        if let config {
            // read(2) to the end, so that a pipe (`--config <(...)`) or /dev/null reads too; at
            // most 1 MiB, so that a device that never ends cannot take the memory.
            let fd = open(config, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                throw ConfigurationError(file: config, message: "cannot be read: \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            var bytes: [UInt8] = []
            do {
                let reader = ChunkReader(chunkSize: 64 * 1024)
                while bytes.count <= 1 << 20, try reader.readOnce(fd, path: config, { bytes += $0 }) > 0 {}
            } catch {
                throw ConfigurationError(file: config, message: "cannot be read: \(error)")
            }
            guard bytes.count <= 1 << 20 else {
                throw ConfigurationError(file: config, message: "is larger than 1 MiB; not a configuration")
            }
            text = String(decoding: bytes, as: UTF8.self)
            configuration = try ConfigurationLoader.load(yaml: text ?? "", file: config)
        }
        if let preset { configuration.preset = preset }
        if let envelope { configuration.envelope = envelope }
        if let maxLineBytes { configuration.maxLineBytes = maxLineBytes }
        for label in labels {
            let parts = label.split(separator: "=", maxSplits: 1)
            configuration.staticLabels[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        if kubeAPI != nil || !kubePodLabels.isEmpty || !kubeServiceLabels.isEmpty {
            var kubernetes = configuration.kubernetes ?? KubernetesConfiguration()
            if let kubeAPI { kubernetes.api = kubeAPI == "auto" ? .inCluster : .url(kubeAPI) }
            for key in kubePodLabels where !kubernetes.podLabels.contains(key) { kubernetes.podLabels.append(key) }
            for key in kubeServiceLabels where !kubernetes.serviceLabels.contains(key) {
                kubernetes.serviceLabels.append(key)
            }
            configuration.kubernetes = kubernetes
        }
        do {
            return (try ConfigurationCompiler.compile(configuration), text)
        } catch {
            throw ValidationError(config.map { "\($0): \(error)" } ?? "\(error)")
        }
    }
}

extension Envelope: ExpressibleByArgument {}
extension LogMetricsConfiguration.Preset: ExpressibleByArgument {}
