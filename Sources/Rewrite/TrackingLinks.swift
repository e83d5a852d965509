/// Mints the tracking URLs the rewriters insert into one message, and recognises them.
///
/// - click and unsubscribe: `{base}/c/<token>` (the tracker redirects both; the token's
///   kind says which event to record)
/// - open pixel: `{base}/o/<token>.gif`
///
/// All tokens of a message share its tracking ID and issue time and are signed with the
/// key ring's active key.
public struct TrackingLinks: Sendable {
    /// The tracking base as octets, without trailing slashes (e.g. `https://t.example.com`).
    public let base: [UInt8]
    public let keyRing: KeyRing
    public let trackingID: TrackingID
    public let issuedAt: UInt32
    /// `base` with the scheme and authority lower-cased, then "/": what tracking URLs start with.
    private let foldedPrefix: [UInt8]
    /// How many leading bytes of `foldedPrefix` (scheme and authority) compare without case.
    private let caseInsensitiveLength: Int

    /// Links for one message. `base` is the tracking origin, optionally with a path
    /// (`https://t.example.com`, `https://example.com/t`); trailing slashes are dropped.
    public init(base: String, keyRing: KeyRing, trackingID: TrackingID, issuedAt: UInt32) {
        var base = Array(base.utf8)
        while base.last == ASCII.slash { base.removeLast() }
        self.base = base
        self.keyRing = keyRing
        self.trackingID = trackingID
        self.issuedAt = issuedAt

        // Scheme and authority end at the first '/' after "://" (or at the end).
        // (ByteSearch, not `firstRange(of:)`: on [UInt8] that resolves to Foundation's
        // generic DataProtocol search, a visible cost for every message.)
        let separator = Array("://".utf8)
        var authorityEnd = base.count
        if let start = base.withUnsafeBufferPointer({ $0.firstIndex(of: separator, from: 0, to: $0.count) }) {
            authorityEnd = base[(start + separator.count)...].firstIndex(of: ASCII.slash) ?? base.count
        }
        caseInsensitiveLength = authorityEnd
        foldedPrefix = base[..<authorityEnd].map(ASCII.lower) + base[authorityEnd...] + [ASCII.slash]
    }

    /// `{base}/c/<click token>` for a link to `destination` (raw URL bytes, entities already
    /// decoded), the `linkIndex`-th wrapped link of the message. Destinations longer than
    /// `TrackingToken.maxDestinationLength` must be left unwrapped instead.
    public func clickURL(destination: [UInt8], linkIndex: UInt32) -> [UInt8] {
        url(for: TrackingToken(kind: .click, issuedAt: issuedAt, trackingID: trackingID,
                               linkIndex: linkIndex, destination: destination),
            path: TrackingLinks.clickPath, suffix: [])
    }

    /// `{base}/c/<unsubscribe token>`: redirects like a click, recorded as an unsubscribe.
    public func unsubscribeURL(destination: [UInt8], linkIndex: UInt32) -> [UInt8] {
        url(for: TrackingToken(kind: .unsubscribe, issuedAt: issuedAt, trackingID: trackingID,
                               linkIndex: linkIndex, destination: destination),
            path: TrackingLinks.clickPath, suffix: [])
    }

    /// `{base}/o/<open token>.gif`, the open pixel's source.
    public func pixelURL() -> [UInt8] {
        url(for: TrackingToken(kind: .open, issuedAt: issuedAt, trackingID: trackingID),
            path: TrackingLinks.openPath, suffix: TrackingLinks.pixelSuffix)
    }

    /// Whether `url` already points at the tracking base (`{base}/...`), comparing the
    /// scheme and host without case: such links are not wrapped again.
    public func isTrackingURL(_ url: some Collection<UInt8>) -> Bool {
        guard url.count >= foldedPrefix.count else { return false }
        for (i, (byte, expected)) in zip(url, foldedPrefix).enumerated() {
            let actual = i < caseInsensitiveLength ? ASCII.lower(byte) : byte
            if actual != expected { return false }
        }
        return true
    }

    /// Splits a request path (or whole URL) ending in `/c/<token>` or `/o/<token>.gif`
    /// into the kind the path asks for (`.click` for `/c/`, which also serves unsubscribe
    /// tokens, or `.open`) and the token text. A query or fragment is ignored. The token is
    /// not checked: pass it to `TrackingToken.decode`, or use `decode(path:keyRing:)`.
    public static func token(fromPath path: some StringProtocol) -> (TokenKind, Substring)? {
        var path = Substring(path)
        if let end = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<end] }
        guard let slash = path.lastIndex(of: "/") else { return nil }
        var token = path[path.index(after: slash)...]
        let head = path[..<slash]
        let kind: TokenKind
        if head.hasSuffix("/c") {
            kind = .click
        } else if head.hasSuffix("/o"), token.hasSuffix(".gif") {
            token = token.dropLast(4)
            kind = .open
        } else {
            return nil
        }
        guard !token.isEmpty else { return nil }
        return (kind, token)
    }

    /// Verifies the token of a tracking path and that its kind suits the path: `/o/` only
    /// for opens, `/c/` only for clicks and unsubscribes (so a pixel token never redirects).
    public static func decode(path: some StringProtocol, keyRing: KeyRing) throws(TokenError) -> VerifiedToken {
        guard let (pathKind, text) = token(fromPath: path) else { throw .notATrackingPath }
        let verified = try TrackingToken.decode(text, keyRing: keyRing)
        guard (pathKind == .open) == (verified.token.kind == .open) else { throw .kindMismatch }
        return verified
    }

    // MARK: - Implementation

    private static let clickPath = Array("/c/".utf8)
    private static let openPath = Array("/o/".utf8)
    private static let pixelSuffix = Array(".gif".utf8)

    /// `{base}{path}<token>{suffix}`, built in one allocation.
    private func url(for token: TrackingToken, path: [UInt8], suffix: [UInt8]) -> [UInt8] {
        token.withSealedBytes(ring: keyRing) { sealed in
            let length = base.count + path.count + Base64URL.encodedLength(of: sealed.count) + suffix.count
            return [UInt8](unsafeUninitializedCapacity: length) { out, count in
                let out = UnsafeMutableRawBufferPointer(out)
                var o = 0
                func put(_ bytes: [UInt8]) {
                    bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[o...]).copyMemory(from: $0) }
                    o += bytes.count
                }
                put(base)
                put(path)
                o += Base64URL.encode(sealed, into: UnsafeMutableRawBufferPointer(rebasing: out[o...]))
                put(suffix)
                count = length
            }
        }
    }
}
