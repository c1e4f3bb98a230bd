// MARK: - Merging

extension NativeHistogram {
    /// Adds the observations of `other` to this histogram.
    ///
    /// Both histograms are first brought to the lower of the two schemas (exactly, see
    /// ``reduceResolution(to:)``), then bucket counts with equal indexes are added. If the
    /// result has more than ``maxBuckets`` populated buckets, the resolution is halved as
    /// ``observe(_:)`` would. The result keeps this histogram's ``maxBuckets``.
    ///
    /// With equal zero thresholds and bucket limits, merging is exact for all counts and
    /// commutative and associative for them: the resulting schema is the highest schema, at most
    /// the lowest input schema, at which the union fits ``maxBuckets``, whatever the order.
    /// ``sum`` is floating-point addition, commutative but only approximately associative.
    ///
    /// With different zero thresholds, the native histogram specification's rule applies: the
    /// larger threshold is taken and, while it falls inside a populated bucket of either
    /// histogram, raised to that bucket's upper bound; buckets entirely inside the new zero
    /// bucket move into it. logmetrics never changes a threshold on its own, so this only
    /// happens when histograms built with different settings are merged.
    public mutating func merge(_ other: NativeHistogram) {
        var other = other
        let target = min(schema, other.schema)
        reduceResolution(to: target)
        other.reduceResolution(to: target)
        if zeroThreshold != other.zeroThreshold {
            var threshold = max(zeroThreshold, other.zeroThreshold)
            while true {
                let widened = other.widenZeroBucket(to: widenZeroBucket(to: threshold))
                if widened == threshold {
                    break
                }
                threshold = widened
            }
        }
        positive.add(other.positive)
        negative.add(other.negative)
        zeroCount &+= other.zeroCount
        count &+= other.count
        sum += other.sum
        reduceResolutionToFitBucketLimit()
    }

    /// Returns the merge of this histogram and `other`; see ``merge(_:)``.
    public func merging(_ other: NativeHistogram) -> NativeHistogram {
        var result = self
        result.merge(other)
        return result
    }

    /// Raises the zero threshold to at least `threshold`, moving every bucket that reaches below
    /// it into the zero bucket, and returns the new threshold: `threshold`, or the upper bound
    /// of the highest bucket it cut through.
    mutating func widenZeroBucket(to threshold: Double) -> Double {
        var widened = max(threshold, zeroThreshold)
        while true {
            let before = widened
            widened = Self.absorb(&positive, below: widened, schema: schema, into: &zeroCount)
            widened = Self.absorb(&negative, below: widened, schema: schema, into: &zeroCount)
            if widened == before {
                break
            }
        }
        zeroThreshold = widened
        return widened
    }

    /// Moves the buckets whose lower end is below `threshold` into `zeroCount`; returns
    /// `threshold` raised to the upper bound of any bucket that straddled it.
    private static func absorb(
        _ buckets: inout NativeBucketList, below threshold: Double, schema: Int, into zeroCount: inout UInt64
    ) -> Double {
        var threshold = threshold
        var absorbed = 0
        // Sorted by index, so by magnitude: stop at the first bucket entirely above threshold.
        for bucket in buckets.buckets {
            let index = Int(bucket.index)
            guard upperBound(ofBucket: index - 1, schema: schema) < threshold else {
                break
            }
            zeroCount &+= bucket.count
            threshold = max(threshold, upperBound(ofBucket: index, schema: schema))
            absorbed += 1
        }
        buckets.removeFirst(absorbed)
        return threshold
    }
}
