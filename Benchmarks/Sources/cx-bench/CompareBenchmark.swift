import ArgumentParser
import Foundation

extension GRPCEcho.Executor: ExpressibleByArgument {
    var summary: String {
        switch self {
        case .dispatch: "Dispatch (Swift's own pool)"
        case .nio: "NIO's event loops"
        case .loop: "one event loop of its own, with its I/O"
        }
    }
}

struct CompareBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "One run for the comparison: CXWire vs grpc-swift-2 vs a bare SwiftNIO echo, then CXStore vs raw SQLite.",
        discussion: """
            Unary Echo with the same payload over 127.0.0.1, all in this process: the bare \
            SwiftNIO length-prefixed echo (see `wire`), the bare echo with the Echo messages \
            encoded and decoded by swift-protobuf (the floor for any protobuf RPC), the same bare \
            server with each call awaited by a Swift task as CXWire's calls are, grpc-swift-2 over HTTP/2 (GRPCCore 2.4.3, \
            grpc-swift-nio-transport 2.9.2, plaintext, one GRPCClient per connection, the same \
            Cx_Wire_V1_EchoRequest), and CXWire's client and server twice: each call awaited by a task, \
            and calls kept in flight on the event loops through the client's callback API, as the \
            bare client keeps its own. Each level runs the six in that order with a warm-up before \
            each measured window. Then `store` (group commit vs \
            raw SQLite, both synchronous=FULL in WAL), and a summary with the ratios and targets.

            With --rounds N the echo runs are repeated N times, every other round in the reverse \
            order, and the summary and targets take the median over the rounds of each figure and \
            of each ratio within a round: on 2 cores shared with a hypervisor, two runs of the same \
            code one after the other differ by a tenth or more, so a ratio from one round says little.
            """)

    @Option(help: "Seconds measured per echo run.")
    var duration: Double = 3

    @Option(help: "Seconds of warm-up before each measured window.")
    var warmup: Double = 1

    @Option(help: "Connections x calls in flight per connection, comma-separated.")
    var levels: String = "1x1,16x1,16x8"

    @Option(help: "Echo payload size in bytes, the same for all three.")
    var payload: Int = 32

    enum Toggle: String, ExpressibleByArgument, CaseIterable { case on, off }

    @Option(help: "gRPC's flush coalescing (waits up to 100 µs before each flush; on by default in grpc-swift-nio-transport): on or off.")
    var grpcFlushCoalescing: Toggle = .on

    @Option(help: "Where gRPC's tasks run: dispatch (Swift's own pool, as gRPC's performance worker runs), nio (NIO's event loops, cx-bench's global executor) or loop (one event loop for all of gRPC, tasks and I/O: no thread switches, one core).")
    var grpcExecutor: GRPCEcho.Executor = .dispatch

    @Option(help: "Rounds of the echo runs, every other one in reverse order; with more than one, the summary and targets are medians over the rounds.")
    var rounds: Int = 1

    @Option(help: "Seconds measured per store run (0 skips the store).")
    var storeDuration: Double = 3

    @Option(help: "Rounds of the store's runs (see `cx-bench store --rounds`): with more than one, the store's figures are medians of per-round ratios.")
    var storeRounds: Int = 1

    func validate() throws {
        guard duration > 0, duration <= 600 else { throw ValidationError("--duration: \(duration) must be in (0, 600]") }
        guard warmup >= 0, warmup <= 60 else { throw ValidationError("--warmup: \(warmup) must be in [0, 60]") }
        guard (0...(1 << 20)).contains(payload) else { throw ValidationError("--payload: \(payload) must be 0 to 1048576") }
        guard storeDuration >= 0, storeDuration <= 600 else { throw ValidationError("--store-duration: \(storeDuration) must be in [0, 600]") }
        guard (1...20).contains(rounds) else { throw ValidationError("--rounds: \(rounds) must be 1 to 20") }
        guard (1...100).contains(storeRounds) else { throw ValidationError("--store-rounds: \(storeRounds) must be 1 to 100") }
        for level in levels.split(separator: ",") where Concurrency(String(level)) == nil {
            throw ValidationError("--levels: \"\(level)\" is not CONNECTIONSxINFLIGHT (at most 4096 calls in flight)")
        }
    }

    struct Level {
        var level: Concurrency
        var bare: LoadResult
        var floor: LoadResult
        var bareAsync: LoadResult
        var grpc: LoadResult
        var cxwire: LoadResult
        var cxwireLoop: LoadResult
    }

    func run() async throws {
        let parsed = levels.split(separator: ",").compactMap { Concurrency(String($0)) }
        let executor =
            switch ProcessInfo.processInfo.environment["CX_BENCH_EXECUTOR"] {
            case "default": "Swift's default pool"
            case "nio": "NIO's event loops (NIO's take-over)"
            default: "NIO's event loops"
            }
        print("Unary echo, \(payload)-byte payload, 127.0.0.1, \(duration)s per run after \(warmup)s warm-up, \(ProcessInfo.processInfo.activeProcessorCount) cores, tasks on \(executor), gRPC's tasks on \(grpcExecutor.summary), gRPC flush coalescing \(grpcFlushCoalescing.rawValue)")
        print("(cpu: cores this process kept busy during the run, warm-up included; others: cores used by other processes or stolen by the hypervisor)")
        print(row("level", "implementation", "calls/s", "p50 µs", "p99 µs", "p99.9 µs", "errors", "cpu", "others"))
        var rounds: [[Level]] = []
        for round in 1...self.rounds {
            if self.rounds > 1 { print("round \(round) of \(self.rounds)\(round % 2 == 0 ? ", in reverse order" : "")") }
            var measured: [Level] = []
            for level in parsed {
                measured.append(try await measure(level, reversed: round % 2 == 0))
            }
            rounds.append(measured)
        }

        var store: StoreBenchmark.Figures?
        if storeDuration > 0 {
            print("")
            store = try await StoreBenchmark.parse(["--duration", String(storeDuration), "--rounds", String(storeRounds)]).measure()
        }

        print("")
        print("Summary")
        print("(bare: the pipelined NIO client, calls kept in flight inside a channel handler; bare async: the same server, each call awaited by a task as CXWire's are; CXWire: each call awaited by a task; on loops: CXWire's calls kept in flight on the event loops, as the bare client's)")
        print(summaryRow(
            "level", "CXWire/s", "loops/s", "gRPC/s", "bare/s", "b.async/s", "CXWire/gRPC", "loops/bare", "CXWire/b.async", "CXWire p50/p99 µs",
            "gRPC p50/p99 µs", "bare p50/p99 µs"))
        if rounds.count > 1 {
            print("(medians over \(rounds.count) rounds; each ratio is the median of the rounds' own ratios)")
        }
        let levelsMeasured = rounds[0].indices.map { index in rounds.map { $0[index] } }
        for runs in levelsMeasured {
            summary(runs)
        }
        if let store {
            print(String(
                format: "store: group commit (%d writers) %.0f rows/s, raw SQLite (100 rows/transaction) %.0f rows/s: %.2f of raw (%.2f flushing in each commit); one transaction per write %.0f rows/s",
                store.writers, store.groupCommit, store.raw, store.groupCommitOfRaw, store.inCommitOfRaw, store.alone))
        }
        print("")
        print("Targets")
        let byLevel = Dictionary(levelsMeasured.map { ($0[0].level, $0) }, uniquingKeysWith: { first, _ in first })
        if let runs = byLevel[Concurrency(connections: 16, inFlight: 8)] {
            let vsGRPC = median(runs) { ratio($0.cxwire, $0.grpc) }
            target(String(format: "CXWire >= 2x gRPC calls/s at 16x8: %.2fx", vsGRPC) + spread(runs) { ratio($0.cxwire, $0.grpc) }, met: vsGRPC >= 2)
            let vsBare = median(runs) { ratio($0.cxwireLoop, $0.bare) }
            target(
                String(format: "CXWire >= 2/3 of bare NIO echo calls/s at 16x8, both with calls kept in flight on the loops: %.2f", vsBare)
                    + spread(runs) { ratio($0.cxwireLoop, $0.bare) },
                met: vsBare >= 2.0 / 3.0)
            print(String(format: "  (the bare echo with only swift-protobuf's encoding and decoding of the Echo messages added: %.2f of bare; CXWire on loops: %.2f of that)",
                median(runs) { ratio($0.floor, $0.bare) }, median(runs) { ratio($0.cxwireLoop, $0.floor) }))
            print(String(format: "  (CXWire's awaited calls against the bare echo's pipelined ones: %.2f; against the bare echo's awaited calls: %.2f)",
                median(runs) { ratio($0.cxwire, $0.bare) }, median(runs) { ratio($0.cxwire, $0.bareAsync) }))
        } else {
            print("  (16x8 not run)")
        }
        if let runs = byLevel[Concurrency(connections: 16, inFlight: 1)] {
            let p99 = median(runs) { $0.cxwire.microseconds(atPercentile: 99) }
            target(
                String(format: "CXWire p99 at 16x1 < 1 ms: %.0f µs", p99) + spread(runs, format: "%.0f") { $0.cxwire.microseconds(atPercentile: 99) },
                met: p99 < 1_000)
        } else {
            print("  (16x1 not run)")
        }
        let errors = rounds.joined().reduce(UInt64(0)) {
            $0 + $1.bare.errors + $1.floor.errors + $1.bareAsync.errors + $1.grpc.errors + $1.cxwire.errors + $1.cxwireLoop.errors
        }
        if errors > 0 { print("  \(errors) calls failed: see the errors column") }
    }

    /// Runs the six echoes at `level`, each after its own warm-up; in reverse
    /// order when `reversed`, so that across rounds none always goes first.
    private func measure(_ level: Concurrency, reversed: Bool) async throws -> Level {
        let window = { Window(warmup: warmup, duration: duration) }
        let payload = payload
        let grpcFlushCoalescing = grpcFlushCoalescing
        let grpcExecutor = grpcExecutor
        var runs: [(name: String, body: () async throws -> LoadResult)] = [
            ("bare NIO echo", { try await BareEcho.run(concurrency: level, payloadSize: payload, window: window()) }),
            ("bare + protobuf", { try await BareProtobufEcho.run(concurrency: level, payloadSize: payload, window: window()) }),
            ("bare async", { try await BareAsyncEcho.run(concurrency: level, payloadSize: payload, window: window()) }),
            ("gRPC HTTP/2", {
                try await GRPCEcho.run(
                    concurrency: level, payloadSize: payload, window: window(),
                    flushCoalescing: grpcFlushCoalescing == .on, executor: grpcExecutor)
            }),
            ("CXWire", { try await CXWireEcho.run(concurrency: level, payloadSize: payload, window: window()) }),
            ("CXWire on loops", { try await CXWireLoopEcho.run(concurrency: level, payloadSize: payload, window: window()) }),
        ]
        if reversed { runs.reverse() }
        var results: [String: LoadResult] = [:]
        for run in runs {
            let start = CPUUsage.sample()
            // A run takes its warm-up and window, plus setting up and tearing down.
            let limit = Duration.seconds(warmup + duration + 60)
            let result = try await RunWatchdog.guarding("\(run.name) at \(level)", within: limit, run.body)
            let cores = start.flatMap { start in CPUUsage.sample()?.cores(since: start) }
            report(level, run.name, result, cores: cores)
            results[run.name] = result
        }
        return Level(
            level: level, bare: results["bare NIO echo"]!, floor: results["bare + protobuf"]!, bareAsync: results["bare async"]!,
            grpc: results["gRPC HTTP/2"]!, cxwire: results["CXWire"]!, cxwireLoop: results["CXWire on loops"]!)
    }

    /// The median over rounds of `value`, each taken within its own round.
    private func median(_ runs: [Level], _ value: (Level) -> Double) -> Double {
        cxMedian(runs.map(value))
    }

    /// " (lowest-highest over N rounds)" when there was more than one round.
    private func spread(_ runs: [Level], format: String = "%.2f", _ value: (Level) -> Double) -> String {
        guard runs.count > 1 else { return "" }
        let values = runs.map(value)
        return " (" + String(format: format, values.min()!) + "-" + String(format: format, values.max()!) + " over \(runs.count) rounds)"
    }

    private func ratio(_ a: LoadResult, _ b: LoadResult) -> Double {
        b.callsPerSecond > 0 ? a.callsPerSecond / b.callsPerSecond : 0
    }

    private func target(_ text: String, met: Bool) {
        print("  \(text)  \(met ? "met" : "NOT met")")
    }

    private func report(_ level: Concurrency, _ name: String, _ result: LoadResult, cores: (process: Double, others: Double)?) {
        print(row(
            level.description, name, String(format: "%.0f", result.callsPerSecond),
            String(format: "%.0f", result.microseconds(atPercentile: 50)),
            String(format: "%.0f", result.microseconds(atPercentile: 99)),
            String(format: "%.0f", result.microseconds(atPercentile: 99.9)),
            "\(result.errors)",
            cores.map { String(format: "%.2f", $0.process) } ?? "-",
            cores.map { String(format: "%.2f", $0.others) } ?? "-"))
    }

    private func summary(_ runs: [Level]) {
        func calls(_ result: (Level) -> LoadResult) -> String {
            String(format: "%.0f", median(runs) { result($0).callsPerSecond })
        }
        func latency(_ result: (Level) -> LoadResult) -> String {
            String(format: "%.0f/%.0f", median(runs) { result($0).microseconds(atPercentile: 50) }, median(runs) { result($0).microseconds(atPercentile: 99) })
        }
        print(summaryRow(
            runs[0].level.description,
            calls(\.cxwire), calls(\.cxwireLoop), calls(\.grpc), calls(\.bare), calls(\.bareAsync),
            String(format: "%.2f", median(runs) { ratio($0.cxwire, $0.grpc) }),
            String(format: "%.2f", median(runs) { ratio($0.cxwireLoop, $0.bare) }),
            String(format: "%.2f", median(runs) { ratio($0.cxwire, $0.bareAsync) }),
            latency(\.cxwire), latency(\.grpc), latency(\.bare)))
    }

    private func row(_ cells: String...) -> String {
        pad(cells, [6, 16, 10, 8, 8, 9, 7, 5, 6])
    }

    private func summaryRow(_ cells: String...) -> String {
        pad(cells, [6, 9, 9, 9, 9, 9, 12, 11, 15, 18, 16, 16])
    }

    private func pad(_ cells: [String], _ widths: [Int]) -> String {
        zip(cells, widths).map { $0.padding(toLength: max($1, $0.count), withPad: " ", startingAt: 0) }.joined(separator: " ")
    }
}
