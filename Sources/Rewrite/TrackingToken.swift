import Crypto

/// What a token stands for; the raw value is the kind byte of the layout.
public enum TokenKind: UInt8, Sendable, CaseIterable {
    /// The open pixel (`/o/<token>.gif`).
    case open = 0x6F         // 'o'
    /// A wrapped link (`/c/<token>`).
    case click = 0x63        // 'c'
    /// An unsubscribe link: redirects like a click, recorded as an unsubscribe.
    case unsubscribe = 0x75  // 'u'

    /// Whether the token carries a link index and destination.
    public var hasDestination: Bool { self != .open }
}

/// The content of a signed tracking token (format v1).
///
/// Binary layout, then base64url without padding:
///
/// ```
/// version(1) = 1 | key id(1) | kind(1: 'o' / 'c' / 'u'; | 0x80 when the URL is deflated)
/// | issued-at(4, big-endian unix seconds) | tracking ID(16)
/// | link index (unsigned LEB128, ≤ 32 bits; click and unsubscribe only)
/// | destination (the rest; click and unsubscribe only; raw deflate when that is shorter)
/// | tag(12) = first 12 bytes of HMAC-SHA256(key, every byte before the tag)
/// ```
///
/// The tag is checked (in constant time) before anything after the fixed header is
/// interpreted, so an unsigned token never reaches the inflater.
public struct TrackingToken: Equatable, Sendable {
    public var kind: TokenKind
    /// When the message was processed (unix seconds).
    public var issuedAt: UInt32
    public var trackingID: TrackingID
    /// Position of the link in its message (0 for opens, which do not carry it).
    public var linkIndex: UInt32
    /// The raw URL bytes of a click or unsubscribe (empty for opens, which do not carry it).
    public var destination: [UInt8]

    /// A token. For `.open`, `linkIndex` and `destination` are not encoded: leave them 0 and empty.
    public init(kind: TokenKind, issuedAt: UInt32, trackingID: TrackingID, linkIndex: UInt32 = 0, destination: [UInt8] = []) {
        self.kind = kind
        self.issuedAt = issuedAt
        self.trackingID = trackingID
        self.linkIndex = linkIndex
        self.destination = destination
    }

    // MARK: Format constants

    /// The format version this code writes and reads.
    public static let version: UInt8 = 1
    /// Version, key id, kind, issued-at and tracking ID.
    static let headerLength = 3 + 4 + TrackingID.byteCount
    /// Truncated HMAC-SHA256: 96 bits.
    static let tagLength = 12
    /// Kind-byte flag: the destination is raw-deflated.
    static let deflatedFlag: UInt8 = 0x80
    /// Longest destination a token may carry, before or after inflation. Longer URLs must
    /// be left unwrapped: the tracker refuses their tokens.
    public static let maxDestinationLength = 64 * 1024
    /// Longest token text that can be valid; longer text is refused before decoding.
    public static let maxTokenLength = Base64URL.encodedLength(of: headerLength + 5 + maxDestinationLength + tagLength)

    /// URL compression of format v1. The 1 KiB window and the dictionary are part of the
    /// format (changing them needs a new version); memLevel and level only tune the encoder.
    /// Against zlib's defaults this makes a 100-byte URL about 20 times cheaper to deflate.
    static let urlCompression = RawDeflate(windowBits: 10, memLevel: 4, level: 6, dictionary: urlDictionary)

    /// The fast encoder for destinations up to `fastEncoderLimit` bytes; longer ones go through
    /// zlib, whose dynamic Huffman codes pay off there. Both produce streams `urlCompression` inflates.
    static let urlEncoder = FixedHuffmanDeflater(dictionary: urlDictionary, windowBits: 10)
    static let fastEncoderLimit = 256

    /// Preset dictionary of URL fragments for v1 (frozen). Matches close to the input have
    /// the shortest distance codes, so the likeliest strings come last.
    static let urlDictionary: [UInt8] = Array((
        "/wp-content/uploads/.pdf.png.jpg/images/view/blog/news/products/category/articles/"
        + "youtube.com/watch?v=twitter.com/linkedin.com/instagram.com/facebook.com/"
        + "index.html.php?page=&lang=en&id=?id=&ref=&token=&email=%40%2F%3D%20"
        + "/account/settings/login/confirm/verify/password/reset/unsubscribe/preferences"
        + "?utm_source=newsletter&utm_term=&utm_content=&utm_campaign="
        + "&utm_medium=email.org/.net/.io/.co.uk/.de/http://www.https://app..com/https://www."
    ).utf8)

