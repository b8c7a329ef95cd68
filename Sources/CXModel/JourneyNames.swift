/// The journey enums' names in words: lowercase, as profiles' journey_stage
/// trait, the journey service and cxctl all spell them, so what one shows
/// another can read back.
extension Cx_Journey_V1_Stage {
    /// Coleman's eight, in journey order (LOST is not one of them).
    public static let journey: [Cx_Journey_V1_Stage] = [
        .assessment, .admission, .affirmation, .activation, .acclimation, .accomplishment, .acceptance, .advocacy,
    ]

    /// "assessment" ... "advocacy", "lost"; "" when unspecified.
    public var name: String {
        switch self {
        case .unspecified: ""
        case .assessment: "assessment"
        case .admission: "admission"
        case .affirmation: "affirmation"
        case .activation: "activation"
        case .acclimation: "acclimation"
        case .accomplishment: "accomplishment"
        case .acceptance: "acceptance"
        case .advocacy: "advocacy"
        case .lost: "lost"
        case .UNRECOGNIZED(let number): "stage(\(number))"
        }
    }
}

extension Cx_Journey_V1_Channel {
    /// "website", "after-sales", ...; "" when unspecified. The journey
    /// service's default touchpoints take these as their ids.
    public var name: String {
        switch self {
        case .unspecified: ""
        case .website: "website"
        case .social: "social"
        case .store: "store"
        case .product: "product"
        case .packaging: "packaging"
        case .logistics: "logistics"
        case .phone: "phone"
        case .email: "email"
        case .sms: "sms"
        case .app: "app"
        case .afterSales: "after-sales"
        case .event: "event"
        case .UNRECOGNIZED(let number): "channel(\(number))"
        }
    }
}
