import NIOCore

/// What the tracker needs of one HTTP/1.x request head, as ``RequestHeadParser`` found it.
///
/// The head's bytes are kept as they arrived and the interesting parts are ranges into them,
/// so routing works on bytes and a `String` is made only for what an event records (the user
/// agent, a proxy's client address). Every other header is checked for well-formedness and
/// then ignored.
struct RequestHead {
    /// The request method, as far as the tracker distinguishes methods.
    enum Method: Equatable {
        case get, head, connect
        /// Any other well-formed method token (answered 404 or 405 by the router).
        case other
    }

    /// The head as it arrived: request line, header lines, empty line. Ranges below are
    /// offsets into its readable bytes.
    let bytes: ByteBuffer
    var method: Method
    /// The request target exactly as sent (origin form `/path?query`, absolute form, the
    /// authority of a CONNECT, `*`).
    var target: Range<Int>
    /// HTTP/1.0 rather than HTTP/1.1.
    var http10: Bool
    /// The client's wish: HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with
    /// `Connection: keep-alive`.
    var keepAlive: Bool
    /// After this head the bytes on the connection are no longer request heads: it announces a
    /// body (a `Content-Length` other than 0, any `Transfer-Encoding`), an `Upgrade`, or is a
    /// CONNECT. The tracker answers it and closes the connection.
    var endsStream: Bool
    /// The value of the first `X-Real-IP` field.
    var realIP: Range<Int>?
    /// The values of every `X-Forwarded-For` field, in order.
    var forwardedFor: [Range<Int>]
    /// The value of the first `User-Agent` field.
    var userAgent: Range<Int>?

    /// The bytes of `range` as text (invalid UTF-8 repaired).
    func text(_ range: Range<Int>) -> String {
        bytes.getString(at: bytes.readerIndex + range.lowerBound, length: range.count) ?? ""
    }

    /// Calls `body` with the bytes of the request target.
    func withTarget<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeReadableBytes { try body(UnsafeRawBufferPointer(rebasing: $0[target])) }
    }
}
