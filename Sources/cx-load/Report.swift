import CXModel
import Foundation
import Histogram

/// Numbers as people read them.
enum Format {
    /// 12,345
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// 2,000 or 2.5
    static func number(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return grouped(Int(value)) }
        return String(format: "%.1f", value)
    }

    /// Microseconds as milliseconds, to three significant digits or so.
    static func milliseconds(_ micros: UInt64) -> String {
        let ms = Double(micros) / 1_000
        if ms < 10 { return String(format: "%.2f ms", ms) }
        if ms < 100 { return String(format: "%.1f ms", ms) }
        return "\(grouped(Int(ms.rounded()))) ms"
    }

    /// Columns padded to their widest cell as a terminal shows it (Persian included).
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = all.map { $0.map(CXText.displayWidth) }
        var column = [Int](repeating: 0, count: header.count)
        for row in widths { for (index, width) in row.enumerated() where index < column.count { column[index] = max(column[index], width) } }
        return zip(all, widths).map { row, rowWidths in
            var line = ""
            for (index, cell) in row.enumerated() {
                line += cell
                if index < row.count - 1 { line += String(repeating: " ", count: column[index] - rowWidths[index] + 2) }
            }
            return line
        }.joined(separator: "\n")
    }
}

/// What a run came to: the measured calls, the warm-up, and what was seeded.
struct LoadReport {
    var scenario: Scenario
    var run: RunIdentity
    var targets: [(service: String, address: String)]
    var connections: Int
    var inFlight: Int
    var schedule: Schedule?
    var seeded: [String]
    var warmup: PhaseOutcome?
    var measured: PhaseOutcome

    private var tally: Tally { measured.tally }

    private func percentile(_ value: Double) -> UInt64 { tally.ok > 0 ? tally.latency.valueAtPercentile(value) : 0 }

    private var mode: String {
        schedule?.description ?? "closed loop"
    }

    func json() -> [String: Any] {
        var object: [String: Any] = [
            "service": scenario.service,
            "scenario": scenario.name,
            "run_id": run.runID,
            "seed": run.seed,
            "customers": run.customers,
            "customer_ids": "\(run.customerID(0)) ... \(run.customerID(run.customers - 1))",
            "targets": Dictionary(uniqueKeysWithValues: targets.map { ($0.service, $0.address) }),
            "mode": schedule == nil ? "closed" : "open",
            "connections": connections,
            "in_flight": inFlight,
            "seeded": seeded,
            "calls": tally.calls,
            "ok": tally.ok,
            "errors": tally.errors,
            "errors_by_code": tally.errorsByCode,
            "seconds": rounded(measured.seconds),
            "calls_per_second": rounded(measured.seconds > 0 ? Double(tally.calls) / measured.seconds : 0),
            "ok_per_second": rounded(measured.seconds > 0 ? Double(tally.ok) / measured.seconds : 0),
            "latency_ms": [
                "p50": ms(percentile(50)), "p90": ms(percentile(90)), "p99": ms(percentile(99)), "p99_9": ms(percentile(99.9)),
                "max": ms(tally.ok > 0 ? tally.latency.max : 0), "min": ms(tally.ok > 0 ? tally.latency.min : 0),
                "mean": rounded(tally.ok > 0 ? tally.latency.mean / 1_000 : 0),
            ] as [String: Any],
            "methods": methodsJSON(tally),
            "counters": tally.counters,
            "first_errors": tally.firstErrors,
        ]
        if schedule != nil { object["unsent"] = measured.unsent }
        if let schedule {
            object["schedule"] = schedule.shape.rawValue
            object["rate"] = schedule.rate
            if schedule.shape != .constant {
                object["rate_start"] = schedule.startRate
                if schedule.shape == .step { object["steps"] = schedule.steps }
            }
        }
        if let warmup {
            object["warmup"] = [
                "seconds": rounded(warmup.seconds), "calls": warmup.tally.calls, "ok": warmup.tally.ok, "errors": warmup.tally.errors,
                "errors_by_code": warmup.tally.errorsByCode, "methods": methodsJSON(warmup.tally), "counters": warmup.tally.counters,
            ] as [String: Any]
        }
        return object
    }

