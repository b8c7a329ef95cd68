import ArgumentParser
import CXModel
import CXWire
import Foundation

/// `cxctl profiles customers ...`
struct ProfilesCustomersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customers",
        abstract: "Create, show, change, erase, list and search customer profiles.",
        discussion: """
            Examples:
              cxctl profiles customers create --name "Reza Alizadeh" --phone +989121234567 --city Tehran --country IR
              cxctl profiles customers get c-1042
              cxctl profiles customers update c-1042 --email reza@example.com --clear phone
              cxctl profiles customers list --all --json
              cxctl profiles customers search "ali reza" --field name
              cxctl profiles customers delete c-1042
            """,
        subcommands: [Get.self, Create.self, Update.self, Delete.self, List.self, Search.self]
    )
}

enum ProfilesGenderArgument: String, CaseIterable, ExpressibleByArgument {
    case female, male, other, undisclosed, unspecified

    var proto: Cx_Profiles_V1_Gender {
        switch self {
        case .female: .female
        case .male: .male
        case .other: .other
        case .undisclosed: .undisclosed
        case .unspecified: .unspecified
        }
    }
}

enum ProfilesChannelArgument: String, CaseIterable, ExpressibleByArgument {
    case email, sms, phone, app, web, social, store, post, messenger

    var proto: Cx_Profiles_V1_Channel {
        switch self {
        case .email: .email
        case .sms: .sms
        case .phone: .phone
        case .app: .app
        case .web: .web
        case .social: .social
        case .store: .store
        case .post: .post
        case .messenger: .messenger
        }
    }
}

enum ProfilesSearchFieldArgument: String, CaseIterable, ExpressibleByArgument {
    case all, name, email, phone

    var proto: Cx_Profiles_V1_SearchField {
        switch self {
        case .all: .all
        case .name: .name
        case .email: .email
        case .phone: .phone
        }
    }
}

/// The profile fields `customers create` and `customers update` set.
struct ProfilesCustomerFields: ParsableArguments {
    @Option(help: "Full name as the customer writes it, up to 200 characters.")
    var name: String?

    @Option(help: "Email address.")
    var email: String?

    @Option(help: "Phone number; E.164 is recommended: +989121234567.")
    var phone: String?

    @Option(help: ArgumentHelp("Birth date, Gregorian; 0000-MM-DD when the year is not known.", valueName: "YYYY-MM-DD"))
    var birthDate: String?

    @Option(help: "female, male, other, undisclosed (asked, chose not to say) or unspecified (not known).")
    var gender: ProfilesGenderArgument?

    @Option(help: "City.")
    var city: String?

    @Option(help: "Province or state.")
    var region: String?

    @Option(help: ArgumentHelp("ISO 3166-1 alpha-2 country code: IR, DE, ...", valueName: "code"))
    var country: String?

    @Option(help: "What the customer does for a living.")
    var occupation: String?

    @Option(help: "Highest education: primary, secondary, diploma, associate, bachelor, master, doctorate, ...")
    var education: String?

    @Option(
        name: .customLong("channel"),
        help: ArgumentHelp("A channel the customer prefers; repeat it, most preferred first.", valueName: "channel"))
    var channels: [ProfilesChannelArgument] = []

    @Flag(inversion: .prefixedNo, help: "The customer agreed to (or refused) marketing messages.")
    var consent: Bool?

    @Option(help: ArgumentHelp(
        "How the consent decision was recorded (web-form, store, app, phone, ...); goes with --consent or --no-consent.",
        valueName: "method"))
    var consentMethod: String?

    @Option(
        name: .customLong("attribute"),
        help: ArgumentHelp(
            "An attribute (needs, goals, challenges, habits, preferences, ...); repeatable. An empty value removes the key.",
            valueName: "key=value"))
    var attributes: [String] = []

