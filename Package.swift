// swift-tools-version: 6.2
import PackageDescription

// Our own targets treat warnings as errors: a warning such as "no 'async'
// operations occur within 'await'" is how a blocking GRDB overload or a lost
// Sendable check shows itself, and it must not slip by.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "CX",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CXModel", targets: ["CXModel"]),
        .library(name: "CXWire", targets: ["CXWire"]),
        .library(name: "CXStore", targets: ["CXStore"]),
        .library(name: "CXService", targets: ["CXService"]),
        .library(name: "CXProfiles", targets: ["CXProfiles"]),
        .library(name: "CXLoyalty", targets: ["CXLoyalty"]),
        .library(name: "CXJourney", targets: ["CXJourney"]),
        .library(name: "CXFeedback", targets: ["CXFeedback"]),
        .executable(name: "cxctl", targets: ["cxctl"]),
        .executable(name: "cx-profiles", targets: ["cx-profiles"]),
        .executable(name: "cx-loyalty", targets: ["cx-loyalty"]),
        .executable(name: "cx-journey", targets: ["cx-journey"]),
        .executable(name: "cx-feedback", targets: ["cx-feedback"]),
        .executable(name: "cx-load", targets: ["cx-load"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", exact: "1.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
    ],
    targets: [
        // The contract: messages generated from proto-spec, method descriptors. No I/O.
        .target(
            name: "CXModel",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: strict
        ),
        // Framing, RPC server and client over SwiftNIO.
        //
        // Release builds skip the run-time exclusivity checks in this module, as Swift's
        // standard library is built: each per-call touch of a handler's stored state
        // (frame stream, call table) cost a check through thread-local storage, and
        // dropping them took 6% of the CPU per call of `cx-bench wire` at 16x8 (8 ABBA
        // rounds). Debug builds, and so every test run, keep the checks and trap on an
        // overlapping access. The handlers' state lives on one event loop each.
        .target(
            name: "CXWire",
            dependencies: [
                "CXModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // C for what Swift's Glibc module leaves out: statx, for the log flush (WALSync.swift).
        .target(name: "CCXStore"),
        // The SQLite store (GRDB): migrations, compressed bodies, group commit, idempotency.
        // Knows nothing of the wire.
        .target(
            name: "CXStore",
            dependencies: [
                "CCXStore",
                "CXModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for binding hot statements directly (DirectBinding.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // What every service executable shares: configuration, logging, lifecycle.
        .target(
            name: "CXService",
            dependencies: [
                "CXWire",
                "CXStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The profiles service: customers, personas, segments, value.
        .target(
            name: "CXProfiles",
            dependencies: [
                "CXModel",
                "CXWire",
                "CXStore",
                "CXService",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The loyalty service: program, points ledger, tiers, rewards.
        .target(
            name: "CXLoyalty",
            dependencies: [
                "CXModel",
                "CXWire",
                "CXStore",
                "CXService",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The journey service: stages, touchpoints, the first 100 days, funnel analytics.
        .target(
            name: "CXJourney",
            dependencies: [
                "CXModel",
                "CXWire",
                "CXStore",
                "CXService",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The feedback service: surveys, scores, complaints, what customers say.
        .target(
            name: "CXFeedback",
            dependencies: [
                "CXModel",
                "CXWire",
                "CXStore",
                "CXService",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Names the tools (cxctl demo, cx-load) make customers from.
        .target(name: "CXSampleData", swiftSettings: strict),
        .executableTarget(
            name: "cxctl",
            dependencies: [
                "CXWire",
                "CXService",
                "CXSampleData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "cx-profiles", dependencies: ["CXService", "CXProfiles"], swiftSettings: strict),
        .executableTarget(
            name: "cx-loyalty",
            dependencies: ["CXService", "CXLoyalty", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: strict),
        .executableTarget(
            name: "cx-journey",
            dependencies: ["CXService", "CXJourney", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: strict),
        .executableTarget(
            name: "cx-feedback",
            dependencies: ["CXService", "CXFeedback", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: strict),
        // The load tester operators point at each service (seeds, warms up, measures).
        .executableTarget(
            name: "cx-load",
            dependencies: [
                "CXWire",
                "CXModel",
                "CXSampleData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict),

        // What the services' test targets share: a hand-moved clock, error assertions.
        .target(
            name: "CXTestSupport", dependencies: ["CXWire", .product(name: "Logging", package: "swift-log")], path: "Tests/CXTestSupport",
            swiftSettings: strict),
        .testTarget(name: "CXModelTests", dependencies: ["CXModel"], swiftSettings: strict),
        .testTarget(
            name: "CXWireTests",
            dependencies: [
                "CXWire",
                "CXTestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CXServiceTests",
            dependencies: ["CXService", "CXTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CXProfilesTests",
            dependencies: ["CXProfiles", "CXWire", "CXStore", "CXTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CXLoyaltyTests",
            dependencies: ["CXLoyalty", "CXWire", "CXTestSupport", "CXService", "CXStore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CXJourneyTests",
            dependencies: ["CXJourney", "CXWire", "CXTestSupport", "CXService", "CXStore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CXFeedbackTests",
            dependencies: ["CXFeedback", "CXWire", "CXService", "CXStore", "CXTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CXStoreTests",
            dependencies: ["CCXStore", "CXStore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        // End to end: the real executables over loopback TCP.
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["CXWire", "CXTestSupport", "cxctl", "cx-profiles", "cx-loyalty", "cx-journey", "cx-feedback", "cx-load"],
            swiftSettings: strict
        ),
    ]
)
