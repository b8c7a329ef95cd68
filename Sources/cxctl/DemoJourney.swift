import CXModel
import CXWire
import Foundation
import Synchronization

/// Whether loyalty's purchases reach journey: once one has not arrived in
/// time, the demo stops waiting for the others.
final class DemoJourneyLink: Sendable {
    private let down = Mutex(false)
    var isDown: Bool { down.withLock { $0 } }
    /// Marks the link down; true for the first caller only.
    func markDown() -> Bool {
        down.withLock { value in
            let first = !value
            value = true
            return first
        }
    }
}

/// journey: the touchpoints it adds, the events it records itself, and
/// waiting for the events loyalty sends through its outbox.
extension DemoRun {
    static let purchaseWait: Duration = .seconds(20)

    func createTouchpoints() async throws {
        try await demoForEach(DemoData.touchpoints, parallel: parallel) { touchpoint in
            let created = try await services.call(
                .journey, Cx_Journey_V1_Journey.createTouchpoint, .with { $0.touchpoint = touchpoint },
                "creating touchpoint \(touchpoint.id)", accepting: \.alreadyExists)
            created == nil ? tally.existing(.touchpoints) : tally.added(.touchpoints)
        }
    }

    /// The idempotency keys of the events journey holds for a customer: the
    /// demo's events an earlier run recorded are not sent again, however
    /// long ago that run was.
    func recordedKeys(_ customerID: String) async throws -> Set<String> {
        var keys: Set<String> = []
        var request = Cx_Journey_V1_ListEventsRequest()
        request.customerID = customerID
        request.pageSize = 1_000
        repeat {
            guard let page = try await services.call(
                .journey, Cx_Journey_V1_Journey.listEvents, request, "reading \(customerID)'s events", accepting: { $0.code == .notFound })
            else { return keys }
            for recorded in page.events where !recorded.event.idempotencyKey.isEmpty { keys.insert(recorded.event.idempotencyKey) }
            request.pageToken = page.nextPageToken
        } while !request.pageToken.isEmpty
        return keys
    }

    /// Records `events` of a customer in one call, but those already there.
    func record(_ events: [DemoEvent], of customerID: String, skipping recorded: Set<String>, clock: DemoClock) async throws {
        let fresh = events.filter { !recorded.contains($0.key) }
        tally.existing(.events, Int64(events.count - fresh.count))
        guard !fresh.isEmpty else { return }
        var request = Cx_Journey_V1_RecordEventsRequest()
        request.events = fresh.map { event in
            .with {
                $0.customerID = customerID
                $0.type = event.type
                $0.touchpointID = event.touchpoint
                $0.occurredAt = clock.timestamp(event.at)
                $0.attributes = event.attributes
                $0.idempotencyKey = event.key
            }
        }
        let response = try await services.call(.journey, Cx_Journey_V1_Journey.recordEvents, request, "recording \(customerID)'s events")
        for (index, result) in response.results.enumerated() where result.code != 0 {
            let code = RPCCode(rawValue: Int(result.code))?.name ?? "\(result.code)"
            let reason = result.reason.isEmpty ? "" : " (\(result.reason))"
            throw DemoFailure(
                description: "recording \(customerID)'s \(fresh[index].type) event \(fresh[index].key): RecordEvents on journey "
                    + "(\(services.link(.journey).target.address)) refused it: \(code)\(reason): \(result.message)")
        }
        tally.added(.events, Int64(fresh.count))
    }

    /// Waits until journey holds loyalty's event of `order`, so that the
    /// events after the purchase land after it and move the customer on in
    /// order (loyalty tells journey through its outbox, a moment later).
    func waitForPurchase(of customerID: String, order: String) async throws {
        guard !journeyLink.isDown else { return }
        var request = Cx_Journey_V1_GetJourneyRequest()
        request.customerID = customerID
        request.recentEvents = 100
        let deadline = ContinuousClock.now + Self.purchaseWait
        while ContinuousClock.now < deadline {
            if let journey = try await services.call(
                .journey, Cx_Journey_V1_Journey.getJourney, request, "reading \(customerID)'s journey", accepting: { $0.code == .notFound }),
                journey.recentEvents.contains(where: {
                    $0.event.attributes["order_id"] == order && ($0.event.type == "first_purchase" || $0.event.type == "repeat_purchase")
                })
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        if journeyLink.markDown() {
            progress.note(
                "journey: loyalty's purchase \(order) of \(customerID) had not reached journey after 20 s; is cx-loyalty's "
                    + "--journey-addr this journey (\(services.link(.journey).target.address))? Not waiting for the others: "
                    + "later stages may be reached out of order.")
        }
    }

    /// Works the customer's 100-day plan up to the anchor: of the tasks due
    /// more than a day before it, about 7 in 10 are done and 1 in 10
    /// skipped; the rest stay open, overdue (which tasks, is fixed by their
    /// ids, so a rerun closes none of them).
    func closeTasks(of customer: DemoCustomer, clock: DemoClock) async throws {
        func tasks(_ state: Cx_Journey_V1_Task.State) async throws -> [Cx_Journey_V1_Task] {
            var request = Cx_Journey_V1_ListTasksRequest()
            request.customerID = customer.id
            request.state = state
            request.pageSize = 1_000
            var all: [Cx_Journey_V1_Task] = []
            repeat {
                let page = try await services.call(.journey, Cx_Journey_V1_Journey.listTasks, request, "reading \(customer.id)'s tasks")
                all += page.tasks
                request.pageToken = page.nextPageToken
            } while !request.pageToken.isEmpty
            return all
        }
        let closed = try await tasks(.done).count + tasks(.skipped).count
        tally.existing(.tasks, Int64(closed))
        for task in try await tasks(.open) where task.dueAt.seconds < clock.anchor - 86_400 {
            let roll = DemoPlan.hash(task.id) % 100
            guard roll < 80 else { continue }
            let closedNow: Bool
            if roll < 70 {
                var request = Cx_Journey_V1_CompleteTaskRequest()
                request.taskID = task.id
                request.note = customer.persian ? "انجام شد" : "Done"
                request.idempotencyKey = "demo-\(task.id)-done"
                closedNow = try await services.call(
                    .journey, Cx_Journey_V1_Journey.completeTask, request, "completing task \(task.id)",
                    accepting: { $0.reason == "TASK_CLOSED" }) != nil
            } else {
                var request = Cx_Journey_V1_SkipTaskRequest()
                request.taskID = task.id
                request.reason = customer.persian ? "مشتری پاسخ نداد" : "The customer did not answer"
                request.idempotencyKey = "demo-\(task.id)-skipped"
                closedNow = try await services.call(
                    .journey, Cx_Journey_V1_Journey.skipTask, request, "skipping task \(task.id)",
                    accepting: { $0.reason == "TASK_CLOSED" }) != nil
            }
            closedNow ? tally.added(.tasks) : tally.existing(.tasks)
        }
    }

    /// Marks lost the customers quiet for longer than their stage allows:
    /// those who browsed months ago and never came back.
    func detectLost() async throws {
        let response = try await services.call(.journey, Cx_Journey_V1_Journey.detectLost, .init(), "marking quiet customers lost")
        tally.added(.lost, response.markedLost)
    }
}
