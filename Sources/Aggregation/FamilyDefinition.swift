import Exposition
import Histograms

/// One metric family: its name, what it observes, and which labels key its series.
public struct FamilyDefinition: Sendable {
    public struct Label: Sendable, Equatable {
        public var name: String
        public var source: LabelSource

        public init(_ name: String, _ source: LabelSource) {
            self.name = name
            self.source = source
        }
    }

    /// The family name; counters without `_total` (the writers add it).
    public var name: String
    public var help: String
    public var type: MetricType
    public var unit: String?
    public var observation: Observation
    public var labels: [Label]
    /// Histograms: bucket bounds in the family's unit.
    public var buckets: BucketLayout?
    /// Histograms: observations (milliseconds or bytes) per unit of the family, e.g. 1000 for a
    /// histogram in seconds fed with milliseconds.
    public var observationsPerUnit: Int
    /// Histograms: also keep a native (exponential) histogram per series, sent to scrapers that
    /// negotiate the protobuf format. Nil keeps only the classic buckets.
    public var native: NativeHistogramSettings?
    /// Keep the latest trace or request id per series (per bucket for histograms) as an
    /// exemplar, written in OpenMetrics and protobuf scrapes.
    public var exemplars: Bool

    public init(
        name: String, help: String, type: MetricType, unit: String? = nil, observation: Observation,
        labels: [Label], buckets: BucketLayout? = nil, observationsPerUnit: Int = 1,
        native: NativeHistogramSettings? = nil, exemplars: Bool = false
    ) {
        self.name = name
        self.help = help
        self.type = type
        self.unit = unit
        self.observation = observation
        self.labels = labels
        self.buckets = buckets
        self.observationsPerUnit = observationsPerUnit
        self.native = native
        self.exemplars = exemplars
    }

    /// The power of ten that turns an observation into the family's unit (-3 for ms -> s).
    var sumExponent: Int {
        var exponent = 0
        var scale = observationsPerUnit
        while scale >= 10 && scale % 10 == 0 {
            scale /= 10
            exponent -= 1
        }
        return exponent
    }
}
