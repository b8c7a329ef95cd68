import CCXStore
import Foundation
import XCTest

/// The file identity the log flush checks the WAL by (see `WALFile`): the
/// same device and inode `stat` gives, by path and by descriptor, and a new
/// file at the same path is told apart from the one still open.
final class FileIdentityTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testIdentityIsStatsDeviceAndInodeByPathAndByDescriptor() throws {
        let path = directory.appendingPathComponent("store.sqlite-wal").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("log".utf8)))
        var status = stat()
        XCTAssertEqual(stat(path, &status), 0)

        var byPath = ccxstore_file_identity()
        XCTAssertEqual(ccxstore_path_identity(path, &byPath), 0)
        XCTAssertEqual(byPath.device, UInt64(status.st_dev))
        XCTAssertEqual(byPath.inode, UInt64(status.st_ino))

        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        defer { close(descriptor) }
        var byDescriptor = ccxstore_file_identity()
        XCTAssertEqual(ccxstore_descriptor_identity(descriptor, &byDescriptor), 0)
        XCTAssertEqual(byDescriptor.device, byPath.device)
        XCTAssertEqual(byDescriptor.inode, byPath.inode)

        // Replaced under the open descriptor: the path names another file now.
        try FileManager.default.removeItem(atPath: path)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("another log".utf8)))
        var replaced = ccxstore_file_identity()
        XCTAssertEqual(ccxstore_path_identity(path, &replaced), 0)
        XCTAssertEqual(replaced.device, byDescriptor.device)
        XCTAssertNotEqual(replaced.inode, byDescriptor.inode)
    }

    func testAMissingFileIsAnErrorWithErrno() {
        var identity = ccxstore_file_identity()
        errno = 0
        XCTAssertEqual(ccxstore_path_identity(directory.appendingPathComponent("نیست-wal").path, &identity), -1)
        XCTAssertEqual(errno, ENOENT)
        errno = 0
        XCTAssertEqual(ccxstore_descriptor_identity(-1, &identity), -1)
        XCTAssertEqual(errno, EBADF)
    }
}
