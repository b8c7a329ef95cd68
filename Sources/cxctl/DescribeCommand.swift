import ArgumentParser
import CXModel
import CXWire
import Foundation
import SwiftProtobuf

struct DescribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "List the methods a service serves, with their request and response messages.",
        discussion: "The message definitions are in proto-spec/ of the CX repository.")

    @Argument(help: "profiles, loyalty, journey, feedback, or host:port.")
    var service: String

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let target = try connection.target(service)
        let format = output.format
        let client = try connection.client(for: target)
        let response: Cx_Wire_V1_ListMethodsResponse
        do {
            response = try await client.call(Cx_Wire_V1_Reflection.listMethods, .init(), options: connection.callOptions)
        } catch {
            await client.close()
            try failCall(error, target: target, what: "describe", output: format)
        }
        await client.close()
        if format == .json {
            print(try response.jsonString())
            return
        }
        print("\(response.server) at \(target.address): \(response.methods.count) methods")
        var table = Table("METHOD", "ACCESS", "REQUEST", "RESPONSE")
        for method in response.methods {
            let access = MethodAccess(rawValue: method.access.rawValue)?.description ?? "?"
            table.append([method.name, access, method.requestType, method.responseType])
        }
        print(table.render())
    }
}
