import NIOCore
import Rewrite

/// Parses one complete HTTP/1.x request head — request line, header lines, empty line — into
/// a ``RequestHead``, in a single pass over its lines, in place of NIO's general-purpose
/// decoder (which builds a `String` for every header name and value).
///
/// What is accepted (RFC 9112; `FuzzRequestHead` checks it against NIO's llhttp-based decoder,
/// which it replaced, and lists where the two differ by choice):
/// - lines end in LF, with or without a CR before it (RFC 9112 §2.2 allows a bare LF; llhttp
///   does not); empty lines before the request line are skipped; a CR anywhere else is refused.
/// - request line: a method token, one space, a request target of visible ASCII or bytes
///   above 0x7F, one space, `HTTP/1.0` or `HTTP/1.1`. The target's form is the router's
///   business (an unknown one is a 404).
/// - header lines: a token, a colon directly after it, a value of visible ASCII, bytes above
///   0x7F, spaces and tabs (trimmed). A control byte, obs-fold (a line starting with white
///   space), a missing colon or white space before it is refused.
///
/// Any violation throws ``RequestHeadError/malformed`` (answered 400). Size limits and time
/// limits are ``RequestGate``'s business, which hands over only complete heads.
enum RequestHeadParser {
    /// Parses `head`, whose readable bytes must be exactly one head, its empty line included
    /// (and possibly empty lines before it).
    static func parse(_ head: ByteBuffer) throws(RequestHeadError) -> RequestHead {
        let fields = try head.withUnsafeReadableBytes { bytes throws(RequestHeadError) in try parse(bytes) }
        return RequestHead(bytes: head, method: fields.method, target: fields.target, http10: fields.http10,
                           keepAlive: fields.http10 ? fields.keepAliveToken && !fields.closeToken : !fields.closeToken,
                           endsStream: fields.method == .connect || fields.upgrade || fields.transferCoding || fields.contentLength,
                           realIP: fields.realIP, forwardedFor: fields.forwardedFor, userAgent: fields.userAgent)
    }

    /// What one head says, gathered line by line.
    struct Fields {
        var method = RequestHead.Method.other
        var target = 0..<0
        var http10 = false
        var realIP: Range<Int>?
        var forwardedFor: [Range<Int>] = []
        var userAgent: Range<Int>?
        /// A `Content-Length` other than 0 (a body follows).
        var contentLength = false
        var transferCoding = false
        var upgrade = false
        var closeToken = false
        var keepAliveToken = false
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(RequestHeadError) -> Fields {
        var lines = Lines(bytes: bytes)
        var requestLine: Range<Int>
        repeat {
            guard let line = try lines.next() else { throw .malformed }
            requestLine = line
        } while requestLine.isEmpty
        var fields = Fields()
        try parseRequestLine(bytes, requestLine, into: &fields)
        while true {
            guard let line = try lines.next() else { throw .malformed }  // no empty line
            if line.isEmpty { break }
            try parseField(bytes, line, into: &fields)
        }
        guard lines.atEnd else { throw .malformed }
        return fields
    }

    // MARK: - Request line

    private static func parseRequestLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>,
                                         into fields: inout Fields) throws(RequestHeadError) {
        var index = line.lowerBound
        while index < line.upperBound, isTokenByte(bytes[index]) { index += 1 }
        let method = line.lowerBound..<index
        guard !method.isEmpty, index < line.upperBound, bytes[index] == ASCII.space else { throw .malformed }
        index += 1
        let targetStart = index
        while index < line.upperBound, isTargetByte(bytes[index]) { index += 1 }
        let target = targetStart..<index
        guard !target.isEmpty, index < line.upperBound, bytes[index] == ASCII.space else { throw .malformed }
        let version = (index + 1)..<line.upperBound
        if equals(bytes, version, http11Version) {
            fields.http10 = false
        } else if equals(bytes, version, http10Version) {
            fields.http10 = true
        } else {
            throw .malformed
        }
        if equals(bytes, method, getMethod) {
            fields.method = .get
        } else if equals(bytes, method, headMethod) {
            fields.method = .head
        } else if equals(bytes, method, connectMethod) {
            fields.method = .connect
        } else {
            fields.method = .other
        }
        fields.target = target
    }

    // MARK: - Header fields

