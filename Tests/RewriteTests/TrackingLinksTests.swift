import Testing
@testable import Rewrite

@Suite struct TrackingLinksTests {
    let ring = TokenFixtures.ring
    let id = TokenFixtures.trackingID

    private func links(_ base: String = "https://t.example.com") -> TrackingLinks {
        TrackingLinks(base: base, keyRing: ring, trackingID: id, issuedAt: 1_700_000_000)
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// (kind, token) of `token(fromPath:)` as one comparable string.
    private func split(_ path: String) -> String? {
        TrackingLinks.token(fromPath: path).map { "\($0.0) \($0.1)" }
    }

    @Test func mintsKnownURLs() {
        #expect(text(links().pixelURL()) == "https://t.example.com/o/AQFvZVPxAAARIjNEVWZ3iJmqu8zd7v9h_ru2RS9o73m9PPc.gif")
        #expect(text(links().clickURL(destination: Array("HTTPS://QX7.EXAMPLE/Z".utf8), linkIndex: 3))
            == "https://t.example.com/c/AQFjZVPxAAARIjNEVWZ3iJmqu8zd7v8DSFRUUFM6Ly9RWDcuRVhBTVBMRS9a3Kzvvd5xZYj0fYui")
    }

    @Test func trailingSlashesOfTheBaseAreDropped() {
        #expect(text(links("https://t.example.com/").base) == "https://t.example.com")
        #expect(text(links("https://t.example.com///").base) == "https://t.example.com")
        #expect(links("https://t.example.com/").pixelURL() == links().pixelURL())
    }

    @Test func clickAndUnsubscribeURLsDecodeToTheirFields() throws {
        let destination = Array("https://shop.example/cart?id=7&utm_medium=email".utf8)
        let click = text(links().clickURL(destination: destination, linkIndex: 12))
        #expect(click.hasPrefix("https://t.example.com/c/"))
        let verified = try TrackingLinks.decode(path: click, keyRing: ring)
        #expect(verified == VerifiedToken(token: TrackingToken(kind: .click, issuedAt: 1_700_000_000, trackingID: id,
                                                               linkIndex: 12, destination: destination), keyID: 1))
        let unsubscribe = text(links().unsubscribeURL(destination: destination, linkIndex: 13))
        #expect(unsubscribe.hasPrefix("https://t.example.com/c/"))
        #expect(try TrackingLinks.decode(path: unsubscribe, keyRing: ring).token.kind == .unsubscribe)
        let pixel = text(links().pixelURL())
        #expect(try TrackingLinks.decode(path: pixel, keyRing: ring).token
                == TrackingToken(kind: .open, issuedAt: 1_700_000_000, trackingID: id))
    }

    @Test func baseWithAPath() throws {
        let sub = links("https://example.com/t/")
        let url = text(sub.clickURL(destination: Array("https://example.com/".utf8), linkIndex: 0))
        #expect(url.hasPrefix("https://example.com/t/c/"))
        #expect(try TrackingLinks.decode(path: String(url.dropFirst("https://example.com".count)), keyRing: ring).token.linkIndex == 0)
    }

    @Test(arguments: [
        ("https://t.example.com/c/abc", true),
        ("HTTPS://T.Example.COM/c/abc", true),
        ("https://t.example.com/", true),
        ("https://t.example.com", false),
        ("https://t.example.com.evil.example/c/abc", false),
        ("https://t.example.community/c/abc", false),
        ("http://t.example.com/c/abc", false),
        ("https://www.example.com/", false),
        ("", false),
    ])
    func recognisesTrackingURLs(url: String, expected: Bool) {
        #expect(links().isTrackingURL(Array(url.utf8)) == expected)
        #expect(links("https://t.example.com/").isTrackingURL(url.utf8) == expected)
    }

    @Test func pathOfTheBaseIsCaseSensitive() {
        let sub = links("https://Example.com/T")
        #expect(sub.isTrackingURL(Array("https://example.COM/T/c/abc".utf8)))
        #expect(!sub.isTrackingURL(Array("https://example.com/t/c/abc".utf8)))
        #expect(!sub.isTrackingURL(Array("https://example.com/T2/c/abc".utf8)))
    }

    @Test(arguments: [
        ("/c/abc", "click abc"),
        ("/o/abc.gif", "open abc"),
        ("/c/abc?utm_source=x", "click abc"),
        ("/o/abc.gif?x=1#y", "open abc"),
        ("/c/abc#frag", "click abc"),
        ("/t/c/abc", "click abc"),
        ("https://t.example.com/c/a-b_c", "click a-b_c"),
        ("/o/abc", nil),
        ("/c/", nil),
        ("/o/.gif", nil),
        ("/x/abc", nil),
        ("/oo/abc.gif", nil),
        ("/c/abc/def", nil),
        ("c/abc", nil),
        ("abc", nil),
        ("", nil),
    ] as [(String, String?)])
    func splitsTrackingPaths(path: String, expected: String?) {
        #expect(split(path) == expected)
    }

    @Test func tokenFromSubstringPath() {
        let request = "GET /c/abc HTTP/1.1"
        let path = request.split(separator: " ")[1]
        #expect(TrackingLinks.token(fromPath: path).map { String($0.1) } == "abc")
    }

    @Test func decodePathChecksKindAgainstPath() throws {
        let click = text(links().clickURL(destination: Array("https://example.com/".utf8), linkIndex: 1))
        let clickToken = String(click.split(separator: "/").last!)
        let openToken = String(text(links().pixelURL()).split(separator: "/").last!.dropLast(4))
        #expect(throws: TokenError.kindMismatch) { try TrackingLinks.decode(path: "/o/\(clickToken).gif", keyRing: ring) }
        #expect(throws: TokenError.kindMismatch) { try TrackingLinks.decode(path: "/c/\(openToken)", keyRing: ring) }
        #expect(throws: TokenError.notATrackingPath) { try TrackingLinks.decode(path: "/favicon.ico", keyRing: ring) }
        #expect(throws: TokenError.badAlphabet) { try TrackingLinks.decode(path: "/c/\(clickToken).gif", keyRing: ring) }
        #expect(try TrackingLinks.decode(path: "/c/\(clickToken)?fbclid=1", keyRing: ring).token.linkIndex == 1)
    }

    /// Throughput of the rewriter's hot path (debug build; see the report for release).
    @Test func mintsTwentyThousandClickURLs() throws {
        let message = links()
        let destinations = [
            "https://www.example.com/products/shoes?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
            "https://app.example.com/login?next=%2Fdashboard&ref=mail",
            "https://example.com/",
            "https://docs.example.io/en/latest/getting-started/installation.html#requirements",
        ].map { Array($0.utf8) }
        let clock = ContinuousClock()
        var total = 0
        let elapsed = clock.measure {
            for i in 0..<20_000 {
                total += message.clickURL(destination: destinations[i % 4], linkIndex: UInt32(i)).count
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print("TrackingLinks: 20000 click URLs in \(elapsed) = \(Int(20_000 / seconds)) per second (average \(total / 20_000) bytes)")
        #expect(total > 20_000 * 100)
        let last = text(message.clickURL(destination: destinations[19_999 % 4], linkIndex: 19_999))
        #expect(try TrackingLinks.decode(path: last, keyRing: ring).token.destination == destinations[3])
    }
}
