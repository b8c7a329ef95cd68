import Foundation
import Histogram

/// Calls completed in the measured window and their latencies (nanoseconds).
struct LoadResult {
    var calls: UInt64 = 0
    var errors: UInt64 = 0
    var seconds: Double = 0
    var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)

    var callsPerSecond: Double { seconds > 0 ? Double(calls) / seconds : 0 }

    func microseconds(atPercentile percentile: Double) -> Double {
        Double(latency.valueAtPercentile(percentile)) / 1_000
    }

    mutating func merge(_ other: LoadResult) {
        calls += other.calls
        errors += other.errors
        latency.add(other.latency)
    }
}

/// Connections x calls in flight on each.
struct Concurrency: CustomStringConvertible, Hashable {
    var connections: Int
    var inFlight: Int

    var description: String { "\(connections)x\(inFlight)" }

    init(connections: Int, inFlight: Int) {
        self.connections = connections
        self.inFlight = inFlight
    }

    init?(_ text: String) {
        let parts = text.split(separator: "x")
        guard parts.count == 2, let connections = Int(parts[0]), let inFlight = Int(parts[1]),
            connections > 0, inFlight > 0, connections * inFlight <= 4_096
        else { return nil }
        self.init(connections: connections, inFlight: inFlight)
    }
}

/// The measured window: calls before `start` warm up, calls after `end` are not counted.
struct Window: Sendable {
    let start: UInt64
    let end: UInt64

    init(warmup: Double, duration: Double) {
        let now = DispatchTime.now().uptimeNanoseconds
        start = now + UInt64(warmup * 1e9)
        end = start + UInt64(duration * 1e9)
    }

    var seconds: Double { Double(end - start) / 1e9 }
    func contains(_ time: UInt64) -> Bool { time >= start && time < end }
    func isOver(_ time: UInt64) -> Bool { time >= end }
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// The median of `values` (the mean of the middle two when their count is
/// even); 0 when there are none.
func cxMedian(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
