import CXModel
import CXWire
import Foundation
import Synchronization

/// Why the demo stopped: a sentence naming the service, its address, the
/// method and what it was doing.
struct DemoFailure: Error, CustomStringConvertible {
    var description: String
    /// Found before the demo wrote anything (a service down, the program).
    var beforeWriting = false
}

/// The four services the demo fills, a client each.
struct DemoServices: Sendable {
    struct Link: Sendable {
        var target: Target
        var client: RPCClient
    }

    let links: [CXServiceName: Link]
    let options: CallOptions

    init(_ connection: ConnectionOptions, connections: Int) throws {
        var links: [CXServiceName: Link] = [:]
        for service in CXServiceName.allCases {
            let target = try connection.target(service.rawValue)
            let client: RPCClient
            do {
                client = try RPCClient(
                    address: target.address,
                    configuration: RPCClientConfiguration(connections: connections, connectTimeout: .seconds(2)))
            } catch {
                throw DemoFailure(description: "address of \(service.rawValue): \"\(target.address)\" is not host:port (\(service.addressVariable))")
            }
            links[service] = Link(target: target, client: client)
        }
        self.links = links
        options = connection.callOptions
    }

    func link(_ service: CXServiceName) -> Link { links[service]! }

    func close() async {
        for link in links.values { await link.client.close() }
    }

    /// Calls `method`, trying again (after 0.5, 1 and 2 s) while the service
    /// is unreachable or too slow: every write the demo makes applies once
    /// however often it is sent. The failure, if any, is returned for the
    /// caller to judge (an ALREADY_EXISTS may be fine).
    func attempt<Request, Response>(
        _ service: CXServiceName, _ method: MethodDescriptor<Request, Response>, _ request: Request
    ) async throws -> Result<Response, RPCError> {
        let client = link(service).client
        var attempts = 0
        while true {
            do {
                return .success(try await client.call(method, request, options: options))
            } catch {
                let failure = error as? RPCError ?? RPCError(code: .unknown, message: "\(error)")
                attempts += 1
                guard attempts < 4, failure.code == .unavailable || failure.code == .deadlineExceeded else { return .failure(failure) }
                try await Task.sleep(for: .milliseconds(250 << attempts))
            }
        }
    }

    /// Calls `method` and fails the demo on any error, naming `what` was
    /// being done.
    func call<Request, Response>(
        _ service: CXServiceName, _ method: MethodDescriptor<Request, Response>, _ request: Request, _ what: @autoclosure () -> String
    ) async throws -> Response {
        switch try await attempt(service, method, request) {
        case .success(let response): return response
        case .failure(let error): throw failure(service, method, error, what())
        }
    }

    /// Calls `method`; nil when the service refused with an answer `fine`
    /// accepts (the thing is there already), else fails the demo.
    func call<Request, Response>(
        _ service: CXServiceName, _ method: MethodDescriptor<Request, Response>, _ request: Request, _ what: @autoclosure () -> String,
        accepting fine: (RPCError) -> Bool
    ) async throws -> Response? {
        switch try await attempt(service, method, request) {
        case .success(let response): return response
        case .failure(let error) where fine(error): return nil
        case .failure(let error): throw failure(service, method, error, what())
        }
    }

    func failure<Request, Response>(
        _ service: CXServiceName, _ method: MethodDescriptor<Request, Response>, _ error: RPCError, _ what: String
    ) -> DemoFailure {
        let target = link(service).target
        let reason = error.reason.isEmpty ? "" : " (\(error.reason))"
        var text = "\(what): \(method.method) on \(service.rawValue) (\(target.address)) failed: \(error.code.name)\(reason): \(error.message)"
        for violation in error.fieldViolations where !error.message.contains(violation.description) {
            text += "\n  \(violation.field): \(violation.description)"
        }
        if error.code == .unauthenticated || error.code == .permissionDenied {
            text += "\nThe demo writes to every service: give it an admin token with --token or $CX_TOKEN."
        }
        return DemoFailure(description: text)
    }
}

extension RPCError {
    /// ALREADY_EXISTS: what the demo would create is there.
    var alreadyExists: Bool { code == .alreadyExists }
}

