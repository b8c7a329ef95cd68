import CXModel
import CXWire
import Foundation
import XCTest

/// Finds and runs the package's built executables.
enum Executables {
    /// The directory `swift build` put the products in: the test bundle's own.
    static let directory: URL = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.bundleURL.deletingLastPathComponent(),
        ]
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("cxctl").path) {
            return candidate
        }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.appendingPathComponent(".build/debug")
    }()

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
}

/// What a finished command printed and how it exited.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `name` with `arguments`, waiting at most `timeout` seconds.
func runCommand(
    _ name: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, timeout: TimeInterval = 30
) throws -> CommandResult {
    let process = Process()
    process.executableURL = name.hasPrefix("/") ? URL(fileURLWithPath: name) : Executables.url(name)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let input = Pipe()
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    // Read both pipes while the process runs, so a full pipe cannot stall it.
    let collected = ReadBoth(out: out, err: err)
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        XCTFail("\(name) \(arguments) ran past \(timeout) s")
    }
    process.waitUntilExit()
    let (stdout, stderr) = collected.finish()
    return CommandResult(status: process.terminationStatus, stdout: stdout, stderr: stderr)
}

final class ReadBoth: @unchecked Sendable {
    // The two reader threads write disjoint fields and are joined by `finish()`.
    private var out = Data()
    private var err = Data()
    private let group = DispatchGroup()

    init(out: Pipe?, err: Pipe) {
        if let out {
            group.enter()
            DispatchQueue.global().async {
                self.out = out.fileHandleForReading.readDataToEndOfFile()
                self.group.leave()
            }
        }
        group.enter()
        DispatchQueue.global().async {
            self.err = err.fileHandleForReading.readDataToEndOfFile()
            self.group.leave()
        }
    }

    func finish() -> (String, String) {
        group.wait()
        return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }
}

/// A service executable running on a free loopback port.
final class RunningService {
    let process = Process()
    let address: String
    let dataDirectory: URL
    private let logPipe = Pipe()
    private let logs: ReadBoth

    /// - Parameters:
    ///   - reusing: a data directory of an earlier run, to restart on the same data.
    ///   - tokensFile: serve with access control, these tokens (`--tokens-file`);
    ///     nil serves without (`--no-auth`).
    ///   - environment: variables set for the service, beside this process's own.
    init(
        _ service: CXServiceName, extraArguments: [String] = [], reusing: URL? = nil, tokensFile: URL? = nil,
        environment: [String: String] = [:]
    ) throws {
        dataDirectory = reusing ?? FileManager.default.temporaryDirectory.appendingPathComponent("cx-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let addressFile = dataDirectory.appendingPathComponent("address")
        try? FileManager.default.removeItem(at: addressFile)
        process.executableURL = Executables.url(service.executableName)
        process.arguments = [
            "--listen", "127.0.0.1:0", "--address-file", addressFile.path, "--data-dir", dataDirectory.path,
        ] + (tokensFile.map { ["--tokens-file", $0.path] } ?? ["--no-auth"]) + extraArguments
            + Self.unnamedPeers(of: service, given: extraArguments)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = logPipe
        logs = ReadBoth(out: nil, err: logPipe)
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        var written: String?
        while Date() < deadline, process.isRunning {
            if let text = try? String(contentsOf: addressFile, encoding: .utf8), text.hasSuffix("\n") {
                written = text.trimmingCharacters(in: .whitespacesAndNewlines)
                break
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        guard let written else {
            process.terminate()
            throw RPCError(code: .unavailable, message: "\(service.executableName) did not start listening")
        }
        address = written
    }

    /// The peers a service sends to, by flag.
    static let peerFlags: [CXServiceName: [String]] = [
        .profiles: ["--loyalty-addr", "--journey-addr", "--feedback-addr"],
        .loyalty: ["--profiles-addr", "--journey-addr"],
        .journey: ["--profiles-addr"],
        .feedback: ["--loyalty-addr", "--journey-addr", "--profiles-addr"],
    ]

    /// `--<peer>-addr none` for each peer the test did not name: a service
    /// under test never sends to the default ports, where a developer's own
    /// platform may be listening.
    static func unnamedPeers(of service: CXServiceName, given: [String]) -> [String] {
        (peerFlags[service] ?? []).filter { !given.contains($0) }.flatMap { [$0, "none"] }
    }

    /// Sends SIGTERM and waits; returns the exit status and everything logged.
    /// - Parameter keepData: leave the data directory for a restart.
    func stop(signal: Int32 = SIGTERM, keepData: Bool = false) -> (status: Int32, log: String) {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        try? logPipe.fileHandleForWriting.close()
        let (_, log) = logs.finish()
        if !keepData { try? FileManager.default.removeItem(at: dataDirectory) }
        return (process.terminationStatus, log)
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}
