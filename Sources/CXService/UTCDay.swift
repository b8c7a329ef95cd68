import CXModel
import CXWire
import Foundation
import SwiftProtobuf

/// Whole UTC days, the unit the services' per-day aggregates are kept in
/// (journey's funnel, feedback's scores): day numbers count from 1970-01-01.
public enum UTCDay {
    public static let seconds = 86_400.0
    /// The longest period an analytics call may ask for.
    public static let maxPeriodDays: Int64 = 3_660

    /// The day `time` (seconds since 1970) falls on.
    public static func number(_ time: Double) -> Int64 {
        Int64((time / seconds).rounded(.down))
    }

    /// When day `day` begins, in seconds since 1970.
    public static func start(_ day: Int64) -> Double {
        Double(day) * seconds
    }

    /// A request's [from, to) as day numbers: from rounded down to its day,
    /// an explicit to rounded up (it is exclusive), an unset to the end of
    /// today; an unset from is `defaultDays` before to. Errors name `from`.
    public static func period(
        from: Google_Protobuf_Timestamp?, to: Google_Protobuf_Timestamp?, now: Date, defaultDays: Int64 = 30
    ) throws(RPCError) -> (from: Int64, to: Int64) {
        let endDay = to.map { Int64(($0.date.timeIntervalSince1970 / seconds).rounded(.up)) } ?? number(now.timeIntervalSince1970) + 1
        let startDay = from.map { number($0.date.timeIntervalSince1970) } ?? endDay - defaultDays
        guard startDay < endDay else { throw .invalidArgument(field: "from", "must be before to") }
        guard endDay - startDay <= maxPeriodDays else {
            throw .invalidArgument(field: "from", "the period is \(endDay - startDay) days; at most \(maxPeriodDays)")
        }
        return (startDay, endDay)
    }
}
