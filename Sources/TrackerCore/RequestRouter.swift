import Rewrite

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
        let path = Self.path(of: target)
        if path.utf8.elementsEqual(Self.healthPath) { return simple(.health, .health, method) }
        if path.utf8.elementsEqual(Self.metricsPath) { return simple(.metrics, .metrics, method) }
        guard let (pathKind, tokenText) = Self.trackingPath(path) else {
            return RoutingDecision(route: .other, answer: .notFound)
        }
        let route: TrackerRoute = pathKind == .open ? .open : .click
        let refused: TrackerAnswer = pathKind == .open ? .pixel : .notFound
        guard method != .other else { return RoutingDecision(route: route, answer: .methodNotAllowed) }
        // As TrackingLinks.decode(path:keyRing:) checks, without splitting the path twice:
        // `/o/` takes only open tokens, `/c/` only clicks and unsubscribes.
        guard let verified = try? TrackingToken.decode(tokenText, keyRing: keyRing),
              (pathKind == .open) == (verified.token.kind == .open) else {
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
    /// tracking URL is ASCII). That function walks Characters, which under load cost about a
    /// tenth of the request handlers' time; non-ASCII paths still go through it.
    static func trackingPath(_ path: Substring) -> (TokenKind, Substring)? {
        let bytes = path.utf8
        guard !bytes.contains(where: { $0 >= 0x80 }) else { return TrackingLinks.token(fromPath: path) }
        let end = bytes.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? bytes.endIndex
        guard let slash = bytes[..<end].lastIndex(of: UInt8(ascii: "/")) else { return nil }
        let head = bytes[..<slash]
        var tokenEnd = end
        let kind: TokenKind
        if Self.ends(head, with: Self.clickSuffix) {
            kind = .click
        } else if Self.ends(head, with: Self.openSuffix), Self.ends(bytes[bytes.index(after: slash)..<end], with: Self.gifSuffix) {
            kind = .open
            tokenEnd = bytes.index(end, offsetBy: -Self.gifSuffix.count)
        } else {
            return nil
        }
        let tokenStart = bytes.index(after: slash)
        guard tokenStart < tokenEnd else { return nil }
        return (kind, path[tokenStart..<tokenEnd])
    }

    private static func ends(_ bytes: Substring.UTF8View.SubSequence, with suffix: [UInt8]) -> Bool {
        bytes.count >= suffix.count && bytes.suffix(suffix.count).elementsEqual(suffix)
    }

    private static let clickSuffix = Array("/c".utf8)
    private static let openSuffix = Array("/o".utf8)
    private static let gifSuffix = Array(".gif".utf8)
    private static let healthPath = Array("/healthz".utf8)
    private static let metricsPath = Array("/metrics".utf8)

    /// The path of a request target: the part before `?` or `#`; for an absolute-form target
    /// (`http://host/path`), the part after the authority. Works on UTF-8 (every delimiter
    /// is ASCII), since this runs for every request.
    static func path(of target: String) -> Substring {
        let bytes = target.utf8
        var start = bytes.startIndex
        if bytes.first != UInt8(ascii: "/") {
            var index = bytes.startIndex
            var scheme: String.Index?
            while index < bytes.endIndex, bytes[index] != UInt8(ascii: "/") {
                if bytes[index] == UInt8(ascii: ":") {
                    let rest = bytes[index...]
                    if rest.starts(with: "://".utf8) { scheme = bytes.index(index, offsetBy: 3) }
                    break
                }
                index = bytes.index(after: index)
            }
            if let scheme {
                guard let slash = bytes[scheme...].firstIndex(of: UInt8(ascii: "/")) else { return "/" }
                start = slash
            }
        }
        let end = bytes[start...].firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? bytes.endIndex
        return target[start..<end]
    }
}

/// The route a request took, as the `route` label of the request metrics.
public enum TrackerRoute: String, Sendable, CaseIterable {
    case open, click, health = "healthz", metrics, other
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
