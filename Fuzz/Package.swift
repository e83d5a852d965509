// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for the pure core (Sources/Rewrite), the enrichment record's readers
// (Sources/Store) and the tracker's HTTP head reader (Sources/TrackerCore), kept out of the
// root package so that a plain `swift build` there never needs libFuzzer. Build and run them
// with `make fuzz` (scripts/fuzz.sh), which builds with
//   swift build --package-path Fuzz --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing
// (-enable-testing: FuzzRequestHead imports TrackerCore's internal types with @testable).
// SwiftPM links an executable's entry point under another name on Linux, so libFuzzer's
// own main cannot be used: each target's @main hands its `LLVMFuzzerTestOneInput` to
// `LLVMFuzzerRunDriver` (FuzzerMain.run) instead.

let rewrite: Target.Dependency = .product(name: "Rewrite", package: "MailTrail")
let store: Target.Dependency = .product(name: "Store", package: "MailTrail")
let trackerCore: Target.Dependency = .product(name: "TrackerCore", package: "MailTrail")
func nio(_ name: String) -> Target.Dependency { .product(name: name, package: "swift-nio") }

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency] = [rewrite]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, path: name)
}

let package = Package(
    name: "MailTrailFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "MailTrail", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(name: "CFuzzer", path: "CFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzer", rewrite], path: "FuzzSupport"),
        fuzzTarget("FuzzMessageRewrite"),
        fuzzTarget("FuzzHTMLRewrite"),
        fuzzTarget("FuzzQuotedPrintable"),
        fuzzTarget("FuzzBase64"),
        fuzzTarget("FuzzTokenDecode"),
        fuzzTarget("FuzzEnrichmentLists", [store]),
        fuzzTarget("FuzzRequestHead", [trackerCore, nio("NIOCore"), nio("NIOEmbedded"), nio("NIOHTTP1")]),
    ],
    swiftLanguageModes: [.v5]
)
