import Rewrite
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the tracker does with one request: which answer it gets and whether it records a
/// hit. Pure logic (no I/O), so every route and every refusal is tested without a socket.
///
/// | request | answer | hit |
/// |---|---|---|
/// | `GET /o/<open token>.gif` | 200 GIF | yes |
/// | `GET /o/<anything else>.gif` | 200 GIF (no broken image) | no |
/// | `GET /c/<click or unsubscribe token>` | 302 to the signed destination | yes |
/// | `GET /c/<bad, expired or open token>` | 404 page | no |
/// | `GET /healthz`, `GET /metrics` | 200 | no |
/// | `HEAD` on any of these | the same headers, no body | no (link checkers and scanners send HEAD) |
/// | another method on these paths | 405 | no |
/// | any other path | 404 | no |
///
/// The tracking paths may sit under a prefix (`/t/c/<token>` for a base URL with a path).
public struct RequestRouter: Sendable {
    public enum Method: Sendable, Equatable {
        case get, head, other
    }

    public let keyRing: KeyRing
    /// Clicks on links issued longer ago than this get 404; nil: never.
    public let linkLifetime: Double?

    public init(keyRing: KeyRing, linkLifetime: Double?) {
        self.keyRing = keyRing
        self.linkLifetime = linkLifetime
    }

    /// Decides the answer to `method target`.
    ///
    /// - Parameters:
    ///   - target: the request target as sent (origin form `/c/…?q`, or absolute form).
    ///   - now: the arrival time, unix seconds.
    ///   - clientIP, userAgent: evaluated only when a hit is recorded.
    public func route(method: Method, target: String, now: Double,
                      clientIP: @autoclosure () -> String, userAgent: @autoclosure () -> String) -> RoutingDecision {
        var target = target
        return target.withUTF8 { bytes in
            route(method: method, target: UnsafeRawBufferPointer(bytes), now: now, clientIP: clientIP, userAgent: userAgent)
        }
    }

    /// Decides the answer to `method target`, the target given as the bytes that arrived
    /// (what the server calls: no `String` is made of the target).
    ///
    /// - Parameter inflater: the calling thread's (``TrackingToken/makeInflater()``).
    public func route(method: Method, target: UnsafeRawBufferPointer, now: Double,
                      clientIP: () -> String, userAgent: () -> String,
                      inflater: RawDeflate.Inflater? = nil) -> RoutingDecision {
        guard let pathRange = Self.path(of: target) else { return RoutingDecision(route: .other, answer: .notFound) }
        let path = UnsafeRawBufferPointer(rebasing: target[pathRange])
        if Self.equals(path, "/healthz") { return simple(.health, .health, method) }
        if Self.equals(path, "/metrics") { return simple(.metrics, .metrics, method) }
        if path.contains(where: { $0 >= 0x80 }) {
            // Not ASCII (tracking URLs are): as TrackingLinks reads paths, Character by Character.
            guard let (pathKind, token) = TrackingLinks.token(fromPath: String(decoding: path, as: UTF8.self)) else {
                return RoutingDecision(route: .other, answer: .notFound)
            }
            return decide(method: method, pathKind: pathKind, verified: method == .other ? nil : try? TrackingToken.decode(token, keyRing: keyRing),
                          now: now, clientIP: clientIP, userAgent: userAgent)
        }
        guard let (pathKind, tokenRange) = Self.trackingPath(path) else {
            return RoutingDecision(route: .other, answer: .notFound)
        }
        let verified = method == .other
            ? nil : try? TrackingToken.decode(utf8: UnsafeRawBufferPointer(rebasing: path[tokenRange]), keyRing: keyRing,
                                               inflater: inflater)
        return decide(method: method, pathKind: pathKind, verified: verified, now: now, clientIP: clientIP, userAgent: userAgent)
    }

    /// The answer on a tracking path, given its token if it verified.
    private func decide(method: Method, pathKind: TokenKind, verified: VerifiedToken?, now: Double,
                        clientIP: () -> String, userAgent: () -> String) -> RoutingDecision {
        let route: TrackerRoute = pathKind == .open ? .open : .click
        let refused: TrackerAnswer = pathKind == .open ? .pixel : .notFound
        guard method != .other else { return RoutingDecision(route: route, answer: .methodNotAllowed) }
        // As TrackingLinks.decode(path:keyRing:) checks, without splitting the path twice:
        // `/o/` takes only open tokens, `/c/` only clicks and unsubscribes.
        guard let verified, (pathKind == .open) == (verified.token.kind == .open) else {
            return RoutingDecision(route: route, answer: refused)
        }
        let token = verified.token
        let answer: TrackerAnswer
        if pathKind == .open {
            answer = .pixel
        } else {
            if let linkLifetime, now - Double(token.issuedAt) > linkLifetime {
                return RoutingDecision(route: route, answer: .notFound)
            }
            guard let location = RedirectLocation.headerValue(for: token.destination) else {
                return RoutingDecision(route: route, answer: .notFound)
            }
            answer = .redirect(location: location)
        }
        guard method == .get else { return RoutingDecision(route: route, answer: answer) }
        let hit = TrackedHit(kind: token.kind, trackingID: token.trackingID, linkIndex: token.linkIndex,
                             destination: token.destination, timestamp: now, ip: clientIP(), userAgent: userAgent())
        return RoutingDecision(route: route, answer: answer, hit: hit)
    }

    private func simple(_ route: TrackerRoute, _ answer: TrackerAnswer, _ method: Method) -> RoutingDecision {
        RoutingDecision(route: route, answer: method == .other ? .methodNotAllowed : answer)
    }

