import AccessLogParser
import Aggregation
import Exposition
import Histograms
import Kubernetes

/// What the pipeline runs with: the parser's and the aggregation's settings, derived from a
/// ``LogMetricsConfiguration``.
public struct CompiledConfiguration: Sendable {
    public let configuration: LogMetricsConfiguration
    public let parser: ParserConfiguration
    public let schema: MetricsSchema

    /// The same configuration counting into `schema` instead: its parser reads what `schema`
    /// needs, and `extraFields`.
    public func counting(into schema: MetricsSchema, alsoReading extraFields: FieldSet = []) -> CompiledConfiguration {
        let parser = ParserConfiguration(
            fieldMap: parser.fieldMap, wantedFields: schema.wantedFields.union(extraFields), syntaxes: parser.syntaxes,
            envelope: parser.envelope, maxLineLength: parser.maxLineLength)
        return CompiledConfiguration(configuration: configuration, parser: parser, schema: schema)
    }
}

/// A problem found while compiling a configuration, located by key path (the loader adds the line).
public struct CompileError: Error, Equatable, CustomStringConvertible {
    public var key: String
    public var message: String

    public var description: String { key.isEmpty ? message : "\(key): \(message)" }
}

public enum ConfigurationCompiler {
    /// Labels of the input a line came from (Kubernetes pod log paths).
    public static let sourceLabelNames = ["namespace", "pod", "container", "workload"]

    /// Labels whose values come from each record, by name.
    static let recordLabels: [String: LabelSource] = [
        "route": .route, "method": .method, "response_code": .responseCode, "error_type": .errorType,
        "response_flags": .responseFlags, "slow_request": .slowRequest, "destination_service": .destinationService,
        "destination_service_name": .destinationServiceName,
        "destination_service_namespace": .destinationServiceNamespace, "request_protocol": .requestProtocol,
        "grpc_status": .grpcStatus, "reporter": .reporter,
    ]

