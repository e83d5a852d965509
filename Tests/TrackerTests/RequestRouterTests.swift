import PropertyBased
import Rewrite
import Testing
@testable import TrackerCore

@Suite struct RequestRouterTests {
    typealias F = TrackerFixtures
    static let router = RequestRouter(keyRing: F.ring, linkLifetime: nil)
    static let now = 1_700_000_100.5

    static func route(_ method: RequestRouter.Method, _ target: String, router: RequestRouter = router) -> RoutingDecision {
        router.route(method: method, target: target, now: now, clientIP: "203.0.113.9", userAgent: "UA/1")
    }

    @Test func validOpenRecordsAHit() {
        #expect(Self.route(.get, F.pixelPath()) == RoutingDecision(
            route: .open, answer: .pixel,
            hit: TrackedHit(kind: .open, trackingID: F.trackingID, timestamp: Self.now, ip: "203.0.113.9", userAgent: "UA/1")))
    }

    @Test func validClickRedirectsAndRecords() {
        let path = F.clickPath("https://example.com/a?b=1", index: 3)
        #expect(Self.route(.get, path + "?utm=x") == RoutingDecision(
            route: .click, answer: .redirect(location: "https://example.com/a?b=1"),
            hit: TrackedHit(kind: .click, trackingID: F.trackingID, linkIndex: 3, destination: Array("https://example.com/a?b=1".utf8),
                            timestamp: Self.now, ip: "203.0.113.9", userAgent: "UA/1")))
    }

    /// The server passes its loop's kept inflater: the same decisions, whatever came before.
    @Test func aKeptInflaterDecidesAsAFreshOne() {
        let inflater = TrackingToken.makeInflater()
        let destinations = ["https://example.com/a?b=1", "https://shop.example/landing?utm_source=newsletter&id=" + String(repeating: "x", count: 300),
                            "https://example.com/wp-content/uploads/file.pdf"]
        let paths = destinations.map { F.clickPath($0, index: 2) } + [F.clickPath("https://evil.test/", ring: F.foreignRing), F.pixelPath()]
        for path in paths + paths.reversed() + paths {
            let kept = path.utf8.withContiguousStorageIfAvailable { bytes in
                Self.router.route(method: .get, target: UnsafeRawBufferPointer(bytes), now: Self.now,
                                  clientIP: { "203.0.113.9" }, userAgent: { "UA/1" }, inflater: inflater)
            }
            #expect(kept == Self.route(.get, path))
        }
    }

    @Test func unsubscribeLinksRedirectLikeClicks() {
        let decision = Self.route(.get, F.unsubscribePath("https://example.com/unsub", index: 1))
        #expect(decision.answer == .redirect(location: "https://example.com/unsub"))
        #expect(decision.hit?.kind == .unsubscribe)
        #expect(decision.hit?.linkIndex == 1)
    }

    @Test func headAnswersButRecordsNothing() {
        #expect(Self.route(.head, F.pixelPath()) == RoutingDecision(route: .open, answer: .pixel))
        #expect(Self.route(.head, F.clickPath("https://example.com/")) ==
                RoutingDecision(route: .click, answer: .redirect(location: "https://example.com/")))
        #expect(Self.route(.head, "/healthz") == RoutingDecision(route: .health, answer: .health))
    }

    @Test func badTokensNeverRedirectNorRecord() {
        let click = F.clickPath("https://example.com/")
        let forged = F.clickPath("https://evil.test/", ring: F.foreignRing)
        var flipped = Array(click.utf8)
        flipped[10] = flipped[10] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        for path in [forged, String(decoding: flipped, as: UTF8.self), "/c/AAAA", "/c/" + String(repeating: "A", count: 200), "/c/%41%41"] {
            #expect(Self.route(.get, path) == RoutingDecision(route: .click, answer: .notFound), "\(path)")
        }
        // A bad pixel still gets its GIF, so the message shows no broken image.
        let pixel = F.pixelPath(ring: F.foreignRing)
        #expect(Self.route(.get, pixel) == RoutingDecision(route: .open, answer: .pixel))
        #expect(Self.route(.get, "/o/garbage.gif") == RoutingDecision(route: .open, answer: .pixel))
    }

    @Test func tokensOnTheWrongPathAreRefused() {
        // A pixel token as a click never redirects; a click token as a pixel records no open.
        let pixelToken = F.pixelPath().dropFirst(3).dropLast(4)
        #expect(Self.route(.get, "/c/" + pixelToken) == RoutingDecision(route: .click, answer: .notFound))
        let clickToken = F.clickPath("https://example.com/").dropFirst(3)
        #expect(Self.route(.get, "/o/" + clickToken + ".gif") == RoutingDecision(route: .open, answer: .pixel))
    }

    @Test func expiredClickLinksGet404() {
        let router = RequestRouter(keyRing: F.ring, linkLifetime: 100)
        // Issued 100.5 s before now: expired. Issued 99.5 s before: still valid.
        let old = F.clickPath("https://example.com/", issuedAt: F.issuedAt)
        #expect(Self.route(.get, old, router: router) == RoutingDecision(route: .click, answer: .notFound))
        let fresh = F.clickPath("https://example.com/", issuedAt: F.issuedAt + 1)
        #expect(Self.route(.get, fresh, router: router).answer == .redirect(location: "https://example.com/"))
        // Opens are not subject to the link lifetime.
        #expect(Self.route(.get, F.pixelPath(), router: router).hit != nil)
    }

    @Test func signedNonWebDestinationsAreNotRedirectedTo() {
        #expect(Self.route(.get, F.clickPath("javascript:alert(1)")) == RoutingDecision(route: .click, answer: .notFound))
    }

    @Test func otherRoutesAndMethods() {
        #expect(Self.route(.get, "/healthz") == RoutingDecision(route: .health, answer: .health))
        #expect(Self.route(.get, "/metrics?x") == RoutingDecision(route: .metrics, answer: .metrics))
        #expect(Self.route(.other, "/healthz") == RoutingDecision(route: .health, answer: .methodNotAllowed))
        #expect(Self.route(.other, F.pixelPath()) == RoutingDecision(route: .open, answer: .methodNotAllowed))
        #expect(Self.route(.other, F.clickPath("https://example.com/")) == RoutingDecision(route: .click, answer: .methodNotAllowed))
        for path in ["/", "/favicon.ico", "/o/abc.png", "/o/abc", "/c/", "/metrics/", "healthz", "*"] {
            #expect(Self.route(.get, path) == RoutingDecision(route: .other, answer: .notFound), "\(path)")
            #expect(Self.route(.other, path) == RoutingDecision(route: .other, answer: .notFound), "\(path)")
        }
    }

    @Test func targetBytesRouteAsTheirText() {
        let targets = [F.pixelPath(), F.clickPath("https://example.com/a?b=1", index: 3) + "?utm=x", "/healthz", "/metrics?x",
                       "/o/garbage.gif", "/c/AAAA", "/", "*", "http://t.test", "http://t.test/healthz", "/é/c/x", "/c/é"]
        for target in targets {
            for method in [RequestRouter.Method.get, .head, .other] {
                let viaBytes = Array(target.utf8).withUnsafeBytes { bytes in
                    Self.router.route(method: method, target: bytes, now: Self.now, clientIP: { "203.0.113.9" }, userAgent: { "UA/1" })
                }
                #expect(viaBytes == Self.route(method, target), "\(target)")
            }
        }
        #expect(RequestRouter.path(of: UnsafeRawBufferPointer(start: nil, count: 0)) == 0..<0)
        #expect(Array("http://t.test".utf8).withUnsafeBytes { RequestRouter.path(of: $0) } == nil)
        #expect(Array("https://t.test/a/b?c#d".utf8).withUnsafeBytes { RequestRouter.path(of: $0) } == 14..<18)
        #expect(Array("/t/o/Xy.gif?x".utf8).withUnsafeBytes { RequestRouter.trackingPath($0)?.1 } == 5..<7)
    }

    @Test func prefixedAndAbsoluteFormTargets() {
        #expect(Self.route(.get, "/t" + F.pixelPath()).hit?.kind == .open)
        #expect(Self.route(.get, "http://t.test" + F.clickPath("https://example.com/")).answer == .redirect(location: "https://example.com/"))
        #expect(Self.route(.get, "http://t.test/healthz").answer == .health)
        #expect(RequestRouter.path(of: "http://t.test") == "/")
    }
}

