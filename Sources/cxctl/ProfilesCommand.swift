import ArgumentParser
import CXModel
import Foundation

/// `cxctl profiles ...`: the admin's side of the profiles service.
struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "Work with the profiles service: customers, import and export, segments, personas, value.",
        discussion: """
            Every command talks to the profiles service at $CX_PROFILES_ADDR, else at \
            127.0.0.1:7101; --addr overrides that for one command.

            Output is a table for people. --json (or -o json) prints the method's response \
            in protobuf's JSON mapping with the field names of \
            proto-spec/cx/profiles/v1/profiles.proto, exactly as `cxctl call profiles METHOD \
            -o json` would; as in that mapping, fields at their default value (0, false, "") \
            are left out and 64-bit numbers are strings. Money is shown in major units with \
            its currency: 1234 minor units of USD is "12.34 USD".

            Examples:
              cxctl profiles customers create --name "سارا رضایی" --email sara@example.com --channel sms --consent
              cxctl profiles customers search سارا
              cxctl profiles import customers.csv --rejects rejected.csv
              cxctl profiles export --format jsonl --output customers.jsonl
              cxctl profiles segments define "Gold in Tehran" --rule 'traits.tier == "gold" and city == "تهران"'
              cxctl profiles personas define "Young saver" --criterion 'age < 30' --criterion 'attributes.goals contains saving weight 2'
              cxctl profiles value pareto --top-percent 20

            Exit status: 0 success; 1 a call failed (its status code and message are printed \
            on standard error) or as the command's own help says; 64 the command line is wrong.
            """,
        subcommands: [
            ProfilesCustomersCommand.ListShortcut.self,
            ProfilesCustomersCommand.self,
            ProfilesImportCommand.self,
            ProfilesExportCommand.self,
            ProfilesSegmentsCommand.self,
            ProfilesPersonasCommand.self,
            ProfilesValueCommand.self,
        ]
    )
}

extension Cx_Profiles_V1_ListCustomersRequest: PagedRequest {}
extension Cx_Profiles_V1_SearchCustomersRequest: PagedRequest {}
extension Cx_Profiles_V1_ListSegmentsRequest: PagedRequest {}
extension Cx_Profiles_V1_SegmentMembersRequest: PagedRequest {}
extension Cx_Profiles_V1_ListPersonasRequest: PagedRequest {}
extension Cx_Profiles_V1_ValueMoversRequest: PagedRequest {}

extension Cx_Profiles_V1_ListCustomersResponse: PagedList {
    static var items: WritableKeyPath<Self, [Cx_Profiles_V1_Customer]> { \.customers }
}

extension Cx_Profiles_V1_SearchCustomersResponse: PagedList {
    static var items: WritableKeyPath<Self, [Cx_Profiles_V1_Customer]> { \.customers }
}

extension Cx_Profiles_V1_ListSegmentsResponse: PagedList {
    static var items: WritableKeyPath<Self, [Cx_Profiles_V1_Segment]> { \.segments }
}

extension Cx_Profiles_V1_SegmentMembersResponse: PagedResponse {
    mutating func append(page next: Self) {
        customerIds += next.customerIds
        customers += next.customers
        nextPageToken = next.nextPageToken
    }
}

extension Cx_Profiles_V1_ListPersonasResponse: PagedList {
    static var items: WritableKeyPath<Self, [Cx_Profiles_V1_Persona]> { \.personas }
}

extension Cx_Profiles_V1_ValueMoversResponse: PagedList {
    static var items: WritableKeyPath<Self, [Cx_Profiles_V1_ValuedCustomer]> { \.customers }
}

/// A file that cannot be read or written: exit 1 with the message.
struct ProfilesFileError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Asks on standard error and reads the answer from standard input; anything
/// but "y" or "yes" (or the end of input) cancels with exit status 1.
func profilesConfirm(_ question: String) throws {
    writeStderr("\(question) [y/N] ")
    let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
    guard answer == "y" || answer == "yes" else {
        writeStderr("cxctl: cancelled; nothing was changed.\n")
        throw ExitCode(1)
    }
}

/// RULE as given, or standard input when it is "-" (for rules of several lines).
func profilesRuleText(_ rule: String) -> String {
    guard rule == "-" else { return rule }
    return String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
}

func profilesSeconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
