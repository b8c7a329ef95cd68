import ArgumentParser
import Foundation

struct WireBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire",
        abstract: "Unary echo calls/s and latency: CXWire side by side with a bare SwiftNIO echo.",
        discussion: """
            Both run in this process on 127.0.0.1 with the same framing and payload; the bare \
            echo has no envelope, no dispatch and no tasks. Each level runs the bare echo, \
            then CXWire, with a warm-up before each measured window.
            """)

    @Option(help: "Seconds measured per run.")
    var duration: Double = 5

    @Option(help: "Seconds of warm-up before each measured window.")
    var warmup: Double = 1

    @Option(help: "Connections x calls in flight per connection, comma-separated.")
    var levels: String = "1x1,16x1,16x8"

    @Option(help: "Echo payload size in bytes.")
    var payload: Int = 32

    @Option(help: "Which to run, comma-separated: bare (the reference), bare-protobuf (the bare echo with the Echo messages encoded and decoded by swift-protobuf: a floor for any protobuf RPC), bare-async (the bare server, each call awaited by a task), cxwire (CXWire client and server, each call awaited by a task), cxwire-loop (the same, calls kept in flight on the event loops through the client's callback API, no tasks), server (CXWire server driven by a pipelined NIO client), grpc (grpc-swift-2 over HTTP/2; `compare` runs it beside the others).")
    var implementations: String = "bare,cxwire-loop,cxwire"

    @Option(help: "Where grpc's tasks run: dispatch (Swift's own pool), nio (NIO's event loops, as CXWire's) or loop (one event loop for all of gRPC).")
    var grpcExecutor: GRPCEcho.Executor = .dispatch

    @Option(help: "Where servers and clients run: shared (both on NIO's loops, one per core; a connection's two ends on one loop or two as the round-robin falls) or split (the servers on one loop, the clients on another, as two one-thread processes; bare, bare-protobuf, server and cxwire-loop only).")
    var loops: BenchLoops.Placement = .shared

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    func validate() throws {
        guard duration > 0, duration <= 600 else { throw ValidationError("--duration: \(duration) must be in (0, 600]") }
        guard warmup >= 0, warmup <= 60 else { throw ValidationError("--warmup: \(warmup) must be in [0, 60]") }
        guard (0...(1 << 20)).contains(payload) else { throw ValidationError("--payload: \(payload) must be 0 to 1048576") }
        if loops == .split {
            let placed: Set<String> = ["bare", "bare-protobuf", "server", "cxwire-loop"]
            for name in implementations.split(separator: ",").map({ $0.lowercased() }) where !placed.contains(name) {
                throw ValidationError("--loops split: \(name) keeps its own placement; split runs bare, bare-protobuf, server and cxwire-loop")
            }
        }
        for level in levels.split(separator: ",") where Concurrency(String(level)) == nil {
            throw ValidationError("--levels: \"\(level)\" is not CONNECTIONSxINFLIGHT (at most 4096 calls in flight)")
        }
    }

    func run() async throws {
        let parsed = levels.split(separator: ",").compactMap { Concurrency(String($0)) }
        BenchLoops.placement = loops
        if !json {
            print("CXWire vs bare SwiftNIO echo, \(payload)-byte payload, \(duration)s per run after \(warmup)s warm-up, \(ProcessInfo.processInfo.activeProcessorCount) cores, \(loops == .split ? "servers on one loop and clients on another" : "servers and clients on NIO's shared loops")")
            print(row("level", "implementation", "calls/s", "p50 µs", "p99 µs", "p99.9 µs", "errors", "vs bare"))
        }
        let chosen = Set(implementations.split(separator: ",").map { $0.lowercased() })
        for level in parsed {
            var bare: LoadResult?
            if chosen.contains("bare") {
                bare = try await BareEcho.run(concurrency: level, payloadSize: payload, window: Window(warmup: warmup, duration: duration))
                report(level, "bare NIO echo", bare!, reference: nil)
            }
            if chosen.contains("bare-protobuf") {
                let floor = try await BareProtobufEcho.run(concurrency: level, payloadSize: payload, window: Window(warmup: warmup, duration: duration))
                report(level, "bare + protobuf", floor, reference: bare)
            }
            if chosen.contains("bare-async") {
                let bareAsync = try await BareAsyncEcho.run(concurrency: level, payloadSize: payload, window: Window(warmup: warmup, duration: duration))
                report(level, "bare async", bareAsync, reference: bare)
            }
            if chosen.contains("server") {
                let serverOnly = try await CXWireServerOnly.run(concurrency: level, payloadSize: payload, window: Window(warmup: warmup, duration: duration))
                report(level, "CXWire server", serverOnly, reference: bare)
            }
            if chosen.contains("grpc") {
                let grpc = try await GRPCEcho.run(concurrency: level, payloadSize: payload, window: Window(warmup: warmup, duration: duration), flushCoalescing: true, executor: grpcExecutor)
                report(level, "gRPC HTTP/2", grpc, reference: bare)
            }
            if chosen.contains("cxwire-loop") {
                let wire = try await CXWireLoopEcho.run(concurrency: level, payloadSize: payload, window: Window(warmup: warmup, duration: duration))
                report(level, "CXWire on loops", wire, reference: bare)
            }
            if chosen.contains("cxwire") {
                let wire = try await CXWireEcho.run(concurrency: level, payloadSize: payload, window: Window(warmup: warmup, duration: duration))
                report(level, "CXWire", wire, reference: bare)
            }
        }
    }

    private func report(_ level: Concurrency, _ name: String, _ result: LoadResult, reference: LoadResult?) {
        let ratio = reference.map { $0.callsPerSecond > 0 ? result.callsPerSecond / $0.callsPerSecond : 0 }
        if json {
            var object: [String: Any] = [
                "level": level.description, "implementation": name, "calls_per_second": result.callsPerSecond.rounded(),
                "p50_us": result.microseconds(atPercentile: 50), "p99_us": result.microseconds(atPercentile: 99),
                "p999_us": result.microseconds(atPercentile: 99.9), "errors": result.errors,
            ]
            if let ratio { object["ratio_to_bare"] = (ratio * 1000).rounded() / 1000 }
            let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(row(
                level.description, name, String(format: "%.0f", result.callsPerSecond),
                String(format: "%.0f", result.microseconds(atPercentile: 50)),
                String(format: "%.0f", result.microseconds(atPercentile: 99)),
                String(format: "%.0f", result.microseconds(atPercentile: 99.9)),
                "\(result.errors)", ratio.map { String(format: "%.2f", $0) } ?? "-"))
        }
    }

    private func row(_ cells: String...) -> String {
        let widths = [6, 16, 10, 8, 8, 9, 7, 7]
        return zip(cells, widths).map { $0.padding(toLength: max($1, $0.count), withPad: " ", startingAt: 0) }.joined(separator: " ")
    }
}
