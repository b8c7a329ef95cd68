import CXModel
import CXWire
import Foundation

/// feedback: an NPS survey and a delivery CSAT survey, the customers'
/// answers (detractors open follow-up complaints by themselves), and a few
/// complaints customers make themselves, worked through their states.
extension DemoRun {
    static let surveys: [Cx_Feedback_V1_Survey] = [
        .with {
            $0.id = DemoPlan.surveyNPS
            $0.name = "نظرسنجی NPS نارنج · Narenj NPS"
            $0.touchpointID = "email"
            $0.stage = "acceptance"
            $0.recontactDays = 60
            $0.surveyBonus = true
            $0.questions = [
                .with {
                    $0.id = "nps"
                    $0.kind = .nps
                    $0.text = "چقدر احتمال دارد قهوه نارنج را به دوستانتان پیشنهاد کنید؟ · How likely are you to recommend Narenj Coffee to a friend?"
                    $0.required = true
                },
                .with {
                    $0.id = "why"
                    $0.kind = .text
                    $0.text = "دلیل اصلی امتیازتان چیست؟ · What is the main reason for your score?"
                },
                .with {
                    $0.id = "value"
                    $0.kind = .multipleChoice
                    $0.text = "چه چیزی برایتان مهم‌تر است؟ · What do you value most?"
                    $0.options = DemoData.valueOptions
                },
            ]
        },
        .with {
            $0.id = DemoPlan.surveyCSAT
            $0.name = "رضایت از ارسال · Delivery satisfaction"
            $0.touchpointID = "logistics"
            $0.stage = "activation"
            $0.recontactDays = 30
            $0.questions = [
                .with {
                    $0.id = "csat"
                    $0.kind = .csat
                    $0.text = "از ارسال سفارشتان چقدر راضی بودید؟ · How satisfied were you with your delivery?"
                    $0.required = true
                },
                .with {
                    $0.id = "effort"
                    $0.kind = .ces
                    $0.text = "دریافت سفارش چقدر آسان بود؟ (۱ خیلی آسان تا ۷ خیلی سخت) · How easy was it to get your order? (1 very easy to 7 very hard)"
                },
                .with {
                    $0.id = "comment"
                    $0.kind = .text
                    $0.text = "چیز دیگری هست که بخواهید بگویید؟ · Anything else you would like to tell us?"
                },
            ]
        },
    ]

    func createSurveys() async throws {
        try await demoForEach(Self.surveys, parallel: parallel) { survey in
            let created = try await services.call(
                .feedback, Cx_Feedback_V1_Feedback.createSurvey, .with { $0.survey = survey }, "creating survey \(survey.id)",
                accepting: \.alreadyExists)
            created == nil ? tally.existing(.surveys) : tally.added(.surveys)
        }
    }

    /// One customer's answer, unless they answered already (an earlier run:
    /// inside the survey's recontact window, feedback says not to ask).
    func answer(_ customer: DemoCustomer) async throws {
        guard let survey = customer.survey else { return }
        let nps = survey.answers.first { $0.questionID == "nps" }?.score
        let followsUp = nps.map { $0 <= 6 } ?? false
        var should = Cx_Feedback_V1_ShouldAskRequest()
        should.customerID = customer.id
        should.surveyID = survey.surveyID
        let asked = try await services.call(
            .feedback, Cx_Feedback_V1_Feedback.shouldAsk, should, "asking whether \(customer.id) may be asked \(survey.surveyID)")
        guard asked.ask else {
            // Answered already, or the survey was closed since.
            if asked.hasLastAnsweredAt {
                tally.existing(.responses)
                if followsUp { tally.existing(.followUps) }
            }
            return
        }
        var request = Cx_Feedback_V1_SubmitResponseRequest()
        request.surveyID = survey.surveyID
        request.customerID = customer.id
        request.answers = survey.answers
        request.channel = survey.channel
        request.idempotencyKey = survey.key
        let response = try await services.call(
            .feedback, Cx_Feedback_V1_Feedback.submitResponse, request, "submitting \(customer.id)'s answer to \(survey.surveyID)",
            accepting: { $0.reason == "RECONTACT_WINDOW" || $0.reason == "SURVEY_CLOSED" })
        guard let response else { return }
        tally.added(.responses)
        if !response.complaintID.isEmpty { tally.added(.followUps) }
    }