    private static func parseField(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>,
                                   into fields: inout Fields) throws(RequestHeadError) {
        var index = line.lowerBound
        while index < line.upperBound, isTokenByte(bytes[index]) { index += 1 }
        let name = line.lowerBound..<index
        // Also refuses obs-fold (a line starting with SP or HTAB) and white space before the colon.
        guard !name.isEmpty, index < line.upperBound, bytes[index] == ASCII.colon else { throw .malformed }
        var start = index + 1
        var end = line.upperBound
        for position in start..<end where !isValueByte(bytes[position]) { throw .malformed }
        while start < end, isWhite(bytes[start]) { start += 1 }
        while end > start, isWhite(bytes[end - 1]) { end -= 1 }
        let value = start..<end

        switch name.count {
        case 7 where equalsIgnoringCase(bytes, name, upgradeName):
            fields.upgrade = true
        case 9 where equalsIgnoringCase(bytes, name, realIPName):
            if fields.realIP == nil { fields.realIP = value }
        case 10 where equalsIgnoringCase(bytes, name, connectionName):
            addConnectionTokens(bytes, value, to: &fields)
        case 10 where equalsIgnoringCase(bytes, name, userAgentName):
            if fields.userAgent == nil { fields.userAgent = value }
        case 14 where equalsIgnoringCase(bytes, name, contentLengthName):
            if !(value.count == 1 && bytes[value.lowerBound] == UInt8(ascii: "0")) { fields.contentLength = true }
        case 15 where equalsIgnoringCase(bytes, name, forwardedForName):
            fields.forwardedFor.append(value)
        case 17 where equalsIgnoringCase(bytes, name, transferEncodingName):
            fields.transferCoding = true
        default:
            break
        }
    }

    /// Notes `close` and `keep-alive` among the comma-separated tokens of a Connection field.
    private static func addConnectionTokens(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>, to fields: inout Fields) {
        var start = value.lowerBound
        while start <= value.upperBound {
            var end = start
            while end < value.upperBound, bytes[end] != ASCII.comma { end += 1 }
            var tokenStart = start
            var tokenEnd = end
            while tokenStart < tokenEnd, isWhite(bytes[tokenStart]) { tokenStart += 1 }
            while tokenEnd > tokenStart, isWhite(bytes[tokenEnd - 1]) { tokenEnd -= 1 }
            let token = tokenStart..<tokenEnd
            if equalsIgnoringCase(bytes, token, closeWord) { fields.closeToken = true }
            if equalsIgnoringCase(bytes, token, keepAliveWord) { fields.keepAliveToken = true }
            start = end + 1
        }
    }

    // MARK: - Lines

    /// The lines of a head as ranges without their line end (LF, or CR LF).
    private struct Lines {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        var atEnd: Bool { index == bytes.count }

        /// The next line; nil at the end of the bytes; throws on a bare CR or an unterminated line.
        mutating func next() throws(RequestHeadError) -> Range<Int>? {
            guard index < bytes.count else { return nil }
            var position = index
            while position < bytes.count {
                let byte = bytes[position]
                if byte == ASCII.lf {
                    let line = index..<position
                    index = position + 1
                    return line
                }
                if byte == ASCII.cr {
                    guard position + 1 < bytes.count, bytes[position + 1] == ASCII.lf else { throw .malformed }
                    let line = index..<position
                    index = position + 2
                    return line
                }
                position += 1
            }
            throw .malformed
        }
    }

    // MARK: - Bytes

    /// `tchar` of RFC 9110: the bytes of methods and field names. (A switch, not a lazily
    /// made table: each use of one costs a `swift_once` call, here once per byte.)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Request-target bytes: visible ASCII, and bytes above 0x7F (which llhttp let through).
    private static func isTargetByte(_ byte: UInt8) -> Bool { byte > 0x20 && byte != 0x7F }

    /// Field-value bytes: visible ASCII, obs-text, SP and HTAB; no other control byte, no DEL.
    private static func isValueByte(_ byte: UInt8) -> Bool {
        (byte >= 0x20 && byte != 0x7F) || byte == ASCII.tab
    }

    private static func isWhite(_ byte: UInt8) -> Bool { byte == ASCII.space || byte == ASCII.tab }

    private static func equals(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ expected: [UInt8]) -> Bool {
        range.count == expected.count && bytes[range].elementsEqual(expected)
    }

    /// Compares `range` of `bytes` with the lower-case `expected`, ignoring ASCII case.
    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ expected: [UInt8]) -> Bool {
        range.count == expected.count && ASCII.equalsIgnoringCase(bytes[range], expected)
    }

    private static let http11Version = Array("HTTP/1.1".utf8)
    private static let http10Version = Array("HTTP/1.0".utf8)
    private static let getMethod = Array("GET".utf8)
    private static let headMethod = Array("HEAD".utf8)
    private static let connectMethod = Array("CONNECT".utf8)
    private static let upgradeName = Array("upgrade".utf8)
    private static let realIPName = Array("x-real-ip".utf8)
    private static let connectionName = Array("connection".utf8)
    private static let userAgentName = Array("user-agent".utf8)
    private static let contentLengthName = Array("content-length".utf8)
    private static let forwardedForName = Array("x-forwarded-for".utf8)
    private static let transferEncodingName = Array("transfer-encoding".utf8)
    private static let closeWord = Array("close".utf8)
    private static let keepAliveWord = Array("keep-alive".utf8)
}