    private func methodsJSON(_ tally: Tally) -> [String: Any] {
        var methods: [String: Any] = [:]
        for (name, method) in tally.methods {
            methods[name] = [
                "service": method.service, "ok": method.ok, "errors": method.errors,
                "p50_ms": ms(method.ok > 0 ? method.latency.valueAtPercentile(50) : 0),
                "p99_ms": ms(method.ok > 0 ? method.latency.valueAtPercentile(99) : 0),
            ] as [String: Any]
        }
        return methods
    }

    private func ms(_ micros: UInt64) -> Double { rounded(Double(micros) / 1_000) }
    private func rounded(_ value: Double) -> Double { (value * 1_000).rounded() / 1_000 }

    func table() -> String {
        var lines: [String] = []
        lines.append(
            "cx-load \(scenario.service) \(scenario.name): \(mode), \(connections) connections x \(inFlight) in flight; "
                + "run \(run.runID), seed \(run.seed) (\(Format.grouped(run.customers)) customers)")
        for target in targets { lines.append("  target  \(target.service) \(target.address)") }
        for line in seeded { lines.append("  seeded  \(line)") }
        if let warmup {
            lines.append(
                "  warm-up \(String(format: "%.1f", warmup.seconds)) s: \(Format.grouped(warmup.tally.calls)) calls, "
                    + "\(Format.grouped(warmup.tally.errors)) errors (not in the figures below)")
        }
        lines.append("")
        let seconds = measured.seconds
        let rate = seconds > 0 ? Double(tally.calls) / seconds : 0
        lines.append(
            Format.table(
                ["CALLS", "OK", "ERRORS", "SECONDS", "CALLS/S", "P50", "P90", "P99", "P99.9", "MAX"],
                [[
                    Format.grouped(tally.calls), Format.grouped(tally.ok), Format.grouped(tally.errors), String(format: "%.2f", seconds),
                    Format.grouped(Int(rate.rounded())),
                    Format.milliseconds(percentile(50)), Format.milliseconds(percentile(90)), Format.milliseconds(percentile(99)),
                    Format.milliseconds(percentile(99.9)), Format.milliseconds(tally.ok > 0 ? tally.latency.max : 0),
                ]]))
        if schedule != nil {
            lines.append("(open loop: latency counts from when each call was due, so a backlog shows, as in wrk2)")
            if measured.unsent > 0 {
                lines.append(
                    "\(Format.grouped(measured.unsent)) more calls were due but never sent: all \(connections * inFlight) workers were still "
                        + "waiting for answers; the rate is more than the service (or cx-load, or --in-flight) keeps up with")
            }
        }
        lines.append("")
        let methods = tally.methods.sorted { ($0.value.ok + $0.value.errors, $1.key) > ($1.value.ok + $1.value.errors, $0.key) }
        lines.append(
            Format.table(
                ["METHOD", "SERVICE", "OK", "ERRORS", "SHARE", "P50", "P99"],
                methods.map { name, method in
                    [
                        name, method.service, Format.grouped(method.ok), Format.grouped(method.errors),
                        String(format: "%.0f%%", tally.calls > 0 ? Double(method.ok + method.errors) * 100 / Double(tally.calls) : 0),
                        method.ok > 0 ? Format.milliseconds(method.latency.valueAtPercentile(50)) : "-",
                        method.ok > 0 ? Format.milliseconds(method.latency.valueAtPercentile(99)) : "-",
                    ]
                }))
        if !tally.counters.isEmpty {
            lines.append("")
            lines.append(
                "wrote: " + tally.counters.sorted { $0.key < $1.key }.map { "\($0.key.replacingOccurrences(of: "_", with: " ")) \(Format.grouped($0.value))" }
                    .joined(separator: ", "))
        }
        if !tally.errorsByCode.isEmpty {
            lines.append("")
            lines.append(
                Format.table(
                    ["STATUS", "CALLS"],
                    tally.errorsByCode.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { [$0.key, Format.grouped($0.value)] }))
            for message in tally.firstErrors { lines.append("  e.g. \(message)") }
        }
        return lines.joined(separator: "\n")
    }

    /// The whole latency distribution in HdrHistogram's percentile text
    /// format (milliseconds), as wrk2 and HdrHistogram's plotter read it.
    func hdr() -> String {
        var text = ""
        tally.latency.outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1_000)
        return text
    }
}
