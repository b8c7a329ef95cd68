import Foundation
import XCTest

@testable import CXModel

/// Keeps proto-spec/ and the generated Swift in step.
final class GeneratedCodeTests: XCTestCase {
    private let protoSpec = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("proto-spec")

    private func protoFiles() throws -> [(path: String, contents: [UInt8])] {
        let enumerator = FileManager.default.enumerator(at: protoSpec, includingPropertiesForKeys: nil)!
        var files: [(String, [UInt8])] = []
        for case let url as URL in enumerator where url.pathExtension == "proto" {
            let relative = String(url.standardizedFileURL.path.dropFirst(protoSpec.standardizedFileURL.path.count + 1))
            guard relative.hasPrefix("cx/") else { continue }
            files.append((relative, Array(try Data(contentsOf: url))))
        }
        return files
    }

    func testGeneratedCodeMatchesProtoSpec() throws {
        let files = try protoFiles()
        XCTAssertFalse(files.isEmpty, "no .proto files under \(protoSpec.path)")
        XCTAssertEqual(
            ProtoSpecFingerprint.compute(files: files), CXMethods.protoSpecFingerprint,
            "a .proto in proto-spec/ changed without regenerating: run scripts/generate-proto.sh and commit the result")
    }

    func testEveryRPCInProtoSpecHasADescriptor() throws {
        var declared: Set<String> = []
        for file in try protoFiles() {
            let text = String(decoding: file.contents, as: UTF8.self)
            let package = text.firstMatch(of: /package\s+([\w.]+)\s*;/).map { String($0.1) } ?? ""
            var service = ""
            for line in text.split(separator: "\n") {
                let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                if let match = code.firstMatch(of: /^\s*service\s+(\w+)/) { service = String(match.1) }
                if let match = code.firstMatch(of: /^\s*rpc\s+(\w+)\s*\(/) { declared.insert("/\(package).\(service)/\(match.1)") }
            }
        }
        XCTAssertEqual(Set(CXMethods.all.map(\.fullName)), declared)
    }

    func testDescriptorsNameTheirMessages() {
        XCTAssertEqual(Cx_Wire_V1_Health.check.fullName, "/cx.wire.v1.Health/Check")
        let check = AnyMethodDescriptor(Cx_Wire_V1_Health.check)
        XCTAssertEqual(check.requestTypeName, "cx.wire.v1.HealthCheckRequest")
        XCTAssertEqual(check.responseTypeName, "cx.wire.v1.HealthCheckResponse")
    }

    func testLookupAcceptsFullShortAndBareNames() {
        XCTAssertEqual(CXMethods.lookup("/cx.wire.v1.Echo/Echo")?.fullName, "/cx.wire.v1.Echo/Echo")
        XCTAssertEqual(CXMethods.lookup("Health/Check")?.fullName, "/cx.wire.v1.Health/Check")
        XCTAssertEqual(CXMethods.lookup("cx.wire.v1.Reflection/ListMethods")?.fullName, "/cx.wire.v1.Reflection/ListMethods")
        XCTAssertEqual(CXMethods.lookup("listmethods")?.fullName, "/cx.wire.v1.Reflection/ListMethods")
        XCTAssertNil(CXMethods.lookup("NoSuchMethod"))
        let twins = [AnyMethodDescriptor(Cx_Wire_V1_Echo.echo),
                     AnyMethodDescriptor(MethodDescriptor<Cx_Wire_V1_EchoRequest, Cx_Wire_V1_EchoResponse>(service: "cx.other.v1.Echo", method: "Echo"))]
        XCTAssertNil(CXMethods.lookup("Echo", among: twins), "ambiguous names resolve to nothing")
    }

    func testServiceDirectory() {
        XCTAssertEqual(CXServiceName.loyalty.defaultAddress, "127.0.0.1:7102")
        XCTAssertEqual(CXServiceName.feedback.addressVariable, "CX_FEEDBACK_ADDR")
        XCTAssertEqual(Set(CXServiceName.allCases.map(\.defaultPort)).count, 4)
    }
}