    public static func compile(_ c: LogMetricsConfiguration) throws(CompileError) -> CompiledConfiguration {
        // Fields: the preset's keys, then the configuration's.
        var map: FieldMap
        var syntaxes: RecordSyntaxes = .json
        switch c.format {
        case .auto:
            map = .automatic
            syntaxes = .all
        case .istioJSON: map = .preset(.istio)
        case .envoyGatewayJSON: map = .preset(.envoyGateway)
        case .istioText:
            map = .preset(.istioText)
            syntaxes = .text
        case .custom: map = FieldMap()
        }
        var named: [String: AccessLogField] = [:]
        for (name, key) in c.fields.sorted(by: { $0.key < $1.key }) {
            if let field = AccessLogField(name: name) {
                map.map(key: key, to: field)
                named[name] = field
            } else {
                do {
                    named[name] = try map.addCustomField(name: name, key: key)
                } catch {
                    throw CompileError(key: "fields.\(name)", message: error.description)
                }
            }
        }

        // Labels every family gets, and the extracted ones.
        var common: [FamilyDefinition.Label] = []
        var taken = Set(recordLabels.keys).union(["flag"])
        for (name, value) in c.staticLabels.sorted(by: { $0.key < $1.key }) {
            // The loader checks names from a file; this also covers `--label` on the command line.
            guard Escaping.isValidLabelName(name) else {
                throw CompileError(
                    key: "labels.static.\(name)",
                    message: "\"\(name)\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)")
            }
            guard taken.insert(name).inserted else {
                throw CompileError(key: "labels.static.\(name)", message: "\"\(name)\" is already a label")
            }
            common.append(.init(name, .constant(value)))
        }
        for name in c.sourceLabels {
            guard taken.insert(name).inserted else {
                throw CompileError(key: "labels.source", message: "\"\(name)\" is already a label")
            }
            common.append(.init(name, .input(name)))
        }
        var extracted: [FamilyDefinition.Label] = []
        var limits = c.limits
        for label in c.extractedLabels {
            guard taken.insert(label.name).inserted else {
                throw CompileError(key: "labels.extract.\(label.name)", message: "\"\(label.name)\" is already a label")
            }
            var field = named[label.field] ?? AccessLogField(name: label.field)
            if field == nil {
                // Not a field name: a JSON key as the record writes it.
                do {
                    field = try map.addCustomField(name: label.field, key: label.field)
                } catch {
                    throw CompileError(key: "labels.extract.\(label.name)", message: error.description)
                }
            }
            guard let field else { continue }
            let source: LabelSource
            if let segment = label.segment {
                guard field == .path else {
                    throw CompileError(
                        key: "labels.extract.\(label.name).segment", message: "segments are taken from the path only")
                }
                source = .pathSegment(segment)
            } else if let pattern = label.pattern {
                source = .fieldPattern(field, pattern)
            } else {
                source = .field(field)
            }
            extracted.append(.init(label.name, source))
            if let cap = label.maxValues { limits.maxValuesPerLabel[label.name] = cap }
        }

        // Labels from the Kubernetes API, on the same families as the extracted ones.
        var enriched: [FamilyDefinition.Label] = []
        var enrichedOnly: [FamilyDefinition.Label] = []
        if let kubernetes = c.kubernetes {
            guard
                !kubernetes.podLabels.isEmpty || !kubernetes.serviceLabels.isEmpty
                    || !(c.kubernetesSourcePodLabels ?? []).isEmpty || c.preset == .istio
            else {
                throw CompileError(
                    key: "kubernetes",
                    message: "nothing to label: name pod_labels, source_pod_labels, service_labels "
                        + "(the istio preset also takes destination_workload from it)")
            }
            var labels: [(String, LabelSource)] = []
            for key in kubernetes.podLabels {
                labels.append((MetadataLabelName.make(prefix: "destination_", key: key), .destinationPod(.label(key))))
            }
            for key in kubernetes.serviceLabels {
                labels.append(
                    (MetadataLabelName.make(prefix: "destination_service_", key: key), .destinationServiceLabel(key)))
            }
            for key in c.kubernetesSourcePodLabels ?? kubernetes.podLabels {
                labels.append((MetadataLabelName.make(prefix: "source_", key: key), .sourcePod(.label(key))))
            }
            for (name, source) in labels {
                guard taken.insert(name).inserted else {
                    throw CompileError(key: "kubernetes", message: "the label \(name) it would add is already a label")
                }
                enriched.append(.init(name, source))
            }
            // Not on any family by default (one value per workload), but there for labels.families.
            if c.preset == .default {
                enrichedOnly = [
                    .init("destination_workload", .destinationPod(.workload)),
                    .init("destination_workload_namespace", .destinationPod(.namespace)),
                ].filter { taken.insert($0.name).inserted }
            }
        }

        // Families: the preset's, then the configuration's label lists and buckets.
        let classification = Classification(
            rules: c.routes, useRouteName: c.useRouteName, ignoredRouteNames: Set(c.ignoredRouteNames),
            pathTemplate: c.autoTemplate ? PathTemplate(maxDepth: c.templateMaxDepth) : nil,
            slowThresholdMilliseconds: c.slowThresholdMilliseconds, slowThresholdsByRoute: c.slowThresholdsByRoute,
            grpcStatusDecidesErrorType: c.grpcStatusDecidesErrorType)
        var families: [FamilyDefinition]
        switch c.preset {
        case .default:
            families = MetricsSchema.defaultFamilies(
                namespace: c.namespace, sourceLabels: common, slowThresholds: classification.allSlowThresholds)
            for k in families.indices where families[k].observation == .requests || families[k].observation == .duration
            {
                families[k].labels += extracted + enriched
            }
            for k in families.indices where families[k].observation.isTCP {
                families[k].labels += enriched
            }
        case .istio:
            families = MetricsSchema.istioFamilies(
                extraLabels: common + extracted + enriched, slowThresholds: classification.allSlowThresholds,
                podMetadata: c.kubernetes != nil)
        }
        if !c.exemplars { for k in families.indices { families[k].exemplars = false } }
        let available = availableLabels(common: common, extracted: extracted + enriched + enrichedOnly)
        for (name, labels) in c.familyLabels.sorted(by: { $0.key < $1.key }) {
            guard let index = families.firstIndex(where: { matches($0, name, namespace: c.namespace) }) else {
                throw CompileError(
                    key: "labels.families.\(name)",
                    message: "no such family; families are: \(shortNames(families, c.namespace))")
            }
            var definitions: [FamilyDefinition.Label] = []
            for label in labels {
                guard var definition = available[label] ?? (label == "flag" ? .init("flag", .flag) : nil) else {
                    throw CompileError(
                        key: "labels.families.\(name)",
                        message:
                            "unknown label \"\(label)\"; labels are: \(available.keys.sorted().joined(separator: ", "))"
                    )
                }
                if c.preset == .istio,
                    let renamed = families[index].labels.first(where: { $0.source == definition.source })
                {
                    definition.name = renamed.name
                }
                definitions.append(definition)
            }
            let hasFlag = definitions.contains { $0.source == .flag }
            if hasFlag != (families[index].observation == .responseFlags) {
                throw CompileError(
                    key: "labels.families.\(name)",
                    message: hasFlag
                        ? "only the response flags family has a flag label" : "this family needs the flag label")
            }
            families[index].labels = definitions
        }
        for (name, bounds) in c.buckets.sorted(by: { $0.key < $1.key }) {
            guard let index = families.firstIndex(where: { matches($0, name, namespace: c.namespace) }) else {
                throw CompileError(
                    key: "buckets.\(name)",
                    message: "no such family; families are: \(shortNames(families, c.namespace))")
            }
            guard families[index].type == .histogram else {
                throw CompileError(key: "buckets.\(name)", message: "only histograms have buckets")
            }
            var layout: BucketLayout
            do {
                layout = try BucketLayout(upperBounds: bounds)
            } catch {
                throw CompileError(key: "buckets.\(name)", message: error.description)
            }
            if families[index].observation == .duration {
                for threshold in classification.allSlowThresholds {
                    let bound = Double(threshold) / Double(families[index].observationsPerUnit)
                    layout = (try? layout.inserting(boundary: bound)) ?? layout
                }
            }
            families[index].buckets = layout
        }
        // A preset's own labels (istio's destination_workload, source_principal...) are not in
        // `taken`: a configured label of the same name would repeat it, and a scrape with a
        // repeated label name is refused whole.
        for family in families {
            var names = Set<String>()
            for label in family.labels where !names.insert(label.name).inserted {
                throw CompileError(
                    key: c.kubernetes != nil && label.name.contains("_") ? "kubernetes" : "labels",
                    message: "the label \(label.name) would appear twice on \(family.name); rename or drop one")
            }
        }
        let schema: MetricsSchema
        do {
            schema = try MetricsSchema(families: families, limits: limits, classification: classification)
        } catch {
            throw CompileError(key: "", message: error.description)
        }
        let parser = ParserConfiguration(
            fieldMap: map, wantedFields: schema.wantedFields, syntaxes: syntaxes, envelope: c.envelope,
            maxLineLength: c.maxLineBytes)
        return CompiledConfiguration(configuration: c, parser: parser, schema: schema)
    }

    static func availableLabels(common: [FamilyDefinition.Label], extracted: [FamilyDefinition.Label])
        -> [String: FamilyDefinition.Label]
    {
        var labels: [String: FamilyDefinition.Label] = [:]
        for (name, source) in recordLabels { labels[name] = .init(name, source) }
        for label in common + extracted { labels[label.name] = label }
        return labels
    }

    /// A family named in the configuration by its full name, or without the namespace and `_total`.
    static func matches(_ family: FamilyDefinition, _ name: String, namespace: String) -> Bool {
        var short = name
        if short.hasSuffix("_total") { short.removeLast(6) }
        return family.name == short || family.name == "\(namespace)_\(short)"
    }

    static func shortNames(_ families: [FamilyDefinition], _ namespace: String) -> String {
        families.map { $0.name.replacingPrefix("\(namespace)_", with: "") }.joined(separator: ", ")
    }
}
