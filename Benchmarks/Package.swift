// swift-tools-version: 6.2
import PackageDescription

// Benchmarks live in their own package so their dependencies never slow the
// product's build. Run from the repository root:
//   swift run -c release --package-path Benchmarks cx-bench wire
let package = Package(
    name: "CXBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "CX", path: "../"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/hdrhistogram/hdrhistogram-swift.git", exact: "0.2.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        // For `cx-bench compare` (and `wire --implementations grpc`): gRPC's unary echo over
        // HTTP/2 as a reference for CXWire. The method is described by hand, no protoc plugin.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    ],
    targets: [
        .executableTarget(
            name: "cx-bench",
            dependencies: [
                .product(name: "CXWire", package: "CX"),
                .product(name: "CXModel", package: "CX"),
                .product(name: "CXStore", package: "CX"),
                .product(name: "CXProfiles", package: "CX"),
                .product(name: "CXLoyalty", package: "CX"),
                .product(name: "CXJourney", package: "CX"),
                .product(name: "CXFeedback", package: "CX"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            swiftSettings: [.treatAllWarnings(as: .error)]
        ),
    ]
)
