import AccessLogParser
import Histograms

/// The schema as plain values for the per-line path: reading a family's plan or a dimension's
/// kind costs a load, where reading a ``FamilyDefinition`` (names, labels, layouts) would copy a
/// struct full of references and pay for their reference counts on every line.
final class SchemaPlan: @unchecked Sendable {
    // @unchecked Sendable: built once in init, read-only afterwards.

    enum Observation: UInt8 {
        case requests, responseFlags, duration, requestBytes, responseBytes, upstreamServiceTime
        case tcpConnections, tcpSentBytes, tcpReceivedBytes, tcpDuration
    }

    enum DimensionKind: UInt8 {
        case route, method, responseCode, responseFlags, errorType, slowRequest, requestProtocol
        case destinationService, destinationServiceName, destinationServiceNamespace, flag, grpcStatus, reporter
        case pathSegment, fieldPattern, constant, input, field
        /// Resolved per record through the pipeline's ``MetadataLookup``; a `.sourcePod` source is
        /// an `.input` kind, resolved per input.
        case destinationPod, destinationServiceLabel
    }

    struct Family {
        var observation: Observation
        var dimsStart: Int
        var dimsCount: Int
        /// Position of the `flag` label among the family's labels, or -1.
        var flagPosition: Int
        /// Counts per series: the number of buckets (bounds + 1) for histograms, else 1.
        var width: Int
        var isHistogram: Bool
        var hasNative: Bool
        var hasExemplars: Bool
        var native: NativeHistogramSettings
        /// Family units per observation unit (1/1000 for a seconds histogram of milliseconds).
        var nativeScale: Double
        /// The small-integer bucket table and the bounds, in observation units.
        var tableStart: Int
        var tableCount: Int
        var boundsStart: Int
        var boundsCount: Int
    }

    struct Scope {
        var families: [Int]
        /// Every dimension the scope's families use except `flag`: one record's series key.
        var signature: [Int]
    }

    let families: UnsafeMutablePointer<Family>
    let familyCount: Int
    let dims: UnsafeMutablePointer<Int>
    let tables: UnsafeMutablePointer<UInt8>
    let bounds: UnsafeMutablePointer<Double>
    let kinds: [DimensionKind]
    /// Per dimension: the field of a `.field` or `.fieldPattern` source, the segment of a
    /// `.pathSegment` source.
    let fields: [AccessLogField]
    let segments: [Int]
    let http: Scope
    let tcp: Scope
    /// Integers below this are looked up in a table to find their bucket.
    static let tableLimit = 4096