    /// Sets the fields given on the command line; returns their update_mask
    /// paths. Bad values are flag errors (exit 64).
    @discardableResult
    func apply(to customer: inout Cx_Profiles_V1_Customer) throws -> [String] {
        var paths: [String] = []
        if let name {
            customer.name = name
            paths.append("name")
        }
        if let email {
            customer.email = email
            paths.append("email")
        }
        if let phone {
            customer.phone = phone
            paths.append("phone")
        }
        if let birthDate {
            guard let date = ProfilesCSV.parseDate(birthDate) else {
                throw ValidationError(
                    "--birth-date: \"\(birthDate)\" is not a date YYYY-MM-DD (0000-MM-DD when the year is not known)")
            }
            customer.birthDate = date
            paths.append("birth_date")
        }
        if let gender {
            customer.gender = gender.proto
            paths.append("gender")
        }
        if let city {
            customer.city = city
            paths.append("city")
        }
        if let region {
            customer.region = region
            paths.append("region")
        }
        if let country {
            customer.country = country
            paths.append("country")
        }
        if let occupation {
            customer.occupation = occupation
            paths.append("occupation")
        }
        if let education {
            customer.education = education
            paths.append("education")
        }
        if !channels.isEmpty {
            guard Set(channels).count == channels.count else {
                throw ValidationError("--channel: each channel may be given once")
            }
            customer.preferredChannels = channels.map(\.proto)
            paths.append("preferred_channels")
        }
        if let consent {
            var decision = Cx_Profiles_V1_MarketingConsent()
            decision.given = consent
            decision.method = consentMethod ?? ""
            customer.marketingConsent = decision
            paths.append("marketing_consent")
        } else if consentMethod != nil {
            throw ValidationError(
                "--consent-method goes with --consent or --no-consent: the decision and how it was recorded are set together")
        }
        for entry in attributes {
            guard let equals = entry.firstIndex(of: "=") else {
                throw ValidationError("--attribute: \"\(entry)\" is not key=value")
            }
            let key = String(entry[..<equals])
            let value = String(entry[entry.index(after: equals)...])
            guard ProfilesCSV.isAttributeKey(key) else {
                throw ValidationError(
                    "--attribute: \"\(key)\" is not an attribute key (1 to 64 of a-z, 0-9 and _, starting with a letter)")
            }
            guard !paths.contains("attributes.\(key)") else {
                throw ValidationError("--attribute: \(key) is given twice")
            }
            if !value.isEmpty { customer.attributes[key] = value }
            paths.append("attributes.\(key)")
        }
        return paths
    }

    /// The fields `--clear` takes, as update_mask paths.
    static let clearable = [
        "name", "email", "phone", "birth_date", "gender", "city", "region", "country", "occupation", "education",
        "preferred_channels", "marketing_consent", "attributes",
    ]

    /// The update_mask path `--clear FIELD` names ("birth-date" reads as "birth_date").
    static func clearPath(_ field: String) throws -> String {
        let text = field.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("attributes.") {
            guard ProfilesCSV.isAttributeKey(String(text.dropFirst("attributes.".count))) else {
                throw ValidationError("--clear: \"\(field)\" does not name a valid attribute key")
            }
            return text
        }
        let path = text.lowercased().replacingOccurrences(of: "-", with: "_")
        guard clearable.contains(path) else {
            throw ValidationError(
                "--clear: \"\(field)\" is not a field that can be cleared; one of \(clearable.joined(separator: ", ")) or attributes.<key>")
        }
        return path
    }
}

