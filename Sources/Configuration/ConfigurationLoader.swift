import AccessLogParser
import Aggregation
import Exposition
import Histograms
import Kubernetes
import Yams

/// Reads a YAML configuration file into a ``LogMetricsConfiguration``, checking everything that can
/// be checked before any log line is read. Every error names the file, line and key.
public enum ConfigurationLoader {
    public static func load(path: String) throws(ConfigurationError) -> LogMetricsConfiguration {
        let text: String
        do {
            text = try readFile(path)
        } catch {
            throw ConfigurationError(file: path, message: "cannot be read: \(error)")
        }
        return try load(yaml: text, file: path)
    }

    public static func load(yaml: String, file: String = "<config>") throws(ConfigurationError)
        -> LogMetricsConfiguration
    {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            let (line, column) = Self.place(of: error)
            throw ConfigurationError(
                file: file, line: line, column: column, message: "not valid YAML: \(Self.describe(error))")
        } catch {
            throw ConfigurationError(file: file, message: "not valid YAML: \(error)")
        }
        var configuration = LogMetricsConfiguration()
        guard let root else { return configuration }
        try apply(ConfigNode(node: root, file: file, path: ""), to: &configuration)
        return configuration
    }

    static let topLevelKeys = [
        "format", "fields", "preset", "namespace", "routes", "route_name", "auto_template", "slow_request", "grpc",
        "labels", "buckets", "limits", "input", "exposition", "kubernetes",
    ]

    static func apply(_ root: ConfigNode, to c: inout LogMetricsConfiguration) throws(ConfigurationError) {
        let members = try root.mapping(allowed: topLevelKeys)
        // Keys are applied in an order where later checks can rely on earlier values.
        let order = [
            "format", "fields", "preset", "namespace", "input", "routes", "route_name", "auto_template",
            "slow_request", "grpc", "labels", "buckets", "limits", "exposition", "kubernetes",
        ]
        for key in order {
            guard let node = members.first(where: { $0.key == key })?.value else { continue }
            switch key {
            case "format":
                c.format = try choice(node, LogMetricsConfiguration.Format.allCases)
            case "fields":
                for (name, value) in try node.mapping() {
                    guard isIdentifier(name) else { throw value.error("field names are lower_snake_case identifiers") }
                    c.fields[name] = try value.nonEmptyString()
                }
            case "preset":
                c.preset = try choice(node, LogMetricsConfiguration.Preset.allCases)
            case "namespace":
                let namespace = try node.string()
                guard namespace.isEmpty || Escaping.isValidMetricName(namespace) else {
                    throw node.error("\"\(namespace)\" cannot start a metric name")
                }
                c.namespace = namespace
            case "exposition":
                for (key, value) in try node.mapping(allowed: ["exemplars", "created_timestamps"]) {
                    if key == "exemplars" { c.exemplars = try value.bool() }
                    if key == "created_timestamps" { c.createdTimestamps = try value.bool() }
                }
            case "input":
                for (key, value) in try node.mapping(allowed: ["envelope", "max_line_bytes"]) {
                    if key == "envelope" { c.envelope = try choice(value, Envelope.allCases) }
                    if key == "max_line_bytes" { c.maxLineBytes = try value.int(in: 1024...(64 << 20)) }
                }
            case "routes":
                c.routes = try node.sequence().map { node throws(ConfigurationError) in try route(node) }
            case "route_name":
                for (key, value) in try node.mapping(allowed: ["use", "ignore"]) {
                    if key == "use" { c.useRouteName = try value.bool() }
                    if key == "ignore" { c.ignoredRouteNames = try value.strings() }
                }
            case "auto_template":
                if let enabled = node.node.bool {
                    c.autoTemplate = enabled
                } else {
                    for (key, value) in try node.mapping(allowed: ["enabled", "max_depth"]) {
                        if key == "enabled" { c.autoTemplate = try value.bool() }
                        if key == "max_depth" { c.templateMaxDepth = try value.int(in: 1...64) }
                    }
                }
            case "slow_request":
                for (key, value) in try node.mapping(allowed: ["threshold_ms", "per_route"]) {
                    if key == "threshold_ms" { c.slowThresholdMilliseconds = Int64(try value.int(in: 1...86_400_000)) }
                    if key == "per_route" {
                        for (route, threshold) in try value.mapping() {
                            c.slowThresholdsByRoute[route] = Int64(try threshold.int(in: 1...86_400_000))
                        }
                    }
                }
            case "grpc":
                for (key, value) in try node.mapping(allowed: ["status_decides_error_type"])
                where key == "status_decides_error_type" {
                    c.grpcStatusDecidesErrorType = try value.bool()
                }
            case "labels":
                try labels(node, &c)
            case "buckets":
                for (family, value) in try node.mapping() {
                    let bounds = try value.sequence().map { node throws(ConfigurationError) in try node.double() }
                    do {
                        _ = try BucketLayout(upperBounds: bounds)
                    } catch {
                        throw value.error("\(error)")
                    }
                    c.buckets[family] = bounds
                }
            case "limits":
                try limits(node, &c)
            case "kubernetes":
                try kubernetes(node, &c)
            default:
                break
            }
        }
        // Whatever only the whole configuration can tell (family and label names, label clashes).
        do {
            _ = try ConfigurationCompiler.compile(c)
        } catch {
            let place = root.find(error.key) ?? root
            throw ConfigurationError(
                file: place.file, line: place.line, column: place.column, key: error.key, message: error.message)
        }
    }

    static func route(_ node: ConfigNode) throws(ConfigurationError) -> RouteRule {
        var rule = RouteRule(name: "")
        var matchNode: ConfigNode?
        for (key, value) in try node.mapping(allowed: ["name", "match"]) {
            if key == "name" { rule.name = try value.nonEmptyString() }
            if key == "match" { matchNode = value }
        }
        guard !rule.name.isEmpty else { throw node.error("a route needs a name") }
        if let matchNode {
            let pathKeys = ["path", "path_exact", "path_prefix", "path_regex"]
            let members = try matchNode.mapping(allowed: ["method", "authority", "route_name"] + pathKeys)
            let paths = members.filter { pathKeys.contains($0.key) }
            if paths.count > 1 {
                throw paths[1].value.error("a route matches the path one way only; also has \(paths[0].key)")
            }
            for (key, value) in members {
                switch key {
                case "method": rule.methods = try value.strings().map { $0.uppercased() }
                case "authority": rule.authority = try value.nonEmptyString()
                case "route_name": rule.routeName = try value.nonEmptyString()
                case "path": rule.path = .template(try value.nonEmptyString())
                case "path_exact": rule.path = .exact(try value.nonEmptyString())
                case "path_prefix": rule.path = .prefix(try value.nonEmptyString())
                case "path_regex": rule.path = .regex(try value.nonEmptyString())
                default: break
                }
            }
        }
        do {
            _ = try RouteMatcher(rules: [rule])
        } catch {
            throw node.error(error.description.replacingPrefix("route 1: ", with: ""))
        }
        return rule
    }

    static func labels(_ node: ConfigNode, _ c: inout LogMetricsConfiguration) throws(ConfigurationError) {
        for (key, value) in try node.mapping(allowed: ["static", "source", "extract", "families"]) {
            switch key {
            case "static":
                for (name, labelValue) in try value.mapping() {
                    try checkLabelName(name, value)
                    c.staticLabels[name] = try labelValue.string()
                }
            case "source":
                for item in try value.sequence() {
                    let name = try item.string()
                    guard ConfigurationCompiler.sourceLabelNames.contains(name) else {
                        throw item.error(
                            "unknown source label; expected one of \(ConfigurationCompiler.sourceLabelNames.joined(separator: ", "))"
                        )
                    }
                    c.sourceLabels.append(name)
                }
            case "extract":
                for (name, spec) in try value.mapping() {
                    try checkLabelName(name, spec)
                    var label = LogMetricsConfiguration.ExtractedLabel(name: name, field: "")
                    for (key, item) in try spec.mapping(allowed: ["field", "segment", "regex", "max_values"]) {
                        switch key {
                        case "field": label.field = try item.nonEmptyString()
                        case "segment": label.segment = try item.int(in: 1...64)
                        case "regex":
                            let pattern = try item.nonEmptyString()
                            do {
                                _ = try Regex(pattern)
                            } catch {
                                throw item.error("not a valid regular expression: \(error)")
                            }
                            label.pattern = pattern
                        case "max_values": label.maxValues = try item.int(in: 1...1_000_000)
                        default: break
                        }
                    }
                    guard !label.field.isEmpty else { throw spec.error("an extracted label needs a field") }
                    guard label.segment == nil || label.pattern == nil else {
                        throw spec.error("use segment or regex, not both")
                    }
                    c.extractedLabels.append(label)
                }
            case "families":
                for (family, list) in try value.mapping() {
                    c.familyLabels[family] = try list.strings()
                }
            default:
                break
            }
        }
    }

    static func limits(_ node: ConfigNode, _ c: inout LogMetricsConfiguration) throws(ConfigurationError) {
        let keys = ["max_series_per_family", "max_values_per_label", "default_max_values_per_label", "idle_expiry"]
        for (key, value) in try node.mapping(allowed: keys) {
            switch key {
            case "max_series_per_family":
                c.limits.maxSeriesPerFamily = try value.int(in: 1...10_000_000)
            case "max_values_per_label":
                for (label, cap) in try value.mapping() {
                    c.limits.maxValuesPerLabel[label] = try cap.int(in: 1...10_000_000)
                }
            case "default_max_values_per_label":
                c.limits.defaultMaxValuesPerLabel = try value.int(in: 1...10_000_000)
            case "idle_expiry":
                let seconds = try value.seconds()
                guard seconds >= LogMetricsConfiguration.minimumIdleExpirySeconds else {
                    throw value.error(
                        "must be at least 10m: a shorter expiry would reset counters that are merely quiet")
                }
                c.idleExpirySeconds = seconds
            default:
                break
            }
        }
    }

    static func kubernetes(_ node: ConfigNode, _ c: inout LogMetricsConfiguration) throws(ConfigurationError) {
        var k = KubernetesConfiguration()
        let keys = [
            "api", "pod_labels", "source_pod_labels", "service_labels", "namespace", "pod_selector", "service_selector",
            "token_file",
            "ca_file", "initial_list_timeout",
        ]
        for (key, value) in try node.mapping(allowed: keys) {
            switch key {
            case "api":
                let api = try value.nonEmptyString()
                if api == "auto" {
                    k.api = .inCluster
                } else {
                    k.api = .url(api)
                    do {
                        _ = try k.endpoint(environment: [:])
                    } catch {
                        throw value.error("\(error.description); or auto, for the API of the cluster this runs in")
                    }
                }
            case "pod_labels", "source_pod_labels", "service_labels":
                var seen: [String: String] = [:]
                var keys: [String] = []
                for item in try value.sequence() {
                    let labelKey = try item.nonEmptyString()
                    guard MetadataLabelName.isValidKey(labelKey) else {
                        throw item.error("\"\(labelKey)\" is not a Kubernetes label key ([prefix/]name)")
                    }
                    let name = MetadataLabelName.make(prefix: "", key: labelKey)
                    if let other = seen[name] {
                        throw item.error("\"\(labelKey)\" and \"\(other)\" would both be the label suffix \(name)")
                    }
                    seen[name] = labelKey
                    keys.append(labelKey)
                }
                switch key {
                case "pod_labels": k.podLabels = keys
                case "source_pod_labels": c.kubernetesSourcePodLabels = keys
                default: k.serviceLabels = keys
                }
            case "namespace":
                k.namespace = try value.nonEmptyString()
            case "pod_selector", "service_selector":
                var selector = KubernetesConfiguration.Selector()
                for (part, item) in try value.mapping(allowed: ["labels", "fields"]) {
                    if part == "labels" { selector.labels = try item.nonEmptyString() }
                    if part == "fields" { selector.fields = try item.nonEmptyString() }
                }
                if key == "pod_selector" { k.podSelector = selector } else { k.serviceSelector = selector }
            case "token_file":
                k.tokenFile = try value.nonEmptyString()
            case "ca_file":
                k.caFile = try value.nonEmptyString()
            case "initial_list_timeout":
                let seconds = try value.seconds()
                guard seconds <= 600 else { throw value.error("at most 10m: counting waits this long at start") }
                c.kubernetesInitialListTimeoutSeconds = seconds
            default:
                break
            }
        }
        c.kubernetes = k
    }

    static func checkLabelName(_ name: String, _ node: ConfigNode) throws(ConfigurationError) {
        guard Escaping.isValidLabelName(name) else {
            throw node.error("\"\(name)\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)")
        }
    }

    static func choice<T: RawRepresentable>(_ node: ConfigNode, _ cases: [T]) throws(ConfigurationError) -> T
    where T.RawValue == String {
        let text = try node.string()
        guard let value = T(rawValue: text) else {
            throw node.error("\"\(text)\" is not one of: \(cases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    static func isIdentifier(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    /// Where libyaml stopped, both 1-based (Yams' marks are); (0, 0) when it says nothing.
    static func place(of error: YamlError) -> (line: Int, column: Int) {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _): (mark.line, mark.column)
        default: (0, 0)
        }
    }

    static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _): problem
        default: "\(error)"
        }
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The whole file as UTF-8 text.
func readFile(_ path: String) throws -> String {
    guard let file = fopen(path, "rb") else { throw FileError(code: errno) }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n > 0 { bytes += buffer[0..<n] }
        if n < buffer.count {
            if ferror(file) != 0 { throw FileError(code: errno) }
            break
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

struct FileError: Error, CustomStringConvertible {
    var code: Int32
    var description: String { String(cString: strerror(code)) }
}