    /// A complaint the customer made, and how far support has got with it.
    func complain(_ customer: DemoCustomer) async throws {
        guard let complaint = customer.complaint else { return }
        let description = customer.persian ? complaint.text.persian : complaint.text.english
        var list = Cx_Feedback_V1_ListComplaintsRequest()
        list.customerID = customer.id
        list.pageSize = 1_000
        repeat {
            let page = try await services.call(
                .feedback, Cx_Feedback_V1_Feedback.listComplaints, list, "reading \(customer.id)'s complaints")
            if page.complaints.contains(where: { $0.description_p == description }) {
                // Worked through its moves then (path n is n moves).
                tally.existing(.complaints)
                tally.existing(.moves, Int64(complaint.path))
                return
            }
            list.pageToken = page.nextPageToken
        } while !list.pageToken.isEmpty

        var open = Cx_Feedback_V1_OpenComplaintRequest()
        open.complaint = .with {
            $0.customerID = customer.id
            $0.touchpointID = complaint.text.touchpoint
            $0.category = complaint.text.category
            $0.severity = complaint.text.severity
            $0.description_p = description
            $0.channel = complaint.path % 2 == 0 ? .phone : .email
        }
        open.idempotencyKey = complaint.key
        let opened = try await services.call(
            .feedback, Cx_Feedback_V1_Feedback.openComplaint, open, "opening \(customer.id)'s complaint").complaint
        tally.added(.complaints)

        guard complaint.path > 0 else { return }
        let agent = DemoData.agents[customer.index % DemoData.agents.count]
        _ = try await services.call(
            .feedback, Cx_Feedback_V1_Feedback.assignComplaint,
            .with {
                $0.complaintID = opened.id
                $0.owner = agent
                $0.author = "support-lead"
            }, "assigning \(customer.id)'s complaint \(opened.id)")
        var moves: [(Cx_Feedback_V1_ComplaintState, String, Bool)] = [(.acknowledged, "Seen; calling the customer.", false)]
        if complaint.path >= 2 { moves.append((.inProgress, "Checking the order with the roastery.", false)) }
        if complaint.path >= 3 {
            moves.append((.resolved, customer.persian ? DemoData.persianResolution : DemoData.englishResolution, complaint.path != 5))
        }
        if complaint.path == 4 { moves.append((.closed, "The customer confirmed.", false)) }
        if complaint.path == 5 {
            moves.append((.reopened, "The customer wrote back: still not fixed.", false))
            moves.append((.inProgress, "Sending a replacement.", false))
        }
        for (number, (state, note, goodwill)) in moves.enumerated() {
            if number == 1 {
                _ = try await services.call(
                    .feedback, Cx_Feedback_V1_Feedback.addComplaintNote,
                    .with {
                        $0.complaintID = opened.id
                        $0.kind = .reply
                        $0.author = agent
                        $0.text = customer.persian ? DemoData.persianReply : DemoData.englishReply
                        $0.idempotencyKey = "\(complaint.key)-reply"
                    }, "replying to \(customer.id)'s complaint \(opened.id)")
            }
            _ = try await services.call(
                .feedback, Cx_Feedback_V1_Feedback.moveComplaint,
                .with {
                    $0.complaintID = opened.id
                    $0.to = state
                    $0.author = agent
                    $0.note = note
                    $0.goodwill = goodwill
                    $0.idempotencyKey = "\(complaint.key)-move\(number + 1)"
                }, "moving \(customer.id)'s complaint \(opened.id) to \(state)")
            tally.added(.moves)
        }
    }
}
