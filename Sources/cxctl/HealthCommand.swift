import ArgumentParser
import CXModel
import CXWire
import Foundation

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Ask services whether they are serving.",
        discussion: """
            SERVICE is profiles, loyalty, journey, feedback, a host:port, or all (the default). \
            Exits 1 when any service asked is unreachable or not serving.
            """)

    @Argument(help: "profiles, loyalty, journey, feedback, host:port, or all.")
    var service: String = "all"

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        if connection.addr != nil && service == "all" {
            throw ValidationError("--addr names one service's address; it cannot go with \"all\"")
        }
        let names = service == "all" ? CXServiceName.allCases.map(\.rawValue) : [service]
        let targets = try names.map { try connection.target($0) }
        let options = connection.callOptions
        let connectionOptions = self.connection
        let results = await withTaskGroup(of: (Int, Row).self) { group in
            for (index, target) in targets.enumerated() {
                group.addTask {
                    let started = ContinuousClock.now
                    do {
                        let client = try connectionOptions.client(for: target)
                        defer { Task { await client.close() } }
                        let response = try await client.call(Cx_Wire_V1_Health.check, .init(), options: options)
                        return (index, Row(target: target, response: response, latency: ContinuousClock.now - started, error: nil))
                    } catch {
                        return (index, Row(target: target, response: nil, latency: ContinuousClock.now - started, error: error))
                    }
                }
            }
            var rows: [(Int, Row)] = []
            for await row in group { rows.append(row) }
            return rows.sorted { $0.0 < $1.0 }.map(\.1)
        }

        if output.format == .json {
            printJSON(results.map(\.jsonObject))
        } else {
            var table = Table("SERVICE", "ADDRESS", "STATUS", "VERSION", "UP", "CONNS", "IN-FLIGHT", "LATENCY", "DETAIL")
            for row in results { table.append(row.cells) }
            print(table.render())
        }
        if results.contains(where: { !$0.serving }) { throw ExitCode(1) }
    }

    struct Row: Sendable {
        var target: Target
        var response: Cx_Wire_V1_HealthCheckResponse?
        var latency: Duration
        var error: (any Error)?

        var serving: Bool { response?.status == .serving }

        var status: String {
            if let response { return response.status == .serving ? "SERVING" : "NOT_SERVING" }
            return (error as? RPCError)?.code == .unavailable ? "UNREACHABLE" : "ERROR"
        }

        var detail: String {
            if let response { return response.detail }
            return (error as? RPCError)?.message ?? "\(error.map { "\($0)" } ?? "")"
        }

        var uptime: TimeInterval? {
            guard let response, response.hasStartedAt else { return nil }
            return max(0, Date().timeIntervalSince(response.startedAt.date))
        }

        var cells: [String] {
            guard let response else {
                return [target.name, target.address, status, "-", "-", "-", "-", "-", detail]
            }
            return [
                target.name, target.address, status, response.version, uptime.map(Self.describe) ?? "-",
                "\(response.connections)", "\(response.callsInFlight)", Self.describe(latency), detail,
            ]
        }

        var jsonObject: [String: Any] {
            var object: [String: Any] = ["service": target.name, "address": target.address, "status": status]
            if let response {
                object["version"] = response.version
                object["server"] = response.server
                object["connections"] = response.connections
                object["calls_in_flight"] = response.callsInFlight
                object["uptime_seconds"] = uptime.map { Int($0) } ?? 0
                object["latency_ms"] = Double(latency.components.attoseconds) / 1e15 + Double(latency.components.seconds) * 1e3
            }
            if !detail.isEmpty { object["detail"] = detail }
            return object
        }

        static func describe(_ seconds: TimeInterval) -> String {
            let total = Int(seconds)
            if total < 60 { return "\(total)s" }
            if total < 3_600 { return "\(total / 60)m\(total % 60)s" }
            if total < 86_400 { return "\(total / 3_600)h\(total % 3_600 / 60)m" }
            return "\(total / 86_400)d\(total % 86_400 / 3_600)h"
        }

        static func describe(_ duration: Duration) -> String {
            let ms = Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
            return String(format: "%.1f ms", ms)
        }
    }
}