    // MARK: Encoding

    /// The token text, signed with the ring's active key: base64url without padding.
    /// Destinations longer than `maxDestinationLength` make tokens the tracker refuses.
    public func encoded(with ring: KeyRing) -> String {
        withSealedBytes(ring: ring) { Base64URL.encode($0) }
    }

    /// The signed binary token (before base64url), passed to `body`.
    func withSealedBytes<R>(ring: KeyRing, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard let authenticator = ring.authenticator(for: ring.activeKeyID) else {
            preconditionFailure("KeyRing without its active key")
        }
        let capacity = Self.headerLength + (kind.hasDestination ? 5 + destination.count : 0) + Self.tagLength
        return withUnsafeTemporaryAllocation(byteCount: capacity, alignment: 1) { buffer in
            buffer[0] = Self.version
            buffer[1] = ring.activeKeyID
            buffer[2] = kind.rawValue
            buffer.storeBytes(of: issuedAt.bigEndian, toByteOffset: 3, as: UInt32.self)
            trackingID.write(to: UnsafeMutableRawBufferPointer(rebasing: buffer[7..<Self.headerLength]))
            var count = Self.headerLength
            if kind.hasDestination {
                count += Self.writeVarint(linkIndex, into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...]))
                let written = writeDestination(
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(capacity - Self.tagLength)]),
                    fixedLength: count + Self.tagLength)
                if written.deflated { buffer[2] |= Self.deflatedFlag }
                count += written.count
            }
            Self.writeTag(authenticator, over: UnsafeRawBufferPointer(rebasing: buffer[0..<count]),
                          into: UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + Self.tagLength)]))
            count += Self.tagLength
            return body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// Writes the destination into `space` (exactly its raw size), deflated when that makes
    /// the token text shorter given `fixedLength` other bytes.
    private func writeDestination(into space: UnsafeMutableRawBufferPointer, fixedLength: Int) -> (count: Int, deflated: Bool) {
        destination.withUnsafeBytes { raw in
            if raw.count > 1 {
                let smaller = UnsafeMutableRawBufferPointer(rebasing: space[0..<(raw.count - 1)])
                let compressed = raw.count <= Self.fastEncoderLimit
                    ? Self.urlEncoder.deflate(raw, into: smaller)
                    : Self.urlCompression.deflate(raw, into: smaller)
                if let n = compressed,
                   Base64URL.encodedLength(of: fixedLength + n) < Base64URL.encodedLength(of: fixedLength + raw.count) {
                    return (n, true)
                }
            }
            if !raw.isEmpty { space.copyMemory(from: raw) }
            return (raw.count, false)
        }
    }

    /// Unsigned LEB128; returns the number of bytes written (1...5).
    static func writeVarint(_ value: UInt32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var value = value
        var i = 0
        while value >= 0x80 {
            buffer[i] = UInt8(truncatingIfNeeded: value) | 0x80
            value >>= 7
            i += 1
        }
        buffer[i] = UInt8(value)
        return i + 1
    }

    static func writeTag(_ authenticator: HMACSHA256, over signed: UnsafeRawBufferPointer, into tag: UnsafeMutableRawBufferPointer) {
        authenticator.withCode(of: signed) { code in
            tag.copyMemory(from: UnsafeRawBufferPointer(rebasing: code[0..<tagLength]))
        }
    }

    // MARK: Decoding

    /// Verifies and decodes token text. Checks, in order: length and base64url spelling,
    /// version, size, kind, key id, tag (constant time), then the link index and destination.
    public static func decode(_ token: some StringProtocol, keyRing: KeyRing) throws(TokenError) -> VerifiedToken {
        try verify(Envelope(bytes: bytes(of: token)), keyRing: keyRing)
    }

    /// ``decode(_:keyRing:)`` for token text given as its UTF-8 bytes (as a server reads it
    /// off the wire, without making a `String` of it first).
    ///
    /// - Parameter inflater: from ``makeInflater()``, kept by the caller's thread so that
    ///   deflated destinations do not set up zlib's state for every token.
    public static func decode(utf8 token: UnsafeRawBufferPointer, keyRing: KeyRing,
                              inflater: RawDeflate.Inflater? = nil) throws(TokenError) -> VerifiedToken {
        try verify(Envelope(bytes: bytes(ofUTF8: token)), keyRing: keyRing, inflater: inflater)
    }

    /// An inflater for token destinations, for one thread's ``decode(utf8:keyRing:inflater:)`` calls.
    public static func makeInflater() -> RawDeflate.Inflater {
        RawDeflate.Inflater(urlCompression)
    }

    /// The checks of ``decode(_:keyRing:)`` after the envelope: key id, tag, then the payload.
    private static func verify(_ envelope: Envelope, keyRing: KeyRing,
                               inflater: RawDeflate.Inflater? = nil) throws(TokenError) -> VerifiedToken {
        guard let authenticator = keyRing.authenticator(for: envelope.keyID) else {
            throw .unknownKey(envelope.keyID)
        }
        guard envelope.hasValidTag(authenticator) else { throw .badTag }
        let payload = try envelope.payload(inflater: inflater)
        let token = TrackingToken(kind: envelope.kind, issuedAt: envelope.issuedAt, trackingID: envelope.trackingID,
                                  linkIndex: payload.linkIndex, destination: payload.destination)
        return VerifiedToken(token: token, keyID: envelope.keyID)
    }

    /// Every field that can be read from `token`, valid or not, and the verification outcome:
    /// what `mailtrail link decode` prints. Fields of an invalid token are not to be trusted.
    public static func inspect(_ token: some StringProtocol, keyRing: KeyRing) -> TokenInspection {
        var inspection = TokenInspection(verification: .invalid(.truncated))
        let bytes: [UInt8]
        do {
            bytes = try Self.bytes(of: token)
        } catch {
            inspection.verification = .invalid(error)
            return inspection
        }
        inspection.byteCount = bytes.count
        if bytes.count > 0 { inspection.version = bytes[0] }
        if bytes.count > 1 { inspection.keyID = bytes[1] }
        if bytes.count > 2 {
            inspection.kindByte = bytes[2]
            inspection.kind = TokenKind(rawValue: bytes[2] & ~deflatedFlag)
            inspection.isDeflated = bytes[2] & deflatedFlag != 0
        }
        let envelope: Envelope
        do {
            envelope = try Envelope(bytes: bytes)
        } catch {
            inspection.verification = .invalid(error)
            return inspection
        }
        inspection.issuedAt = envelope.issuedAt
        inspection.trackingID = envelope.trackingID
        inspection.tag = Array(envelope.tag)
        let tagError: TokenError?
        if let authenticator = keyRing.authenticator(for: envelope.keyID) {
            tagError = envelope.hasValidTag(authenticator) ? nil : .badTag
        } else {
            tagError = .unknownKey(envelope.keyID)
        }
        // Parsing an unverified payload is safe here: inflation is capped.
        var payloadError: TokenError?
        do {
            let payload = try envelope.payload()
            if envelope.kind.hasDestination {
                inspection.linkIndex = payload.linkIndex
                inspection.destination = payload.destination
                inspection.storedDestinationLength = payload.storedLength
            }
        } catch {
            payloadError = error
        }
        if let error = tagError ?? payloadError {
            inspection.verification = .invalid(error)
        } else {
            inspection.verification = .valid(keyName: keyRing.name(of: envelope.keyID))
        }
        return inspection
    }

    /// The binary token from its text, refusing over-long text before decoding it.
    static func bytes(of token: some StringProtocol) throws(TokenError) -> [UInt8] {
        guard token.utf8.count <= maxTokenLength else { throw .destinationTooLarge }
        do {
            return try Base64URL.decode(token)
        } catch {
            throw tokenError(error)
        }
    }

    /// ``bytes(of:)`` for the UTF-8 bytes of the text.
    static func bytes(ofUTF8 token: UnsafeRawBufferPointer) throws(TokenError) -> [UInt8] {
        guard token.count <= maxTokenLength else { throw .destinationTooLarge }
        do {
            return try Base64URL.decode(token, lenient: false)
        } catch {
            throw tokenError(error)
        }
    }

    private static func tokenError(_ error: Base64URL.DecodingError) -> TokenError {
        switch error {
        case .padded: return .padded
        case .badAlphabet: return .badAlphabet
        case .badLength: return .truncated
        case .nonCanonical: return .nonCanonical
        }
    }

    /// Reads an unsigned LEB128 of at most 32 bits in its shortest form from `bytes[index..<end]`.
    static func readVarint(_ bytes: [UInt8], at index: inout Int, end: Int) throws(TokenError) -> UInt32 {
        var value: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard index < end else { throw .truncated }
            let byte = bytes[index]
            index += 1
            let bits = UInt32(byte & 0x7F)
            // The fifth byte may only carry the top 4 bits of a UInt32.
            if shift == 28, bits > 0x0F { throw .varintOverflow }
            value |= bits << shift
            if byte & 0x80 == 0 {
                // A final zero byte after others is an over-long spelling of a shorter varint.
                if byte == 0, shift > 0 { throw .varintOverflow }
                return value
            }
            shift += 7
            if shift > 28 { throw .varintOverflow }
        }
    }

    /// The binary token split along the fixed layout; nothing in it is trusted until
    /// `hasValidTag` says so.
    struct Envelope {
        let bytes: [UInt8]
        let keyID: UInt8
        let kind: TokenKind
        let isDeflated: Bool

        init(bytes: [UInt8]) throws(TokenError) {
            guard let version = bytes.first else { throw .truncated }
            guard version == TrackingToken.version else { throw .unknownVersion(version) }
            guard bytes.count >= headerLength + tagLength else { throw .truncated }
            let kindByte = bytes[2]
            guard let kind = TokenKind(rawValue: kindByte & ~deflatedFlag) else { throw .badKind }
            let isDeflated = kindByte & deflatedFlag != 0
            guard kind.hasDestination || !isDeflated else { throw .badKind }
            self.bytes = bytes
            self.keyID = bytes[1]
            self.kind = kind
            self.isDeflated = isDeflated
        }

        var issuedAt: UInt32 { bytes[3..<7].reduce(0) { $0 << 8 | UInt32($1) } }
        var trackingID: TrackingID { TrackingID(bytes: bytes[7..<headerLength]) }
        var tagStart: Int { bytes.count - tagLength }
        var tag: ArraySlice<UInt8> { bytes[tagStart...] }

        /// Recomputes the tag and compares it in constant time.
        func hasValidTag(_ authenticator: HMACSHA256) -> Bool {
            withUnsafeTemporaryAllocation(byteCount: tagLength, alignment: 1) { expected in
                bytes.withUnsafeBytes { all in
                    writeTag(authenticator, over: UnsafeRawBufferPointer(rebasing: all[0..<tagStart]), into: expected)
                    var difference: UInt8 = 0
                    for i in 0..<tagLength { difference |= expected[i] ^ all[tagStart + i] }
                    return difference == 0
                }
            }
        }

        /// The link index and destination (for clicks and unsubscribes), and the stored
        /// destination length; for opens, checks that nothing follows the header.
        func payload(inflater: RawDeflate.Inflater? = nil) throws(TokenError) -> (linkIndex: UInt32, destination: [UInt8], storedLength: Int) {
            var index = headerLength
            guard kind.hasDestination else {
                guard index == tagStart else { throw .trailingBytes }
                return (0, [], 0)
            }
            let linkIndex = try readVarint(bytes, at: &index, end: tagStart)
            let stored = bytes[index..<tagStart]
            guard !stored.isEmpty else { throw .missingDestination }
            let destination: [UInt8]
            if isDeflated {
                do {
                    destination = try (inflater ?? makeInflater()).inflate(stored, limit: maxDestinationLength)
                } catch {
                    switch error {
                    case .tooLarge: throw .destinationTooLarge
                    case .trailingData: throw .trailingBytes
                    case .corrupt, .outOfMemory: throw .inflateFailed
                    }
                }
                guard !destination.isEmpty else { throw .missingDestination }
            } else {
                guard stored.count <= maxDestinationLength else { throw .destinationTooLarge }
                destination = Array(stored)
            }
            return (linkIndex, destination, stored.count)
        }
    }
}

/// A token whose tag verified, and the key that signed it.
public struct VerifiedToken: Equatable, Sendable {
    public var token: TrackingToken
    public var keyID: UInt8

    public init(token: TrackingToken, keyID: UInt8) {
        self.token = token
        self.keyID = keyID
    }
}