    init(
        families definitions: [FamilyDefinition], dimensions: [LabelSource], familyDimensions: [[Int]],
        observationBuckets: [BucketLayout?]
    ) {
        familyCount = definitions.count
        families = .allocate(capacity: max(1, definitions.count))
        let flatDims = familyDimensions.flatMap { $0 }
        dims = .allocate(capacity: max(1, flatDims.count))
        dims.initialize(from: flatDims, count: flatDims.count)
        var tableBytes: [UInt8] = []
        var boundValues: [Double] = []
        var dimsStart = 0
        let flagDimension = dimensions.firstIndex(of: .flag)
        for (index, definition) in definitions.enumerated() {
            let layout = observationBuckets[index]
            let bounds = layout?.upperBounds ?? []
            let tableStart = tableBytes.count
            var tableCount = 0
            if layout != nil, bounds.count < Int(UInt8.max) {
                tableCount = Self.tableLimit
                var bucket = 0
                for value in 0..<tableCount {
                    while bucket < bounds.count && bounds[bucket] < Double(value) { bucket += 1 }
                    tableBytes.append(UInt8(bucket))
                }
            }
            let boundsStart = boundValues.count
            boundValues += bounds
            let familyDims = familyDimensions[index]
            (families + index).initialize(
                to: Family(
                    observation: Self.observation(definition.observation), dimsStart: dimsStart,
                    dimsCount: familyDims.count,
                    flagPosition: flagDimension.flatMap { familyDims.firstIndex(of: $0) } ?? -1,
                    width: layout == nil ? 1 : bounds.count + 1, isHistogram: layout != nil,
                    hasNative: definition.native != nil && layout != nil, hasExemplars: definition.exemplars,
                    native: definition.native ?? .default,
                    nativeScale: 1 / Double(definition.observationsPerUnit), tableStart: tableStart,
                    tableCount: tableCount, boundsStart: boundsStart, boundsCount: bounds.count))
            dimsStart += familyDims.count
        }
        tables = .allocate(capacity: max(1, tableBytes.count))
        tables.initialize(from: tableBytes, count: tableBytes.count)
        bounds = .allocate(capacity: max(1, boundValues.count))
        bounds.initialize(from: boundValues, count: boundValues.count)
        var kinds: [DimensionKind] = []
        var fields: [AccessLogField] = []
        var segments: [Int] = []
        for source in dimensions {
            var field = AccessLogField.path
            var segment = 0
            let kind: DimensionKind
            switch source {
            case .route: kind = .route
            case .method: kind = .method
            case .responseCode: kind = .responseCode
            case .responseFlags: kind = .responseFlags
            case .errorType: kind = .errorType
            case .slowRequest: kind = .slowRequest
            case .requestProtocol: kind = .requestProtocol
            case .destinationService: kind = .destinationService
            case .destinationServiceName: kind = .destinationServiceName
            case .destinationServiceNamespace: kind = .destinationServiceNamespace
            case .flag: kind = .flag
            case .grpcStatus: kind = .grpcStatus
            case .reporter: kind = .reporter
            case .pathSegment(let index):
                kind = .pathSegment
                segment = index
            case .fieldPattern(let f, _):
                kind = .fieldPattern
                field = f
            case .constant: kind = .constant
            case .input: kind = .input
            case .field(let f):
                kind = .field
                field = f
            case .destinationPod: kind = .destinationPod
            case .destinationServiceLabel: kind = .destinationServiceLabel
            case .sourcePod: kind = .input
            }
            kinds.append(kind)
            fields.append(field)
            segments.append(segment)
        }
        self.kinds = kinds
        self.fields = fields
        self.segments = segments
        let flagsDimension = dimensions.firstIndex(of: .responseFlags)
        func scope(_ members: [Int]) -> Scope {
            var signature: [Int] = []
            for family in members {
                for dim in familyDimensions[family] where dim != flagDimension && !signature.contains(dim) {
                    signature.append(dim)
                }
                // The per-flag counter's series follow the record's flag set even when no family
                // is labelled by it, so records with different sets must not share an entry.
                if definitions[family].observation == .responseFlags, let flagsDimension,
                    !signature.contains(flagsDimension)
                {
                    signature.append(flagsDimension)
                }
            }
            return Scope(families: members, signature: signature)
        }
        http = scope(definitions.indices.filter { !definitions[$0].observation.isTCP })
        tcp = scope(definitions.indices.filter { definitions[$0].observation.isTCP })
    }

    deinit {
        families.deinitialize(count: familyCount)
        families.deallocate()
        dims.deallocate()
        tables.deallocate()
        bounds.deallocate()
    }

    /// The bucket of `value` (observation units) in family `family`'s histogram, from the plan's
    /// `tables` and `bounds`. Static, so that the per-line path reaches it without holding
    /// (and retaining) the plan.
    @inline(__always)
    static func bucket(
        _ family: UnsafeMutablePointer<Family>, _ value: Int64, tables: UnsafeMutablePointer<UInt8>,
        bounds: UnsafeMutablePointer<Double>
    ) -> Int {
        // Field by field: copying the whole `Family` out is a `memcpy` call per observation.
        if value >= 0 && value < Int64(family.pointee.tableCount) {
            return Int(tables[family.pointee.tableStart + Int(value)])
        }
        let x = Double(value)
        let start = family.pointee.boundsStart
        let count = family.pointee.boundsCount
        // Fine layouts (a report's hundreds of buckets) are searched; the usual dozen are scanned.
        guard count <= 64 else {
            var low = 0
            var high = count
            while low < high {
                let mid = (low + high) / 2
                if bounds[start + mid] < x { low = mid + 1 } else { high = mid }
            }
            return low
        }
        var below = 0
        for k in 0..<count where bounds[start + k] < x { below += 1 }
        return below
    }

    static func observation(_ observation: Aggregation.Observation) -> Observation {
        switch observation {
        case .requests: .requests
        case .responseFlags: .responseFlags
        case .duration: .duration
        case .requestBytes: .requestBytes
        case .responseBytes: .responseBytes
        case .upstreamServiceTime: .upstreamServiceTime
        case .tcpConnections: .tcpConnections
        case .tcpSentBytes: .tcpSentBytes
        case .tcpReceivedBytes: .tcpReceivedBytes
        case .tcpDuration: .tcpDuration
        }
    }
}
