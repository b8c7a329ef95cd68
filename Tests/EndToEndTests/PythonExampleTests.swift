import Foundation
import XCTest

/// proto-spec/examples/python is a client written from proto-spec alone;
/// run it against a live server when python3 with protobuf and grpcio-tools
/// is there (.ci/run installs them).
final class PythonExampleTests: XCTestCase {
    func testPythonClientWrittenFromProtoSpecTalksToALiveServer() throws {
        let python = "/usr/bin/env"
        let probe = try runCommand(python, ["python3", "-c", "import google.protobuf, grpc_tools"])
        try XCTSkipUnless(probe.status == 0, "python3 with protobuf and grpcio-tools is not installed")
        let running = try RunningService(.profiles)
        defer { _ = running.stop() }
        let script = Executables.repository.appendingPathComponent("proto-spec/examples/python/cx_client.py").path
        let result = try runCommand(python, ["python3", script, running.address], timeout: 60)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("سلام"), result.stdout)

        let unknown = try runCommand(python, ["python3", script, running.address, "--method", "/cx.wire.v1.Nope/Nope"], timeout: 60)
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue((unknown.stdout + unknown.stderr).contains("UNIMPLEMENTED"), unknown.stdout + unknown.stderr)
    }
}
