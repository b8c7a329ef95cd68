import CXModel
import CXWire
import Foundation
import XCTest

/// cx-load against the four real executables, wired to each other: every
/// scenario runs 40 calls, and what its JSON report says it wrote is what
/// the services recorded. Each scenario has a seed of its own, so its
/// customers (and their counts) are its own.
final class LoadTests: XCTestCase {
    typealias Customers = Cx_Profiles_V1_Customers
    typealias Segments = Cx_Profiles_V1_Segments
    typealias Loyalty = Cx_Loyalty_V1_Loyalty
    typealias Journey = Cx_Journey_V1_Journey
    typealias Feedback = Cx_Feedback_V1_Feedback

    private static let calls = 40
    private static let customers = 8
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cx-load-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // No cxctl config or token of whoever runs the tests.
        try Data().write(to: directory.appendingPathComponent("cxctl.conf"))
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private var environment: [String: String] {
        [
            "CX_CONFIG": directory.appendingPathComponent("cxctl.conf").path, "CX_TOKEN": "",
            "CX_PROFILES_ADDR": "", "CX_LOYALTY_ADDR": "", "CX_JOURNEY_ADDR": "", "CX_FEEDBACK_ADDR": "",
        ]
    }

    /// Runs cx-load with `--count 40 --warmup 0 --json` and small seeds; checks
    /// that every call succeeded and returns the report.
    private func load(
        _ arguments: [String], seed: Int, file: StaticString = #filePath, line: UInt = #line
    ) throws -> [String: Any] {
        let all = arguments + [
            "--count", "\(Self.calls)", "--warmup", "0", "--json", "--seed", "\(seed)", "--customers", "\(Self.customers)",
            "--connections", "2", "--in-flight", "4",
        ]
        let result = try runCommand("cx-load", all, environment: environment, timeout: 30)
        XCTAssertEqual(result.status, 0, "cx-load \(all): \(result.stderr)", file: file, line: line)
        guard let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            XCTFail("cx-load \(all) printed no JSON report: \(result.stdout) \(result.stderr)", file: file, line: line)
            return [:]
        }
        XCTAssertEqual(report["calls"] as? Int, Self.calls, "\(all)", file: file, line: line)
        XCTAssertEqual(report["ok"] as? Int, Self.calls, "\(all): \(report["first_errors"] ?? "")", file: file, line: line)
        XCTAssertEqual(report["errors"] as? Int, 0, "\(all)", file: file, line: line)
        let methods = report["methods"] as? [String: [String: Any]] ?? [:]
        XCTAssertEqual(methods.values.reduce(0) { $0 + ($1["ok"] as? Int ?? 0) }, Self.calls, "calls by method: \(methods)", file: file, line: line)
        let latency = report["latency_ms"] as? [String: Double] ?? [:]
        for key in ["p50", "p90", "p99", "p99_9", "max"] {
            XCTAssertGreaterThan(latency[key] ?? 0, 0, "latency \(key) of \(all)", file: file, line: line)
        }
        XCTAssertLessThanOrEqual(latency["p50"] ?? 0, latency["max"] ?? 0, file: file, line: line)
        return report
    }

    private func counter(_ report: [String: Any], _ name: String) -> Int {
        (report["counters"] as? [String: Int])?[name] ?? 0
    }

    private func ok(_ report: [String: Any], _ method: String) -> Int {
        (report["methods"] as? [String: [String: Any]])?[method]?["ok"] as? Int ?? 0
    }

    private func customerIDs(seed: Int) -> [String] { (0..<Self.customers).map { "load-\(seed)-\($0)" } }

    // MARK: What the services recorded

    private func listedCustomers(_ client: RPCClient) async throws -> [Cx_Profiles_V1_Customer] {
        var all: [Cx_Profiles_V1_Customer] = []
        var token = ""
        repeat {
            let page = try await client.call(Customers.listCustomers, .with {
                $0.pageSize = 1_000
                $0.pageToken = token
            })
            all += page.customers
            token = page.nextPageToken
        } while !token.isEmpty
        return all
    }

    private func purchases(_ client: RPCClient, seed: Int) async throws -> (accounts: Int, ledger: Int) {
        var accounts = 0
        var ledger = 0
        for id in customerIDs(seed: seed) {
            accounts += Int(try await client.call(Loyalty.getAccount, .with { $0.customerID = id }).account.purchaseCount)
            var token = ""
            repeat {
                let page = try await client.call(Loyalty.listLedger, .with {
                    $0.customerID = id
                    $0.pageSize = 1_000
                    $0.pageToken = token
                })
                ledger += page.entries.filter { $0.kind == .purchase }.count
                token = page.nextPageToken
            } while !token.isEmpty
        }
        return (accounts, ledger)
    }

    private func redeemed(_ client: RPCClient, reward: String) async throws -> Int {
        let rewards = try await client.call(Loyalty.listRewards, .with {
            $0.includeRetired = true
            $0.pageSize = 1_000
        }).rewards
        return Int(rewards.first { $0.id == reward }?.redeemed ?? -1)
    }

    private func events(_ client: RPCClient, seed: Int) async throws -> Int {
        var total = 0
        for id in customerIDs(seed: seed) {
            var token = ""
            repeat {
                let page: Cx_Journey_V1_ListEventsResponse
                do {
                    page = try await client.call(Journey.listEvents, .with {
                        $0.customerID = id
                        $0.pageSize = 1_000
                        $0.pageToken = token
                    })
                } catch let error as RPCError where error.code == .notFound {
                    break  // never had an event
                }
                total += page.events.count
                token = page.nextPageToken
            } while !token.isEmpty
        }
        return total
    }

    /// Responses in the surveys' scores: the sample size each score comes with.
    private func responses(_ client: RPCClient, surveys: [String]) async throws -> (responses: Int, npsAnswers: Int) {
        var responses = 0
        var nps = 0
        for survey in surveys {
            let scores = try await client.call(Feedback.getScores, .with {
                $0.surveyID = survey
                $0.from = .init(date: Date().addingTimeInterval(-86_400))
                $0.to = .init(date: Date().addingTimeInterval(86_400))
            }).total
            responses += Int(scores.responses)
            nps += Int(scores.npsAnswers)
        }
        return (responses, nps)
    }

    private func surveys(seed: Int, prefix: String = "") -> [String] {
        ["website", "store", "app"].map { "load-\(seed)-\(prefix)\($0)" }
    }

    func testEveryScenarioWritesWhatItsReportSays() async throws {
        let started = Date()
        let profiles = try RunningService(.profiles)
        defer { _ = profiles.stop() }
        let journey = try RunningService(.journey, extraArguments: ["--profiles-addr", profiles.address, "--lost-interval", "0"])
        defer { _ = journey.stop() }
        let loyalty = try RunningService(
            .loyalty, extraArguments: ["--profiles-addr", profiles.address, "--journey-addr", journey.address, "--batch-interval", "0"])
        defer { _ = loyalty.stop() }
        let feedback = try RunningService(
            .feedback,
            extraArguments: ["--loyalty-addr", loyalty.address, "--journey-addr", journey.address, "--profiles-addr", profiles.address])
        defer { _ = feedback.stop() }
        let people = try RPCClient(address: profiles.address, configuration: RPCClientConfiguration(connections: 1))
        let points = try RPCClient(address: loyalty.address, configuration: RPCClientConfiguration(connections: 1))
        let stages = try RPCClient(address: journey.address, configuration: RPCClientConfiguration(connections: 1))
        let voice = try RPCClient(address: feedback.address, configuration: RPCClientConfiguration(connections: 1))
        addTeardownBlock { for client in [people, points, stages, voice] { await client.close() } }

        // ---- profiles ----
        let hdr = directory.appendingPathComponent("get.hgrm")
        let get = try load(["profiles", "--scenario", "get", "--addr", profiles.address, "--hdr-out", hdr.path], seed: 101)
        XCTAssertEqual((get["seeded"] as? [String])?.first, "profiles: 8 customers load-101-0 ... (8 new)")
        let histogram = try String(contentsOf: hdr, encoding: .utf8)
        XCTAssertTrue(histogram.hasPrefix("       Value     Percentile TotalCount 1/(1-Percentile)"), histogram)
        let total = histogram.split(separator: "\n").first { $0.contains("Total count") }
        XCTAssertTrue(total?.hasSuffix(" 40]") ?? false, histogram)

        let upsert = try load(["profiles", "--scenario", "upsert", "--addr", profiles.address], seed: 102)
        var listed = try await listedCustomers(people)
        let runID = try XCTUnwrap(upsert["run_id"] as? String)
        XCTAssertEqual(listed.filter { $0.id.hasPrefix("load-\(runID)-") }.count, counter(upsert, "customers_created"))
        XCTAssertEqual(counter(upsert, "customers_created"), ok(upsert, "CreateCustomer"))
        XCTAssertEqual(counter(upsert, "customers_created") + counter(upsert, "customers_updated"), Self.calls)
        XCTAssertEqual(listed.filter { $0.id.hasPrefix("load-102-") }.count, Self.customers, "seeded customers")
        if counter(upsert, "customers_updated") > 0 {
            XCTAssertGreaterThan(listed.filter { $0.id.hasPrefix("load-102-") && $0.attributes["last_campaign"] != nil }.count, 0)
        }
        // Persian and English names both.
        let names = listed.filter { $0.id.hasPrefix("load-10") }.map(\.name)
        XCTAssertTrue(names.contains { $0.unicodeScalars.contains { (0x0600...0x06FF).contains($0.value) } }, "\(names)")
        XCTAssertTrue(names.contains { $0.unicodeScalars.first.map { (0x41...0x5A).contains($0.value) } ?? false }, "\(names)")

        _ = try load(["profiles", "--scenario", "search", "--addr", profiles.address], seed: 103)
        let segmentCount = try load(["profiles", "--scenario", "segment-count", "--addr", profiles.address], seed: 104)
        XCTAssertEqual(ok(segmentCount, "CountSegment"), Self.calls)
        let segments = try await people.call(Segments.listSegments, .with { $0.pageSize = 1_000 }).segments
        XCTAssertEqual(segments.filter { $0.name.hasPrefix("load 104 ") }.count, 4)

        let profilesMix = try load(["profiles", "--scenario", "mix", "--addr", profiles.address], seed: 105)
        listed = try await listedCustomers(people)
        let mixRun = try XCTUnwrap(profilesMix["run_id"] as? String)
        XCTAssertEqual(listed.filter { $0.id.hasPrefix("load-\(mixRun)-") }.count, counter(profilesMix, "customers_created"))

        // ---- loyalty ----
        let purchase = try load(["loyalty", "--scenario", "purchase", "--addr", loyalty.address], seed: 201)
        XCTAssertEqual(counter(purchase, "purchases"), Self.calls)
        let recorded = try await purchases(points, seed: 201)
        XCTAssertEqual(recorded.accounts, Self.calls, "purchase_count of the accounts")
        XCTAssertEqual(recorded.ledger, Self.calls, "purchase entries in the ledgers")

        // Open loop: 40 calls due at 400/s.
        let balance = try load(["loyalty", "--scenario", "balance", "--addr", loyalty.address, "--rate", "400"], seed: 202)
        XCTAssertEqual(balance["mode"] as? String, "open")
        XCTAssertEqual(balance["unsent"] as? Int, 0)
        XCTAssertEqual(ok(balance, "GetAccount"), Self.calls)

        let redeem = try load(["loyalty", "--scenario", "redeem", "--addr", loyalty.address], seed: 203)
        XCTAssertEqual(counter(redeem, "redemptions") + counter(redeem, "bonuses"), Self.calls)
        let redeemedNow = try await redeemed(points, reward: "load-203-reward")
        XCTAssertEqual(redeemedNow, counter(redeem, "redemptions"))

        let loyaltyMix = try load(["loyalty", "--scenario", "mix", "--addr", loyalty.address], seed: 204)
        let mixPurchases = try await purchases(points, seed: 204)
        XCTAssertEqual(mixPurchases.accounts, counter(loyaltyMix, "purchases"))
        let mixRedeemed = try await redeemed(points, reward: "load-204-reward")
        XCTAssertEqual(mixRedeemed, counter(loyaltyMix, "redemptions"))

        // ---- journey ----
        let event = try load(["journey", "--scenario", "event", "--addr", journey.address], seed: 301)
        let eventCount = try await events(stages, seed: 301)
        XCTAssertEqual(eventCount, counter(event, "events_recorded"))
        XCTAssertEqual(eventCount, Self.calls)

        let batch = try load(["journey", "--scenario", "event-batch", "--addr", journey.address, "--batch", "5"], seed: 302)
        let batchCount = try await events(stages, seed: 302)
        XCTAssertEqual(counter(batch, "events_recorded"), Self.calls * 5)
        XCTAssertEqual(batchCount, Self.calls * 5)

        _ = try load(["journey", "--scenario", "get-journey", "--addr", journey.address], seed: 303)
        let firstVisits = try await events(stages, seed: 303)
        XCTAssertEqual(firstVisits, Self.customers, "one seeded first visit per customer, reads only")
        _ = try load(["journey", "--scenario", "funnel", "--addr", journey.address], seed: 304)

        // ---- feedback ----
        let respond = try load(["feedback", "--scenario", "respond", "--addr", feedback.address], seed: 401)
        let scores = try await responses(voice, surveys: surveys(seed: 401))
        XCTAssertEqual(scores.responses, counter(respond, "responses"))
        XCTAssertEqual(scores.npsAnswers, Self.calls)

        let report = try load(["feedback", "--scenario", "nps-report", "--addr", feedback.address], seed: 402)
        XCTAssertEqual(ok(report, "GetScores") + ok(report, "RankTouchpoints"), Self.calls)
        let seededScores = try await responses(voice, surveys: surveys(seed: 402))
        XCTAssertEqual(seededScores.responses, Self.customers, "the seeded responses, once")

        let flow = try load(["feedback", "--scenario", "complaint-flow", "--addr", feedback.address], seed: 403)
        var complaints: [Cx_Feedback_V1_Complaint] = []
        for id in customerIDs(seed: 403) {
            complaints += try await voice.call(Feedback.listComplaints, .with {
                $0.customerID = id
                $0.pageSize = 1_000
            }).complaints
        }
        let depth: [Cx_Feedback_V1_ComplaintState: Int] = [.open: 0, .acknowledged: 1, .inProgress: 2, .resolved: 3, .closed: 4]
        XCTAssertEqual(complaints.count, counter(flow, "complaints_opened"))
        XCTAssertEqual(complaints.count, counter(flow, "responses"), "every detractor's response opened one")
        XCTAssertEqual(complaints.reduce(0) { $0 + (depth[$1.state] ?? 100) }, counter(flow, "complaint_moves"))
        XCTAssertEqual(complaints.filter { $0.state == .closed }.count, counter(flow, "complaints_closed"))
        XCTAssertEqual(counter(flow, "responses") + counter(flow, "complaint_moves"), Self.calls)

        // ---- all four ----
        let platform = try runPlatform(profiles, loyalty, journey, feedback)
        let platformPurchases = try await purchases(points, seed: 501)
        XCTAssertEqual(platformPurchases.accounts, counter(platform, "purchases"))
        let platformScores = try await responses(voice, surveys: surveys(seed: 501, prefix: "p-"))
        XCTAssertEqual(platformScores.responses, counter(platform, "responses"))
        listed = try await listedCustomers(people)
        let platformRun = try XCTUnwrap(platform["run_id"] as? String)
        XCTAssertEqual(listed.filter { $0.id.hasPrefix("load-\(platformRun)-") }.count, counter(platform, "customers_created"))
        // Journey also hears of purchases and responses through the outboxes.
        let platformEvents = try await events(stages, seed: 501)
        XCTAssertGreaterThanOrEqual(platformEvents, counter(platform, "events_recorded") + Self.customers)
        XCTAssertEqual(Set((platform["targets"] as? [String: String] ?? [:]).keys), ["profiles", "loyalty", "journey", "feedback"])

        XCTAssertLessThan(Date().timeIntervalSince(started), 60, "the whole load test should stay under a minute")
    }

    private func runPlatform(
        _ profiles: RunningService, _ loyalty: RunningService, _ journey: RunningService, _ feedback: RunningService
    ) throws -> [String: Any] {
        try load(
            [
                "platform", "--profiles-addr", profiles.address, "--loyalty-addr", loyalty.address, "--journey-addr", journey.address,
                "--feedback-addr", feedback.address,
            ], seed: 501)
    }

    func testListingAndRefusals() throws {
        let list = try runCommand("cx-load", ["--list"], environment: environment)
        XCTAssertEqual(list.status, 0, list.stderr)
        for name in [
            "get", "upsert", "search", "segment-count", "purchase", "balance", "redeem", "event", "event-batch", "get-journey", "funnel",
            "respond", "nps-report", "complaint-flow", "default",
        ] {
            XCTAssertTrue(list.stdout.contains("  \(name)  "), "\(name) in \(list.stdout)")
        }
        XCTAssertEqual(try runCommand("cx-load", ["scenarios"], environment: environment).stdout, list.stdout)

        let remote = try runCommand("cx-load", ["loyalty", "--scenario", "purchase", "--addr", "10.0.0.7:7102"], environment: environment)
        XCTAssertEqual(remote.status, 64)
        XCTAssertTrue(remote.stderr.contains("10.0.0.7 is not this machine"), remote.stderr)
        XCTAssertTrue(remote.stderr.contains("--allow-remote"), remote.stderr)

        let badRate = try runCommand("cx-load", ["journey", "--scenario", "event", "--rate", "-3"], environment: environment)
        XCTAssertEqual(badRate.status, 64)
        XCTAssertTrue(badRate.stderr.contains("--rate: -3 must be"), badRate.stderr)

        let noScenario = try runCommand("cx-load", ["feedback"], environment: environment)
        XCTAssertEqual(noScenario.status, 64)
        XCTAssertTrue(noScenario.stderr.contains("--scenario: required for feedback: respond, nps-report, complaint-flow"), noScenario.stderr)

        let ramp = try runCommand("cx-load", ["loyalty", "--scenario", "purchase", "--schedule", "ramp", "--rate", "100"], environment: environment)
        XCTAssertEqual(ramp.status, 64)
        XCTAssertTrue(ramp.stderr.contains("--schedule: ramp is spread over --duration"), ramp.stderr)

        let down = try runCommand("cx-load", ["profiles", "--scenario", "get", "--addr", "127.0.0.1:1"], environment: environment)
        XCTAssertEqual(down.status, 1)
        XCTAssertTrue(down.stderr.contains("profiles at 127.0.0.1:1 does not answer"), down.stderr)
    }
}