/// What the demo added and found already there, by service and item.
final class DemoTally: Sendable {
    enum Item: String, CaseIterable, Sendable {
        case customers, segments, personas
        case rewards, accounts, purchases, points = "points earned", refunds, referrals, bonuses = "review bonuses", redemptions
        case touchpoints, events, tasks = "tasks closed", lost = "lost customers"
        case surveys, responses, followUps = "follow-up complaints", complaints = "manual complaints", moves = "complaint moves"

        var service: CXServiceName {
            switch self {
            case .customers, .segments, .personas: .profiles
            case .rewards, .accounts, .purchases, .points, .refunds, .referrals, .bonuses, .redemptions: .loyalty
            case .touchpoints, .events, .tasks, .lost: .journey
            case .surveys, .responses, .followUps, .complaints, .moves: .feedback
            }
        }

        /// Its key in --json output.
        var key: String { rawValue.replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_") }
    }

    struct Count: Sendable {
        var added: Int64 = 0
        var existing: Int64 = 0
    }

    private let counts = Mutex<[Item: Count]>([:])

    func added(_ item: Item, _ count: Int64 = 1) {
        counts.withLock { $0[item, default: Count()].added += count }
    }

    func existing(_ item: Item, _ count: Int64 = 1) {
        counts.withLock { $0[item, default: Count()].existing += count }
    }

    subscript(item: Item) -> Count { counts.withLock { $0[item] ?? Count() } }
}

/// Progress on standard error: one line redrawn in place on a terminal,
/// else a line when each phase ends.
final class DemoProgress: Sendable {
    private struct State {
        var phase = ""
        var done = 0
        var total = 0
        var detail: @Sendable () -> String = { "" }
        var drawn = ContinuousClock.now
        var started = ContinuousClock.now
    }

    let terminal: Bool
    private let state = Mutex(State())

    init(terminal: Bool) { self.terminal = terminal }

    /// Starts a phase of `total` steps; `detail` says what it has done so far.
    func begin(_ phase: String, total: Int, detail: @escaping @Sendable () -> String = { "" }) {
        state.withLock {
            $0.phase = phase
            $0.done = 0
            $0.total = total
            $0.detail = detail
            $0.started = .now
            if terminal { Self.draw($0) }
        }
    }

    func step(_ count: Int = 1) {
        state.withLock {
            $0.done += count
            let now = ContinuousClock.now
            if terminal, now - $0.drawn >= .milliseconds(100) || $0.done == $0.total {
                $0.drawn = now
                Self.draw($0)
            }
        }
    }

    /// Ends the phase: its line stays, with how long it took.
    func end() {
        state.withLock {
            let seconds = Self.seconds(ContinuousClock.now - $0.started)
            let line = Self.line($0) + String(format: " (%.1f s)", seconds)
            writeStderr(terminal ? "\r\u{1B}[K\(line)\n" : "\(line)\n")
        }
    }

    /// Leaves the phase's line as it is, for an error to follow.
    func interrupt() {
        if terminal { writeStderr("\n") }
    }

    /// A line of its own, between phases.
    func note(_ text: String) {
        state.withLock { _ in writeStderr(terminal ? "\r\u{1B}[K\(text)\n" : "\(text)\n") }
    }

    private static func line(_ state: State) -> String {
        let count = state.total > 0 ? " \(LoyaltyFormat.points(Int64(state.done)))/\(LoyaltyFormat.points(Int64(state.total)))" : ""
        let detail = state.detail()
        return "\(state.phase)\(count)\(detail.isEmpty ? "" : ": \(detail)")"
    }

    private static func draw(_ state: State) {
        writeStderr("\r\u{1B}[K\(line(state))")
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Runs `body` for every item with at most `parallel` running at once; the
/// first failure stops the rest.
func demoForEach<Item: Sendable>(
    _ items: [Item], parallel: Int, _ body: @escaping @Sendable (Item) async throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = items.makeIterator()
        for _ in 0..<max(1, parallel) {
            guard let item = next.next() else { break }
            group.addTask { try await body(item) }
        }
        while try await group.next() != nil {
            if let item = next.next() { group.addTask { try await body(item) } }
        }
    }
}
