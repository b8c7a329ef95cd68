import CXModel
import CXService
import CXStore
import Foundation
import GRDB
import SwiftProtobuf

/// What feedback tells loyalty (bonuses), journey (events) and profiles
/// (traits), written to the outbox in the transaction of the response or
/// complaint that causes it.
struct FeedbackEvents {
    let destinations: Set<CXServiceName>
    let now: Double

    func responded(
        _ db: Database, survey: Cx_Feedback_V1_Survey, customer: String, responseID: String, nps: Int32?, answered: Int64
    ) throws {
        if survey.surveyBonus, destinations.contains(.loyalty) {
            var bonus = Cx_Loyalty_V1_AwardBonusRequest()
            bonus.customerID = customer
            bonus.reason = .survey
            bonus.idempotencyKey = "feedback:\(responseID)"
            bonus.note = String("survey \(survey.name)".unicodeScalars.prefix(200))
            // The event id is the relay's idempotency-key metadata: it must equal the request's key.
            try enqueue(db, .loyalty, Cx_Loyalty_V1_Loyalty.awardBonus.fullName, id: bonus.idempotencyKey, key: customer, bonus)
        }
        if destinations.contains(.journey) {
            var types = ["survey_answered"]
            if FeedbackService.category(nps: nps) == .promoter { types.append("promoter_score") }
            for type in types {
                var request = Cx_Journey_V1_RecordEventRequest()
                request.event.customerID = customer
                request.event.type = type
                request.event.touchpointID = survey.touchpointID
                request.event.occurredAt = .at(now)
                // The response id is in the idempotency key already.
                request.event.attributes = nps.map { ["survey_id": survey.id, "nps": "\($0)"] } ?? ["survey_id": survey.id]
                request.event.idempotencyKey = "feedback:\(responseID):\(type)"
                try enqueue(db, .journey, Cx_Journey_V1_Journey.recordEvent.fullName, id: request.event.idempotencyKey, key: customer, request)
            }
        }
        if destinations.contains(.profiles) {
            var traits = Cx_Profiles_V1_UpdateTraitsRequest()
            traits.customerID = customer
            traits.eventID = "feedback:\(responseID):traits"
            traits.source = "feedback"
            traits.occurredAt = .at(now)
            traits.updateMask = ["surveys_answered"]
            traits.traits.surveysAnswered = answered
            if let nps {
                traits.updateMask.append("last_nps")
                traits.traits.lastNps = nps
            }
            try enqueue(db, .profiles, Cx_Profiles_V1_Customers.updateTraits.fullName, id: traits.eventID, key: customer, traits)
        }
    }

    func goodwill(_ db: Database, complaint: Cx_Feedback_V1_Complaint) throws {
        guard destinations.contains(.loyalty) else { return }
        var bonus = Cx_Loyalty_V1_AwardBonusRequest()
        bonus.customerID = complaint.customerID
        bonus.reason = .goodwill
        bonus.idempotencyKey = "feedback:\(complaint.id):goodwill"
        bonus.note = String("complaint \(complaint.id): \(complaint.category)".unicodeScalars.prefix(200))
        try enqueue(db, .loyalty, Cx_Loyalty_V1_Loyalty.awardBonus.fullName, id: bonus.idempotencyKey, key: complaint.customerID, bonus)
    }

    private func enqueue(
        _ db: Database, _ destination: CXServiceName, _ method: String, id: String, key: String, _ message: some SwiftProtobuf.Message
    ) throws {
        try Outbox.enqueue(
            db,
            OutboxEvent(eventID: id, destination: destination.rawValue, method: method, orderingKey: key, payload: try message.serializedData()))
    }
}
