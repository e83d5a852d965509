// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for the pure core (Sources/Rewrite) and the enrichment record's readers
// (Sources/Store), kept out of the root package so
// that a plain `swift build` there never needs libFuzzer. Build and run them with
// `make fuzz` (scripts/fuzz.sh), which builds with
//   swift build --package-path Fuzz --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address
// SwiftPM links an executable's entry point under another name on Linux, so libFuzzer's
// own main cannot be used: each target's @main hands its `LLVMFuzzerTestOneInput` to
// `LLVMFuzzerRunDriver` (FuzzerMain.run) instead.

let rewrite: Target.Dependency = .product(name: "Rewrite", package: "MailTrail")
let store: Target.Dependency = .product(name: "Store", package: "MailTrail")

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency] = [rewrite]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, path: name)
}

let package = Package(
    name: "MailTrailFuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "MailTrail", path: "..")],
    targets: [
        .systemLibrary(name: "CFuzzer", path: "CFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzer", rewrite], path: "FuzzSupport"),
        fuzzTarget("FuzzMessageRewrite"),
        fuzzTarget("FuzzHTMLRewrite"),
        fuzzTarget("FuzzQuotedPrintable"),
        fuzzTarget("FuzzBase64"),
        fuzzTarget("FuzzTokenDecode"),
        fuzzTarget("FuzzEnrichmentLists", [store]),
    ],
    swiftLanguageModes: [.v5]
)
