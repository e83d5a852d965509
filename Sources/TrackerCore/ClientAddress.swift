import Config

/// Who made a request: the socket's peer, or, when that peer is a trusted proxy (nginx on
/// the same machine), the client address the proxy passed on.
///
/// `X-Real-IP` is preferred (nginx sets it to `$remote_addr`); otherwise `X-Forwarded-For`
/// is read from the right, skipping trusted proxies, and the first other address wins (the
/// left part of that header is whatever the client sent and proves nothing). Header values
/// that are not IP addresses are ignored, so nothing but an address reaches an event.
public struct ClientAddress: Sendable {
    public let trustedProxies: [NetworkRange]

    public init(trustedProxies: [NetworkRange]) {
        self.trustedProxies = trustedProxies
    }

    /// A connection's peer as ``resolve(peer:realIP:forwardedFor:)-(Peer,_,_)`` needs it, worked
    /// out once per connection rather than per request.
    public struct Peer: Sendable {
        /// The peer's address as text, "unknown" when there is none.
        public let text: String
        /// Whether the peer is a trusted proxy, whose headers are believed.
        public let isTrusted: Bool
    }

    /// The ``Peer`` for a socket's remote address (nil when unknown).
    public func peer(_ address: IPAddress?) -> Peer {
        guard let address else { return Peer(text: "unknown", isTrusted: false) }
        return Peer(text: address.description, isTrusted: isTrusted(address))
    }

    /// The client's address as text (`203.0.113.9`, `2001:db8::1`).
    ///
    /// - Parameters:
    ///   - peer: the socket's remote address, nil when unknown (then "unknown" unless a
    ///     header may be believed, which it may not).
    ///   - realIP: the `X-Real-IP` header value, if any.
    ///   - forwardedFor: every `X-Forwarded-For` header value, in order.
    public func resolve(peer: IPAddress?, realIP: String?, forwardedFor: [String]) -> String {
        resolve(peer: self.peer(peer), realIP: realIP, forwardedFor: forwardedFor)
    }

    /// The client's address as text, for a connection's ``Peer``.
    public func resolve(peer: Peer, realIP: @autoclosure () -> String?, forwardedFor: @autoclosure () -> [String]) -> String {
        guard peer.isTrusted else { return peer.text }
        if let realIP = realIP(), let address = IPAddress(parsing: Self.trimmed(realIP)) {
            return address.description
        }
        let hops = forwardedFor().flatMap { $0.split(separator: ",") }.map { Self.trimmed(String($0)) }
        for hop in hops.reversed() {
            guard let address = IPAddress(parsing: hop) else { break }  // garbage: stop believing
            if !isTrusted(address) { return address.description }
        }
        return peer.text
    }

    /// Whether `address` is one of the trusted proxies.
    public func isTrusted(_ address: IPAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }

    private static func trimmed(_ text: String) -> String {
        String(text.drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