@Suite struct TrackingPathTests {
    static let pieces = Gen<String?>.element(of: [
        "/", "/c", "/o", "c", "o", ".gif", ".gi", "gif", "?", "#", "A", "b9", "-_", "=", "%2F", "\r\n", "\r", " ",
        "é", "\u{301}", "😀", "//", "/c/", "/o/",
    ]).array(of: 0...10).map { $0.compactMap { $0 }.joined() }

    @Test func agreesWithTrackingLinks() async {
        await propertyCheck(count: 3000, input: Self.pieces) { path in
            let fast = RequestRouter.trackingPath(Substring(path))
            let reference = TrackingLinks.token(fromPath: path)
            #expect(fast?.0 == reference?.0 && fast?.1 == reference?.1, "\(path.debugDescription)")
        }
    }

    @Test func knownPaths() {
        #expect(RequestRouter.trackingPath("/c/AbC-_9").map { "\($0.0) \($0.1)" } == "click AbC-_9")
        #expect(RequestRouter.trackingPath("/t/o/Xy.gif?x#y").map { "\($0.0) \($0.1)" } == "open Xy")
        #expect(RequestRouter.trackingPath("/o/.gif") == nil)
        #expect(RequestRouter.trackingPath("/o/abc") == nil)
        #expect(RequestRouter.trackingPath("/c/") == nil)
        #expect(RequestRouter.trackingPath("c/abc") == nil)
    }
}

