import CXModel
import CXService
import CXStore
import CXWire
import Foundation
import GRDB
import SwiftProtobuf

extension JourneyService {
    func period(from: Google_Protobuf_Timestamp?, to: Google_Protobuf_Timestamp?) throws(RPCError) -> (from: Int64, to: Int64) {
        try UTCDay.period(from: from, to: to, now: clock())
    }

    func funnel(_ request: Cx_Journey_V1_FunnelRequest, _ context: ServerContext) async throws -> Cx_Journey_V1_FunnelResponse {
        let days = try period(from: request.hasFrom ? request.from : nil, to: request.hasTo ? request.to : nil)
        return try await store.read { db in
            var response = Cx_Journey_V1_FunnelResponse()
            response.from = .at(Double(days.from) * 86_400)
            response.to = .at(Double(days.to) * 86_400)
            var now: [Int: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT stage, customers FROM stage_count") { now[row[0]] = row[1] }
            var sums: [Int: (entered: Int64, advanced: Int64, lost: Int64, wonBack: Int64)] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT stage, SUM(entered), SUM(advanced), SUM(lost), SUM(won_back) FROM stage_day
                    WHERE day >= ? AND day < ? GROUP BY stage
                    """, arguments: [days.from, days.to])
            {
                sums[row[0]] = (row[1], row[2], row[3], row[4])
            }
            var stays: [Int: [(days: Int32, stays: Int64)]] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT stage, days, SUM(stays) FROM stay_day WHERE day >= ? AND day < ? GROUP BY stage, days ORDER BY stage, days",
                arguments: [days.from, days.to])
            {
                stays[row[0], default: []].append((row[1], row[2]))
            }
            for stage in Stage.journey {
                var entry = Cx_Journey_V1_FunnelStage()
                entry.stage = stage
                entry.customersNow = now[stage.rawValue] ?? 0
                let sum = sums[stage.rawValue] ?? (0, 0, 0, 0)
                entry.entered = sum.entered
                entry.advanced = sum.advanced
                entry.conversion = sum.entered > 0 ? Double(sum.advanced) / Double(sum.entered) : 0
                entry.lost = sum.lost
                let histogram = stays[stage.rawValue] ?? []
                entry.staysEnded = histogram.reduce(0) { $0 + $1.stays }
                entry.medianDays = Self.median(histogram, total: entry.staysEnded)
                response.lost += sum.lost
                response.stages.append(entry)
            }
            response.lostNow = now[Stage.lost.rawValue] ?? 0
            response.customers = now.values.reduce(0, +)
            response.wonBack = sums[Stage.lost.rawValue]?.wonBack ?? 0
            return response
        }
    }

    /// The lower median of a histogram in ascending order; -1 when empty.
    static func median(_ histogram: [(days: Int32, stays: Int64)], total: Int64) -> Int32 {
        guard total > 0 else { return -1 }
        let middle = (total + 1) / 2
        var seen: Int64 = 0
        for bucket in histogram {
            seen += bucket.stays
            if seen >= middle { return bucket.days }
        }
        return histogram.last?.days ?? -1
    }

    func stalled(_ request: Cx_Journey_V1_StalledRequest, _ context: ServerContext) async throws -> Cx_Journey_V1_StalledResponse {
        if request.stage != .unspecified { try Stage.check(request.stage, field: "stage") }
        let size = try RequestCheck.pageSize(request.pageSize)
        let scope = "stalled|\(request.stage.rawValue)"
        let position = try pager.position(request.pageToken, scope: scope)
        var start: (stage: Int, enteredAt: Double, customer: String)?
        if let position {
            guard position.count == 3, let stage = Int(position[0]), let at = Double(position[1]) else {
                throw RPCError.invalidArgument(field: "page_token", "is not a token of this listing")
            }
            start = (stage, at, position[2])
        }
        let after = start
        let stages = request.stage == .unspecified ? Stage.journey : [request.stage]
        let now = clock().timeIntervalSince1970
        let cache = rulesCache
        return try await store.read { db in
            let rules = try cache.value(db)
            var response = Cx_Journey_V1_StalledResponse()
            for stage in stages {
                let norm = rules.normDays(stage)
                let before = now - Double(norm) * 86_400
                var count = Cx_Journey_V1_StalledCount()
                count.stage = stage
                count.normDays = norm
                count.stalled = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT COUNT(*) FROM customer WHERE stage = ? AND stage_entered_at < ?"),
                    arguments: [stage.rawValue, before]) ?? 0
                response.counts.append(count)
                guard response.customers.count <= size, count.stalled > 0 else { continue }
                if let after, stage.rawValue < after.stage { continue }
                let rows: [Row]
                if let after, stage.rawValue == after.stage {
                    rows = try Row.fetchAll(
                        db,
                        sql: """
                            SELECT customer_id, stage_entered_at FROM customer WHERE stage = ? AND stage_entered_at < ?
                            AND (stage_entered_at, customer_id) > (?, ?) ORDER BY stage_entered_at, customer_id LIMIT ?
                            """, arguments: [stage.rawValue, before, after.enteredAt, after.customer, size + 1 - response.customers.count])
                } else {
                    rows = try Row.fetchAll(
                        db,
                        sql: """
                            SELECT customer_id, stage_entered_at FROM customer WHERE stage = ? AND stage_entered_at < ?
                            ORDER BY stage_entered_at, customer_id LIMIT ?
                            """, arguments: [stage.rawValue, before, size + 1 - response.customers.count])
                }
                for row in rows {
                    let entered: Double = row[1]
                    response.customers.append(.with {
                        $0.customerID = row[0]
                        $0.stage = stage
                        $0.stageEnteredAt = .at(entered)
                        $0.daysInStage = StageMachine.wholeDays(from: entered, to: now)
                        $0.normDays = norm
                    })
                }
            }
            if response.customers.count > size {
                response.customers.removeLast(response.customers.count - size)
                let last = response.customers[size - 1]
                response.nextPageToken = self.pager.nextToken(
                    scope: scope, last: ["\(last.stage.rawValue)", "\(last.stageEnteredAt.date.timeIntervalSince1970)", last.customerID],
                    full: true)
            }
            return response
        }
    }

    func touchpointActivity(_ request: Cx_Journey_V1_TouchpointActivityRequest, _ context: ServerContext) async throws
        -> Cx_Journey_V1_TouchpointActivityResponse
    {
        let days = try period(from: request.hasFrom ? request.from : nil, to: request.hasTo ? request.to : nil)
        return try await store.read { db in
            var entries: [String: Cx_Journey_V1_TouchpointActivityEntry] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT touchpoint_id, stage, SUM(events) FROM touchpoint_day WHERE day >= ? AND day < ?
                    GROUP BY touchpoint_id, stage ORDER BY touchpoint_id, stage
                    """, arguments: [days.from, days.to])
            {
                let id: String = row[0]
                let events: Int64 = row[2]
                entries[id, default: .with { $0.touchpointID = id }].events += events
                entries[id]!.byStage.append(.with {
                    $0.stage = Stage(stored: row[1])
                    $0.events = events
                })
            }
            var response = Cx_Journey_V1_TouchpointActivityResponse()
            response.from = .at(Double(days.from) * 86_400)
            response.to = .at(Double(days.to) * 86_400)
            response.touchpoints = entries.values.sorted { ($0.events, $1.touchpointID) > ($1.events, $0.touchpointID) }
            return response
        }
    }
}