extension ProfilesCustomersCommand {
    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get",
            abstract: "Show one customer's profile, traits included.",
            discussion: """
                Examples:
                  cxctl profiles customers get c-1042
                  cxctl profiles customers get c-1042 --json
                """)

        @Argument(help: "The customer's id.")
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_GetCustomerRequest()
            request.customerID = id
            let response = try await session.call(Cx_Profiles_V1_Customers.getCustomer, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            print(ProfilesView.customer(response.customer).render())
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a customer; prints the profile as stored, with its id.",
            discussion: """
                At least one of --name, --email and --phone is needed. Without --id the service \
                picks the id. With --idempotency-key, running the same command again (after a \
                timeout, say) creates the customer once and prints the first answer.

                Examples:
                  cxctl profiles customers create --name "سارا رضایی" --email sara@example.com \\
                      --birth-date 1992-06-15 --gender female --city تهران --country IR \\
                      --channel sms --channel email --consent --consent-method store \\
                      --attribute goals="save for a house" --attribute habits="shops on weekends"
                  cxctl profiles customers create --id crm-88121 --phone +989121234567 --idempotency-key crm-88121
                """)

        @OptionGroup var fields: ProfilesCustomerFields

        @Option(help: ArgumentHelp(
            "The new customer's id: 1 to 64 of A-Z a-z 0-9 - _ . : (default: the service picks one).", valueName: "id"))
        var id: String?

        @Option(help: ArgumentHelp("Makes a retry of this command create the customer only once.", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard fields.name != nil || fields.email != nil || fields.phone != nil else {
                throw ValidationError("a customer needs at least one of --name, --email and --phone")
            }
            _ = try makeRequest()
        }

        /// The request the flags describe; a bad value is a flag error, found before anything is sent.
        func makeRequest() throws -> Cx_Profiles_V1_CreateCustomerRequest {
            var customer = Cx_Profiles_V1_Customer()
            try fields.apply(to: &customer)
            if let id { customer.id = id }
            var request = Cx_Profiles_V1_CreateCustomerRequest()
            request.customer = customer
            request.idempotencyKey = idempotencyKey ?? ""
            return request
        }

        func run() async throws {
            let request = try makeRequest()
            let session = try ServiceSession(.profiles, connection, format: output.format)
            let response = try await session.call(Cx_Profiles_V1_Customers.createCustomer, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            print(ProfilesView.customer(response.customer).render())
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Change some fields of a customer and leave the others as they are.",
            discussion: """
                Only the fields given are changed (they make the update_mask), so two admins \
                changing different fields never undo each other. --clear FIELD empties a field: \
                name, email, phone, birth_date, gender, city, region, country, occupation, \
                education, preferred_channels, marketing_consent, attributes (every key) or \
                attributes.<key>. --channel replaces the whole list of channels; --attribute \
                key=value changes that key only (key= removes it). --expected-version N changes \
                the customer only if nobody changed it since you read version N (else ABORTED, \
                VERSION_MISMATCH: read it again).

                Examples:
                  cxctl profiles customers update c-1042 --city Shiraz --region Fars
                  cxctl profiles customers update c-1042 --no-consent --consent-method email-link
                  cxctl profiles customers update c-1042 --attribute goals="retire early" --clear attributes.habits
                  cxctl profiles customers update c-1042 --email new@example.com --expected-version 7
                """)

        @Argument(help: "The customer's id.")
        var id: String

        @OptionGroup var fields: ProfilesCustomerFields

        @Option(name: .customLong("clear"), help: ArgumentHelp("A field to empty; repeatable.", valueName: "field"))
        var clear: [String] = []

        @Option(help: ArgumentHelp("Change only if the customer is still at this version.", valueName: "version"))
        var expectedVersion: Int64?

        @Option(help: ArgumentHelp("Makes a retry of this command apply once.", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try checkExpectedVersion(expectedVersion)
            _ = try makeRequest()
        }

        /// The request the flags describe: update_mask is exactly the fields given.
        /// A bad value or a contradiction is a flag error, found before anything is sent.
        func makeRequest() throws -> Cx_Profiles_V1_UpdateCustomerRequest {
            var customer = Cx_Profiles_V1_Customer()
            var mask = try fields.apply(to: &customer)
            for field in clear {
                let path = try ProfilesCustomerFields.clearPath(field)
                guard !mask.contains(path) else {
                    throw ValidationError("--clear \(field): the command already sets or clears \(path)")
                }
                if path == "attributes", mask.contains(where: { $0.hasPrefix("attributes.") }) {
                    throw ValidationError("--clear attributes replaces every key; it cannot go with --attribute or --clear attributes.<key>")
                }
                if path.hasPrefix("attributes."), mask.contains("attributes") {
                    throw ValidationError("--clear \(field) cannot go with --clear attributes, which clears every key")
                }
                mask.append(path)
            }
            guard !mask.isEmpty else {
                throw ValidationError("nothing to change: give the fields to set (--name, --city, ...) or --clear FIELD")
            }
            var request = Cx_Profiles_V1_UpdateCustomerRequest()
            request.customerID = id
            request.customer = customer
            request.updateMask = mask
            request.expectedVersion = expectedVersion ?? 0
            request.idempotencyKey = idempotencyKey ?? ""
            return request
        }

        func run() async throws {
            let request = try makeRequest()
            let session = try ServiceSession(.profiles, connection, format: output.format)
            let response = try await session.call(Cx_Profiles_V1_Customers.updateCustomer, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            print(ProfilesView.customer(response.customer).render())
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Erase a customer's personal data for good.",
            discussion: """
                The profile is deleted and only a tombstone of the id is kept, so the id is \
                never given to anyone else; the other CX services erase their data about the \
                customer soon after. This cannot be undone, so the command asks first; --yes \
                skips the question (for scripts). Erasing a customer already erased answers \
                with the first erasure's time. Answering anything but y or yes exits 1.

                Examples:
                  cxctl profiles customers delete c-1042
                  cxctl profiles customers delete c-1042 --yes --json
                """)

        @Argument(help: "The customer's id.")
        var id: String

        @Flag(name: .shortAndLong, help: "Erase without asking.")
        var yes = false

        @Option(help: ArgumentHelp("Makes a retry of this command apply once.", valueName: "key"))
        var idempotencyKey: String?

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            if !yes {
                try profilesConfirm(
                    "Erase customer \(id) for good? Their personal data will be deleted and cannot be brought back.")
            }
            var request = Cx_Profiles_V1_DeleteCustomerRequest()
            request.customerID = id
            request.idempotencyKey = idempotencyKey ?? ""
            let response = try await session.call(Cx_Profiles_V1_Customers.deleteCustomer, request)
            await session.close()
            if output.format == .json { return try printMessageJSON(response) }
            let when = response.hasErasedAt ? " at \(ProfilesFormat.time(response.erasedAt))" : ""
            print("erased customer \(response.customerID)\(when)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List customers, ordered by id, a page at a time.",
            discussion: """
                Shows one page (50 customers unless --page-size says otherwise) and, when there \
                are more, how to ask for the next one. --all follows every page (for a whole \
                copy of the customers, `cxctl profiles export` writes them as CSV or JSON lines).

                Examples:
                  cxctl profiles customers list
                  cxctl profiles customers list --page-size 200 --page-token <token from the previous page>
                  cxctl profiles customers list --all --json
                """)

        @OptionGroup var page: PageOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await Self.list(page: page, connection: connection, output: output)
        }

        static func list(page: PageOptions, connection: ConnectionOptions, output: OutputOptions) async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            let request = Cx_Profiles_V1_ListCustomersRequest()
            let result = try await session.pages(Cx_Profiles_V1_Customers.listCustomers, request, page)
            await session.close()
            if output.format == .json { return try printMessageJSON(result) }
            print(result.customers.isEmpty ? "(no customers)" : ProfilesView.customers(result.customers).render())
            page.hint(next: result.nextPageToken, format: output.format)
        }
    }

    /// `cxctl profiles list`: the command a new user tries first.
    struct ListShortcut: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List customers: the same as `cxctl profiles customers list`.")

        @OptionGroup var page: PageOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await List.list(page: page, connection: connection, output: output)
        }
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "search",
            abstract: "Find customers whose name, email or phone starts with QUERY.",
            discussion: """
                Case, Arabic or Persian letter forms (ي/ی, ك/ک) and digit forms (۰۱۲/012) do not \
                matter. --field name matches every word of QUERY against the start of some word \
                of the name, in any order ("ali reza" finds "Reza Alizadeh"); --field phone \
                compares digits only.

                Examples:
                  cxctl profiles customers search سارا
                  cxctl profiles customers search "ali reza" --field name
                  cxctl profiles customers search 0912 --field phone --all
                """)

        @Argument(help: "What the name, email or phone starts with.")
        var query: String

        @Option(help: "Which fields to look at.")
        var field: ProfilesSearchFieldArgument = .all

        @OptionGroup var page: PageOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try ServiceSession(.profiles, connection, format: output.format)
            var request = Cx_Profiles_V1_SearchCustomersRequest()
            request.query = query
            request.field = field.proto
            let result = try await session.pages(Cx_Profiles_V1_Customers.searchCustomers, request, page)
            await session.close()
            if output.format == .json { return try printMessageJSON(result) }
            print(result.customers.isEmpty ? "(no customer matches)" : ProfilesView.customers(result.customers).render())
            page.hint(next: result.nextPageToken, format: output.format)
        }
    }
}
