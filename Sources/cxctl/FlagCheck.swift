import ArgumentParser
import SwiftProtobuf

/// Checks of flag values that several services' commands share, so a typing
/// mistake is a usage error (exit 64) that names the flag, worded the same
/// way everywhere.
enum FlagCheck {
    /// Text of `range` characters for `flag`.
    static func length(_ text: String, _ range: ClosedRange<Int>, flag: String) throws {
        guard range.contains(text.count) else {
            throw ValidationError(
                range.lowerBound == 0
                    ? "\(flag): \(text.count) characters; at most \(range.upperBound)"
                    : "\(flag): \(text.count) characters; \(range.lowerBound) to \(range.upperBound)")
        }
    }

    /// "key=value" split at its first "=" (the value may hold more); the key
    /// is not empty. `example` shows one in the error ("product=laptop").
    static func pair(_ text: String, flag: String, example: String) throws -> (key: String, value: String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw ValidationError("\(flag): \"\(text)\" is not key=value (such as \(example))")
        }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }
}

/// A contract enum as the command line names it: the lowercase words of the
/// proto's values with "-" between words ("in-store", "after-sales"). Typed
/// in any case, with "_" for "-"; anything else is a usage error that lists
/// the valid words (ArgumentParser's, from `allCases`). `name(_:)` gives the
/// same words back for tables, so what is shown can be typed again.
protocol EnumArgument: CaseIterable, ExpressibleByArgument, RawRepresentable where RawValue == String {
    associatedtype Proto: SwiftProtobuf.Enum
    var proto: Proto { get }
}

extension EnumArgument {
    init?(argument: String) {
        self.init(rawValue: argument.lowercased().replacingOccurrences(of: "_", with: "-"))
    }

    /// The word for `value`; "-" when it is unset.
    static func name(_ value: Proto) -> String {
        if value.rawValue == 0 { return "-" }
        return allCases.first { $0.proto == value }?.rawValue ?? "unknown (\(value.rawValue))"
    }

    /// Every word, for help and error texts: "low, medium, high, critical".
    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
