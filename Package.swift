// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "MailTrail",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mailtrail", targets: ["Trail"]),
        .executable(name: "mailtrail-milter", targets: ["Milter"]),
        .executable(name: "mailtrail-tracker", targets: ["Tracker"]),
        .executable(name: "rewrite-bench", targets: ["RewriteBench"]),
        .library(name: "Rewrite", targets: ["Rewrite"]),
        .library(name: "Store", targets: ["Store"]),  // for Fuzz/
        .library(name: "TrackerCore", targets: ["TrackerCore"]),  // for Fuzz/
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // System libraries (pkg-config names: zlib, milter, hiredis).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CMilter", pkgConfig: "milter", providers: [.apt(["libmilter-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CSched"),
        // Buffered socket reads for libmilter, hooked into its own calls only (see its header).
        .target(name: "CLibmilterIO"),
        // hiredis reply objects that keep only a reply's shape (errors and arrays), for
        // replies that are only checked for errors.
        .target(name: "CHiredisShapes", dependencies: ["CHiredis"]),

        // The pure core: bytes in, bytes out. No I/O, no globals.
        .target(
            name: "Rewrite",
            dependencies: [
                "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The configuration file shared by the three programs.
        .target(name: "Config", dependencies: ["Rewrite", "Store"]),

        // The operator's command line.
        .executableTarget(
            name: "Trail",
            dependencies: [
                "Rewrite", "Config", "Store", "CZlib",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // Redis access, key schema, event model and the durable spool, shared by
        // the milter, the tracker and the CLI.
        .target(name: "Store", dependencies: ["CHiredis", "CHiredisShapes", "CZlib", "Rewrite"]),

        // The libmilter filter.
        .executableTarget(
            name: "Milter",
            dependencies: [
                "CMilter", "CLibmilterIO", "Rewrite", "Config", "Store", "Daemon", "MetricsHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // Daemon plumbing shared by the milter and the tracker: start-up (configuration, failure),
        // syslog/stderr logging, PID file, log throttling.
        .target(name: "Daemon", dependencies: ["Config", .product(name: "Logging", package: "swift-log")]),

        // HTTP responses written as bytes (the tracker's answers) and the small /metrics
        // endpoint of the milter.
        .target(
            name: "MetricsHTTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // bench/rewrite: engine throughput beside a plain copy (not part of the tests).
        .executableTarget(name: "RewriteBench", dependencies: ["Rewrite", .product(name: "Crypto", package: "swift-crypto")], path: "bench/RewriteBench"),

        // The tracker: HTTP server (SwiftNIO), request routing, the event pipeline to Redis.
        .target(
            name: "TrackerCore",
            dependencies: [
                "Rewrite", "Config", "Store", "Daemon", "MetricsHTTP", "CSched",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "Tracker",
            dependencies: [
                "TrackerCore", "Config", "Daemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .testTarget(
            name: "RewriteTests",
            dependencies: [
                "Rewrite", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "Store"]),
        .testTarget(
            name: "TrailTests",
            dependencies: ["Trail", "Store", "CZlib", "TestSupport", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        // Test fixtures shared by the test targets: a throwaway redis-server, free ports, temp dirs.
        .target(name: "TestSupport", dependencies: ["Store"], path: "Tests/TestSupport"),
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport"]),
        .testTarget(name: "LibmilterIOTests", dependencies: ["CLibmilterIO", "CMilter"]),
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "Daemon", "MetricsHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TrackerTests",
            dependencies: [
                "TrackerCore", "Rewrite", "Config", "Store", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