    /// What `TrackingLinks.token(fromPath:)` returns, computed on UTF-8 for ASCII paths (every
    /// tracking URL is ASCII); non-ASCII paths go through that function.
    static func trackingPath(_ path: Substring) -> (TokenKind, Substring)? {
        guard !path.utf8.contains(where: { $0 >= 0x80 }) else { return TrackingLinks.token(fromPath: path) }
        var path = path
        guard let (kind, range) = path.withUTF8({ trackingPath(UnsafeRawBufferPointer($0)) }) else { return nil }
        let utf8 = path.utf8
        let start = utf8.index(utf8.startIndex, offsetBy: range.lowerBound)
        let end = utf8.index(utf8.startIndex, offsetBy: range.upperBound)
        return (kind, path[start..<end])
    }

    /// The kind and the token's place in an ASCII `path`, as `TrackingLinks.token(fromPath:)`
    /// finds them: the token after the last `/` (before any `?` or `#`), under `…/c/` or
    /// `…/o/` (then with `.gif`, which is not part of the token).
    static func trackingPath(_ bytes: UnsafeRawBufferPointer) -> (TokenKind, Range<Int>)? {
        let end = Self.queryStart(bytes, from: 0)
        guard let slash = Self.lastSlash(bytes, before: end) else { return nil }
        let tokenStart = slash + 1
        var tokenEnd = end
        let kind: TokenKind
        if Self.ends(bytes, at: slash, with: "/c") {
            kind = .click
        } else if Self.ends(bytes, at: slash, with: "/o"), Self.ends(bytes, at: end, with: ".gif"), end - tokenStart >= 4 {
            kind = .open
            tokenEnd = end - 4  // ".gif"
        } else {
            return nil
        }
        guard tokenStart < tokenEnd else { return nil }
        return (kind, tokenStart..<tokenEnd)
    }

    /// Whether `bytes[..<end]` ends with `suffix` (a literal: compared with `memcmp`, nothing
    /// to initialise per call, unlike a static array).
    private static func ends(_ bytes: UnsafeRawBufferPointer, at end: Int, with suffix: StaticString) -> Bool {
        let count = suffix.utf8CodeUnitCount
        guard end >= count, let base = bytes.baseAddress else { return count == 0 }
        return memcmp(base + (end - count), suffix.utf8Start, count) == 0
    }

    /// Whether `bytes` are exactly `literal`.
    private static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        bytes.count == literal.utf8CodeUnitCount && ends(bytes, at: bytes.count, with: literal)
    }

    /// The path of a request target: the part before `?` or `#`; for an absolute-form target
    /// (`http://host/path`), the part after the authority.
    static func path(of target: String) -> Substring {
        var target = target
        guard let range = target.withUTF8({ path(of: UnsafeRawBufferPointer($0)) }) else { return "/" }
        let utf8 = target.utf8
        return target[utf8.index(utf8.startIndex, offsetBy: range.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: range.upperBound)]
    }

    /// Where the path of a request target lies in its bytes (see ``path(of:)-(String)``); nil
    /// for an absolute-form target without a path, whose path is `/`.
    static func path(of target: UnsafeRawBufferPointer) -> Range<Int>? {
        var start = 0
        if target.first != UInt8(ascii: "/") {
            var index = 0
            var scheme: Int?
            while index < target.count, target[index] != UInt8(ascii: "/") {
                if target[index] == UInt8(ascii: ":") {
                    if index + 3 <= target.count, Self.ends(target, at: index + 3, with: "://") { scheme = index + 3 }
                    break
                }
                index += 1
            }
            if let scheme {
                guard let slash = target[scheme...].firstIndex(of: UInt8(ascii: "/")) else { return nil }
                start = slash
            }
        }
        return start..<Self.queryStart(target, from: start)
    }

    /// Where the query or fragment starts (the first `?` or `#` from `from`), or the end.
    private static func queryStart(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int {
        guard let base = bytes.baseAddress, from < bytes.count else { return bytes.count }
        var end = bytes.count
        for delimiter in [UInt8(ascii: "?"), UInt8(ascii: "#")] {
            if let found = memchr(base + from, Int32(delimiter), end - from) { end = base.distance(to: UnsafeRawPointer(found)) }
        }
        return end
    }

    /// The last `/` before `end`.
    private static func lastSlash(_ bytes: UnsafeRawBufferPointer, before end: Int) -> Int? {
        var index = end
        while index > 0 {
            index -= 1
            if bytes[index] == UInt8(ascii: "/") { return index }
        }
        return nil
    }

}

/// The route a request took, as the `route` label of the request metrics.
public enum TrackerRoute: String, Sendable, CaseIterable {
    case open, click, health = "healthz", metrics, other

    /// The route's position in `allCases`.
    var position: Int {
        switch self {
        case .open: return 0
        case .click: return 1
        case .health: return 2
        case .metrics: return 3
        case .other: return 4
        }
    }
}

/// The kind of answer, before it becomes HTTP.
public enum TrackerAnswer: Equatable, Sendable {
    /// 200, the transparent GIF.
    case pixel
    /// 302 with this `Location` (already safe for a header).
    case redirect(location: String)
    /// 404 with the short HTML page.
    case notFound
    /// 405, `Allow: GET, HEAD`.
    case methodNotAllowed
    /// 200 `ok`.
    case health
    /// 200, the Prometheus exposition.
    case metrics
}

/// The router's verdict on one request.
public struct RoutingDecision: Equatable, Sendable {
    public var route: TrackerRoute
    public var answer: TrackerAnswer
    /// The hit to record, nil when nothing is recorded.
    public var hit: TrackedHit?

    public init(route: TrackerRoute, answer: TrackerAnswer, hit: TrackedHit? = nil) {
        self.route = route
        self.answer = answer
        self.hit = hit
    }
}
