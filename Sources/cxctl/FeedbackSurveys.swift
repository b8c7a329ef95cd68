import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl feedback surveys ...`
struct FeedbackSurveysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "surveys",
        abstract: "The surveys: list, show, create from a JSON file, close.",
        discussion: """
            A survey is open from its creation until it is closed; a closed survey takes no \
            more responses and keeps its scores. Surveys are never changed: to ask other \
            questions, close it and create another.

            Examples:
              cxctl feedback surveys
              cxctl feedback surveys show after-delivery --json > after-delivery.json
              cxctl feedback surveys create --file after-delivery.json
              cxctl feedback surveys close after-delivery
            """,
        subcommands: [List.self, Show.self, Create.self, Close.self],
        defaultSubcommand: List.self
    )
}

extension FeedbackSurveysCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the open surveys, newest first.",
            discussion: """
                Examples:
                  cxctl feedback surveys list
                  cxctl feedback surveys list --include-closed --json
                """)

        @Flag(help: "Show closed surveys too.")
        var includeClosed = false

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Feedback_V1_ListSurveysRequest()
            request.includeClosed = includeClosed
            try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.listSurveys, request, connection, output) {
                $0.surveys.isEmpty ? "(no surveys)" : FeedbackView.surveys($0.surveys).render()
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show one survey and its questions.",
            discussion: """
                --json prints it as `surveys create` reads it (the output-only fields, such as \
                state and responses, are ignored there).

                Examples:
                  cxctl feedback surveys show after-delivery
                """)

        @Argument(help: "The survey's id.")
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Feedback_V1_GetSurveyRequest()
            request.surveyID = id
            try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.getSurvey, request, connection, output) {
                FeedbackView.survey($0.survey)
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a survey from a JSON file; it is open at once.",
            discussion: """
                The file is a cx.feedback.v1.Survey in protobuf JSON: an id (left out: the \
                service makes one), a name, 1 to 50 questions, and optionally the touchpoint \
                and journey stage it is asked at, recontact_days (0 to 365: a customer who \
                answered any survey within that many days is not asked again), survey_bonus \
                (each response earns loyalty's survey bonus) and follow_up_threshold (an NPS \
                answer at or below it opens a complaint; default 6, -1 never). A question has \
                an id, a kind (KIND_NPS, KIND_CSAT, KIND_CES, KIND_SINGLE_CHOICE, \
                KIND_MULTIPLE_CHOICE, KIND_TEXT), its text in any script, required, and for \
                choice questions 2 to 50 options. A mistake is INVALID_ARGUMENT naming the \
                field ("survey.questions[1].options").

                Example after-delivery.json:
                  {"id": "after-delivery", "name": "پس از تحویل", "touchpoint_id": "logistics",
                   "stage": "affirmation", "recontact_days": 30,
                   "questions": [
                     {"id": "nps", "kind": "KIND_NPS", "required": true,
                      "text": "چقدر احتمال دارد ما را به دوستانتان پیشنهاد کنید؟"},
                     {"id": "speed", "kind": "KIND_SINGLE_CHOICE",
                      "text": "سرعت ارسال", "options": ["سریع", "معمولی", "کند"]},
                     {"id": "reason", "kind": "KIND_TEXT", "text": "چرا؟"}]}

                Examples:
                  cxctl feedback surveys create --file after-delivery.json
                  cxctl feedback surveys create --file - < after-delivery.json
                """)

        @Option(help: ArgumentHelp("The survey as JSON; - reads standard input.", valueName: "file"))
        var file: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Feedback_V1_CreateSurveyRequest()
            request.survey = try readMessageFile(
                file, label: file, inside: Cx_Feedback_V1_GetSurveyResponse.self,
                expected: "a cx.feedback.v1.Survey in protobuf JSON (see `cxctl feedback surveys create --help`)"
            ) { $0.hasSurvey ? $0.survey : nil }
            try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.createSurvey, request, connection, output) {
                "survey \($0.survey.id) created and open\n\n" + FeedbackView.survey($0.survey)
            }
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "close",
            abstract: "Close a survey: it takes no more responses; its scores stay.",
            discussion: """
                Closing a closed survey changes nothing. A response to a closed survey is \
                FAILED_PRECONDITION (SURVEY_CLOSED).

                Examples:
                  cxctl feedback surveys close after-delivery
                """)

        @Argument(help: "The survey's id.")
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var request = Cx_Feedback_V1_CloseSurveyRequest()
            request.surveyID = id
            try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.closeSurvey, request, connection, output) {
                "survey \($0.survey.id) is closed\n\n" + FeedbackView.survey($0.survey)
            }
        }
    }
}

/// `cxctl feedback ask CUSTOMER SURVEY`
struct FeedbackAskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ask",
        abstract: "Whether a customer may be asked a survey now, and if not, why and when.",
        discussion: """
            Not when the survey is closed, nor when the customer answered any survey within \
            the survey's recontact days (survey fatigue: asking too often makes the answers \
            worse). The answer is printed either way; the exit status is 0 for both.

            Examples:
              cxctl feedback ask c-1042 after-delivery
              cxctl feedback ask c-1042 after-delivery --json
            """)

    @Argument(help: "The customer's id (the profiles service's).")
    var customer: String

    @Argument(help: "The survey's id.")
    var survey: String

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        var request = Cx_Feedback_V1_ShouldAskRequest()
        request.customerID = customer
        request.surveyID = survey
        try await ServiceSession.show(.feedback, Cx_Feedback_V1_Feedback.shouldAsk, request, connection, output) { answer in
            var table = Table("FIELD", "VALUE")
            table.append(["ask", answer.ask ? "yes" : "no: \(answer.reason)"])
            table.append(["last answered", JourneyFormat.time(answer.lastAnsweredAt, if: answer.hasLastAnsweredAt)])
            if answer.hasNextAllowedAt { table.append(["ask again from", ProfilesFormat.time(answer.nextAllowedAt)]) }
            return table.render()
        }
    }
}

/// `cxctl feedback respond SURVEY CUSTOMER --answer QUESTION=VALUE ...`
struct FeedbackRespondCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "respond",
        abstract: "Record a customer's response to a survey.",
        discussion: """
            One --answer per question answered, QUESTION=VALUE, where QUESTION is the \
            question's id (`cxctl feedback surveys show SURVEY` lists them) and VALUE is, by \
            the question's kind:
              nps, csat, ces    the score: 0 to 10, 1 to 5, 1 to 7 (Persian digits too)
              single-choice     one of the options, as written
              multiple-choice   options separated by commas ("," or "،")
              text              the text, in any script
            cxctl reads the survey first to know each question's kind; the service checks \
            every answer (a score out of range, a choice not offered, a required question \
            not answered: INVALID_ARGUMENT naming the answer, "answers[0].score", in the \
            order given). A customer who answered a survey within its recontact days is \
            refused (RECONTACT_WINDOW; `cxctl feedback ask` says when they may answer).

            The answer shows the response's id, the NPS category (promoter 9-10, passive \
            7-8, detractor 0-6), and the complaint a detractor opened for the follow-up.

            Examples:
              cxctl feedback respond after-delivery c-1042 --answer nps=9 --channel app
              cxctl feedback respond after-delivery c-1043 --answer nps=2 \\
                  --answer speed=کند --answer reason="بسته دیر رسید و جعبه خراب بود" \\
                  --key form-8812
            """)

    @Argument(help: "The survey's id.")
    var survey: String

    @Argument(help: "The customer's id (the profiles service's).")
    var customer: String

    @Option(name: .customLong("answer"), help: ArgumentHelp("An answer, question=value; repeat for more.", valueName: "question=value"))
    var answers: [String] = []

    @Option(help: "Where the customer answered.")
    var channel: FeedbackChannelArgument?

    @OptionGroup var key: KeyOption
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !answers.isEmpty else { throw ValidationError("--answer: give at least one answer, question=value") }
        for answer in answers { _ = try FlagCheck.pair(answer, flag: "--answer", example: "nps=9") }
    }

    func run() async throws {
        try await ServiceSession.printAnswer(of: .feedback, connection, output, calling: { session in
            var get = Cx_Feedback_V1_GetSurveyRequest()
            get.surveyID = survey
            let questions = try await session.call(Cx_Feedback_V1_Feedback.getSurvey, get).survey.questions
            var request = Cx_Feedback_V1_SubmitResponseRequest()
            request.surveyID = survey
            request.customerID = customer
            request.channel = channel?.proto ?? .unspecified
            request.idempotencyKey = key.value
            do {
                request.answers = try answers.map { try Self.answer($0, questions: questions) }
            } catch {
                await session.close()
                throw error
            }
            return try await session.call(Cx_Feedback_V1_Feedback.submitResponse, request)
        }, as: { response in
            var table = Table("RESPONSE", "VALUE")
            table.append(["id", response.responseID])
            table.append(["customer", customer])
            table.append(["survey", survey])
            table.append(["nps category", FeedbackNames.category(response.npsCategory)])
            table.append([
                "follow-up",
                response.complaintID.isEmpty
                    ? "none" : "complaint \(response.complaintID) opened (cxctl feedback complaints show \(response.complaintID))",
            ])
            table.append(["submitted", JourneyFormat.time(response.submittedAt, if: response.hasSubmittedAt)])
            return table.render()
        })
    }

    /// The answer `text` (question=value) gives a question of `questions`,
    /// read by the question's kind.
    static func answer(_ text: String, questions: [Cx_Feedback_V1_Question]) throws -> Cx_Feedback_V1_Answer {
        let (id, value) = try FlagCheck.pair(text, flag: "--answer", example: "nps=9")
        guard let question = questions.first(where: { $0.id == id }) else {
            let known = questions.map { "\($0.id) (\(FeedbackNames.kind($0.kind)))" }.joined(separator: ", ")
            throw badInput("--answer \(text): the survey has no question \"\(id)\"; its questions are \(known)")
        }
        var answer = Cx_Feedback_V1_Answer()
        answer.questionID = id
        switch question.kind {
        case .nps, .csat, .ces:
            guard let score = Int32(CXText.normalize(value)) else {
                throw badInput("--answer \(text): \"\(value)\" is not a score; question \(id) (\(FeedbackNames.kind(question.kind))) takes a whole number")
            }
            answer.score = score
        case .singleChoice, .multipleChoice:
            // An option that holds a comma is taken whole.
            answer.choices = question.options.contains(value)
                ? [value] : value.split(whereSeparator: { $0 == "," || $0 == "،" }).map { $0.trimmingCharacters(in: .whitespaces) }
        default:
            answer.text = value
        }
        return answer
    }
}
