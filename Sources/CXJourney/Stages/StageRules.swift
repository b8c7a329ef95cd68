import CXModel
import CXService
import CXWire
import Foundation

typealias Stage = Cx_Journey_V1_Stage

extension Cx_Journey_V1_Stage {
    /// One of the eight (not LOST, not unspecified).
    var isJourneyStage: Bool { (1...8).contains(rawValue) }

    init(stored value: Int) {
        self = Stage(rawValue: value) ?? .unspecified
    }
}

/// The rules that move customers: which event type leads to which stage,
/// each stage's quiet and norm days, and how far ahead an event may be.
/// Plain functions over ``Cx_Journey_V1_Rules``; the handlers only store
/// and fetch them.
enum StageRules {
    static let maxMoves = 200
    static let maxDays: Int32 = 3_650
    static let maxFutureTolerance: Int32 = 86_400

    /// What a new store starts with (the defaults of the journey issue).
    static func defaultRules() -> Cx_Journey_V1_Rules {
        var rules = Cx_Journey_V1_Rules()
        let moves: [(String, Stage)] = [
            ("visit", .assessment), ("inquiry", .assessment),
            ("first_purchase", .admission),
            ("purchase_confirmation", .affirmation),
            ("delivery", .activation), ("first_use", .activation),
            ("onboarding_done", .acclimation),
            ("goal_reached", .accomplishment),
            ("repeat_purchase", .acceptance), ("renewal", .acceptance),
            ("referral", .advocacy), ("review", .advocacy), ("promoter_score", .advocacy),
        ]
        rules.moves = moves.map { type, stage in
            .with {
                $0.eventType = type
                $0.stage = stage
            }
        }
        // Quiet days grow with commitment: a browser is lost after two
        // months of silence, a loyal customer after a year. Norms are how
        // long each stage usually takes before the next.
        let settings: [(Stage, Int32, Int32)] = [
            (.assessment, 60, 14), (.admission, 90, 2), (.affirmation, 90, 7), (.activation, 90, 14),
            (.acclimation, 120, 30), (.accomplishment, 180, 60), (.acceptance, 365, 120), (.advocacy, 365, 180),
        ]
        rules.stages = settings.map { stage, quiet, norm in
            .with {
                $0.stage = stage
                $0.quietDays = quiet
                $0.normDays = norm
            }
        }
        rules.futureToleranceSeconds = 300
        return rules
    }

    /// Checks proposed rules field by field; the error names the first bad
    /// one ("rules.moves[3].event_type").
    static func validate(_ rules: Cx_Journey_V1_Rules, field: String = "rules") throws(RPCError) {
        guard rules.moves.count <= maxMoves else {
            throw .invalidArgument(field: "\(field).moves", "has \(rules.moves.count) moves; at most \(maxMoves)")
        }
        var seen: [String: Int] = [:]
        for (index, move) in rules.moves.enumerated() {
            let path = "\(field).moves[\(index)]"
            try validateEventType(move.eventType, field: "\(path).event_type")
            if let first = seen[move.eventType] {
                throw .invalidArgument(
                    field: "\(path).event_type", "\(RequestCheck.quoted(move.eventType)) is already mapped by moves[\(first)]")
            }
            seen[move.eventType] = index
            guard move.stage.isJourneyStage else {
                throw .invalidArgument(
                    field: "\(path).stage",
                    "must be one of the eight stages (ASSESSMENT to ADVOCACY); customers become LOST by silence, not by an event")
            }
        }
        var given: Set<Int> = []
        for (index, settings) in rules.stages.enumerated() {
            let path = "\(field).stages[\(index)]"
            guard settings.stage.isJourneyStage else {
                throw .invalidArgument(field: "\(path).stage", "must be one of the eight stages (ASSESSMENT to ADVOCACY)")
            }
            guard given.insert(settings.stage.rawValue).inserted else {
                throw .invalidArgument(field: "\(path).stage", "\(settings.stage.name) is given twice")
            }
            guard (1...maxDays).contains(settings.quietDays) else {
                throw .invalidArgument(field: "\(path).quiet_days", "is \(settings.quietDays); must be 1 to \(maxDays)")
            }
            guard (1...maxDays).contains(settings.normDays) else {
                throw .invalidArgument(field: "\(path).norm_days", "is \(settings.normDays); must be 1 to \(maxDays)")
            }
        }
        let missing = Stage.journey.filter { !given.contains($0.rawValue) }
        guard missing.isEmpty else {
            throw .invalidArgument(
                field: "\(field).stages", "has no settings for \(missing.map(\.name).joined(separator: ", ")); all eight stages need them")
        }
        guard (0...maxFutureTolerance).contains(rules.futureToleranceSeconds) else {
            throw .invalidArgument(
                field: "\(field).future_tolerance_seconds", "is \(rules.futureToleranceSeconds); must be 0 to \(maxFutureTolerance)")
        }
    }

    /// 1..64 characters of lowercase ASCII letters, digits and "_".
    static func validateEventType(_ type: String, field: String) throws(RPCError) {
        guard !type.isEmpty else { throw .invalidArgument(field: field, "must not be empty") }
        guard type.utf8.count <= 64 else { throw .invalidArgument(field: field, "is \(type.utf8.count) characters; at most 64") }
        let valid = type.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
        guard valid else {
            throw .invalidArgument(
                field: field, "\(RequestCheck.quoted(type)) may hold only lowercase ASCII letters, digits and _ (as in first_purchase)")
        }
    }
}

/// Rules ready for use on every event: the moves as a dictionary and the
/// settings by stage.
struct CompiledRules: Sendable {
    let rules: Cx_Journey_V1_Rules
    private let moves: [String: Stage]
    private let quiet: [Int: Double]
    private let norm: [Int: Int32]

    init(_ rules: Cx_Journey_V1_Rules) {
        self.rules = rules
        var moves: [String: Stage] = [:]
        for move in rules.moves { moves[move.eventType] = move.stage }
        self.moves = moves
        var quiet: [Int: Double] = [:]
        var norm: [Int: Int32] = [:]
        for settings in rules.stages {
            quiet[settings.stage.rawValue] = Double(settings.quietDays) * 86_400
            norm[settings.stage.rawValue] = settings.normDays
        }
        self.quiet = quiet
        self.norm = norm
    }

    func stage(for type: String) -> Stage? { moves[type] }

    /// Seconds of silence after which a customer in `stage` is LOST; nil for LOST itself.
    func quietSeconds(_ stage: Stage) -> Double? { quiet[stage.rawValue] }

    func normDays(_ stage: Stage) -> Int32 { norm[stage.rawValue] ?? StageRules.maxDays }

    var futureTolerance: Double { Double(rules.futureToleranceSeconds) }
}
