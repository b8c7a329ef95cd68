import CXModel
import Foundation
import XCTest

/// cxctl's profiles commands against the real cx-profiles executable.
final class ProfilesCLITests: XCTestCase {
    func testImportReportsRejectedRowsAndTheDataSurvivesARestart() throws {
        var running = try RunningService(.profiles)
        let directory = running.dataDirectory
        let csv = directory.appendingPathComponent("customers.csv")
        try """
            id,name,email,phone,city,attributes.goal
            c1,علی رضایی,ali@example.com,09123456789,تهران,save
            c2,Bad Email,not-an-email,,Shiraz,
            c3,Sara,sara@example.com,,Tehran,spend

            """.write(to: csv, atomically: true, encoding: .utf8)
        let imported = try runCommand("cxctl", ["profiles", "import", csv.path, "--addr", running.address])
        XCTAssertEqual(imported.status, 1, "a rejected row makes the exit status 1: \(imported.stderr)")
        XCTAssertTrue((imported.stdout + imported.stderr).contains("not-an-email"), imported.stdout + imported.stderr)
        let again = try runCommand("cxctl", ["profiles", "import", csv.path, "--addr", running.address, "--json"])
        XCTAssertEqual(again.status, 1, again.stderr)

        let segment = try runCommand("cxctl", ["profiles", "segments", "define", "Savers", "--rule", #"attributes.goal == "save""#, "--addr", running.address])
        XCTAssertEqual(segment.status, 0, segment.stderr)
        let badRule = try runCommand("cxctl", ["profiles", "segments", "validate", "city > 3", "--addr", running.address])
        XCTAssertEqual(badRule.status, 1)
        XCTAssertTrue(badRule.stdout.contains("line 1, column 6"), badRule.stdout)

        let stopped = running.stop(keepData: true)
        XCTAssertEqual(stopped.status, 0, stopped.log)
        running = try RunningService(.profiles, reusing: directory)
        defer { _ = running.stop() }
        let listed = try runCommand("cxctl", ["profiles", "customers", "list", "--addr", running.address])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains("علی رضایی"), listed.stdout)
        XCTAssertTrue(listed.stdout.contains("Sara"), listed.stdout)
        XCTAssertFalse(listed.stdout.contains("Bad Email"), listed.stdout)
        let exported = try runCommand("cxctl", ["profiles", "export", "--format", "jsonl", "--addr", running.address])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        XCTAssertEqual(exported.stdout.split(separator: "\n").count, 2, "the second import changed nothing: \(exported.stdout)")
    }
}
