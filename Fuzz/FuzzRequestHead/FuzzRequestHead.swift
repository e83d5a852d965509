import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import TrackerCore

/// The tracker's own reading of HTTP/1.x request heads (``RequestGate``: ``HeadScanner`` and
/// ``RequestHeadParser``) against NIO's llhttp-based `HTTPRequestDecoder`, on arbitrary bytes.
///
/// The tracker parses the heads that reach it from the network itself, for speed; llhttp is
/// the reference it replaced. For every head the tracker passes on, llhttp must read a head
/// there too, with the same method, target, version, keep-alive, `User-Agent`, `X-Real-IP`
/// and `X-Forwarded-For`. Where llhttp expects a body (or an upgrade) after a head, the
/// tracker must stop reading the connection after it (``RequestHead/endsStream``): otherwise
/// the bytes of a body would be taken for further requests. The tracker may be stricter than
/// llhttp (400), but not with a head in the plain form a client writes.
///
/// Differences by choice:
/// - the tracker also ends lines with a bare LF, as RFC 9112 §2.2 allows, where NIO's llhttp
///   wants CR LF: llhttp is given the bytes with a CR before each bare LF;
/// - a field value does not include the white space after it (RFC 9110 §5.5); llhttp keeps it;
/// - the tracker takes any request target of visible bytes and any method token (RFC 9110)
///   and leaves them to the router (404, 405); llhttp refuses some absolute URLs and every
///   method not on its list;
/// - a `Content-Length` other than `0`, or any `Transfer-Encoding`, ends the stream for the
///   tracker whatever it says; llhttp refuses a malformed or repeated one. Either way nothing
///   after the head is read.
///
/// The bytes arrive split in two at a place chosen from the input, which the gate must not
/// notice.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let ours = TrackerReading(bytes, splitAt: size == 0 ? 0 : Int(bytes[size - 1]) * 257 % size)
    let reference = LLHTTPReading(withCRBeforeBareLF(bytes))

    for (index, head) in ours.heads.enumerated() {
        guard index < reference.heads.count else {
            switch reference.failure as? HTTPParserError {
            case .invalidURL?, .invalidMethod?:
                return 0  // chosen: the tracker's targets and methods (404, 405)
            case .invalidContentLength?, .unexpectedContentLength?, .unknown? where head.endsStream && declaresBody(head):
                // llhttp refuses a malformed or repeated Content-Length or Transfer-Encoding
                // (`unknown` is NIO's name for the latter); the tracker answers and closes.
                return 0
            case .closedConnection? where index > 0 && !reference.heads[index - 1].head.isKeepAlive:
                // llhttp closed after the head before by its own reading of Connection (which
                // misses a token with white space after it); the tracker's, checked above, kept it.
                return 0
            default:
                break
            }
            require(false, "the tracker passes head \(index) on, llhttp \(reference.failure.map { "refuses it: \($0)" } ?? "reads no head there") in \(describe(bytes))")
            return 0
        }
        let expected = reference.heads[index]
        compare(head, expected, index: index, in: bytes)
        // The handler answers such a head and closes: nothing after it is read.
        if head.endsStream || !head.keepAlive { return 0 }
    }
    // The tracker is stricter than llhttp in places (one space between the parts of the
    // request line, no white space before a colon, …), but refuses no head in the plain form
    // a client writes: the bytes the first head would have if written out from llhttp's reading.
    if ours.refused, ours.heads.isEmpty, let first = reference.heads.first {
        let plain = plainForm(of: first.head)
        require(!bytes.drop(while: { $0 == 0x0D || $0 == 0x0A }).starts(with: plain),
                "the tracker refuses the plain head \(describe(plain))")
    }
    return 0
}

private func compare(_ head: RequestHead, _ expected: LLHTTPReading.Head, index: Int, in bytes: [UInt8]) {
    let nio = expected.head
    let context = "head \(index) of \(describe(bytes))"
    let method: RequestHead.Method
    switch nio.method {
    case .GET: method = .get
    case .HEAD: method = .head
    case .CONNECT: method = .connect
    default: method = .other
    }
    require(head.method == method, "method \(head.method) where llhttp reads \(nio.method) in \(context)")
    let target = head.withTarget { String(decoding: $0, as: UTF8.self) }
    require(target == nio.uri, "target \(target) where llhttp reads \(nio.uri) in \(context)")
    require(head.http10 == (nio.version == .http1_0) && (nio.version == .http1_0 || nio.version == .http1_1),
            "HTTP/1.0 \(head.http10) where llhttp reads \(nio.version) in \(context)")

    // llhttp keeps the white space after a value; a field value does not include it (RFC 9110 §5.5).
    func values(_ name: String) -> [String] { nio.headers[name].map(trimmingWhiteSpace) }
    // RFC 9112 §9.3, from llhttp's fields (`isKeepAlive` takes the first of `close` and
    // `keep-alive` it meets, and misses `close` with white space after it).
    let tokens = values("connection").flatMap { $0.split(separator: ",") }.map { trimmingWhiteSpace(String($0)).lowercased() }
    let keepAlive = !tokens.contains("close") && (nio.version == .http1_1 || tokens.contains("keep-alive"))
    require(head.keepAlive == keepAlive, "keep-alive \(head.keepAlive) where llhttp's fields say \(keepAlive) in \(context)")

    let userAgent = head.userAgent.map(head.text)
    require(userAgent == values("user-agent").first,
            "User-Agent \(String(describing: userAgent)) where llhttp reads \(values("user-agent")) in \(context)")
    let realIP = head.realIP.map(head.text)
    require(realIP == values("x-real-ip").first,
            "X-Real-IP \(String(describing: realIP)) where llhttp reads \(values("x-real-ip")) in \(context)")
    let forwardedFor = head.forwardedFor.map(head.text)
    require(forwardedFor == values("x-forwarded-for"),
            "X-Forwarded-For \(forwardedFor) where llhttp reads \(values("x-forwarded-for")) in \(context)")

    // What follows the head: requests (keep going) or something else (stop reading).
    let lengths = values("content-length")
    let announces = nio.method == .CONNECT || nio.headers.contains(name: "upgrade")
        || nio.headers.contains(name: "transfer-encoding") || lengths.contains { $0 != "0" }
    if expected.bodyFollows || announces {
        require(head.endsStream, "llhttp expects a body or an upgrade after \(context), the tracker reads on")
    } else {
        require(!head.endsStream, "the tracker stops reading after \(context), llhttp expects nothing there")
    }
}

/// Whether `head` has a `Content-Length` or `Transfer-Encoding` field.
private func declaresBody(_ head: RequestHead) -> Bool {
    let text = head.text(0..<head.bytes.readableBytes).lowercased()
    return text.contains("\ncontent-length:") || text.contains("\ntransfer-encoding:")
}

/// A request head as a client writes it: single spaces, CR LF, `name: value`.
private func plainForm(of head: HTTPRequestHead) -> [UInt8] {
    var text = "\(head.method.rawValue) \(head.uri) HTTP/\(head.version.major).\(head.version.minor)\r\n"
    for (name, value) in head.headers { text += "\(name): \(value)\r\n" }
    return Array((text + "\r\n").utf8)
}

/// `value` without the spaces and tabs around it.
private func trimmingWhiteSpace(_ value: String) -> String {
    let utf8 = value.utf8
    let isWhite = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
    guard let first = utf8.firstIndex(where: { !isWhite($0) }), let last = utf8.lastIndex(where: { !isWhite($0) }) else { return "" }
    return String(value[first...last])
}

/// `bytes` with a CR inserted before every LF that has none.
private func withCRBeforeBareLF(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + 16)
    for (index, byte) in bytes.enumerated() {
        if byte == 0x0A && (index == 0 || bytes[index - 1] != 0x0D) { out.append(0x0D) }
        out.append(byte)
    }
    return out
}

/// What the tracker's ``RequestGate`` passes on from `bytes`, as they arrive in two reads.
private struct TrackerReading {
    var heads: [RequestHead] = []
    /// The gate answered a head 400 (or another refusal).
    var refused = false

    init(_ bytes: [UInt8], splitAt split: Int) {
        let channel = EmbeddedChannel()
        let state = ConnectionState()
        var refusals: [Int] = []
        let limits = RequestGate.Limits(requestLine: 1 << 20, headerBlock: 1 << 20,
                                        headerTimeout: .hours(1), idleTimeout: .hours(1))
        let gate = RequestGate(limits: limits, state: state) { refusals.append($0) }
        do {
            try channel.pipeline.syncOperations.addHandler(gate)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            for piece in [bytes[..<split], bytes[split...]] where !piece.isEmpty {
                try channel.writeInbound(channel.allocator.buffer(bytes: piece))
            }
            while let head = try channel.readInbound(as: RequestHead.self) { heads.append(head) }
            // Finishing takes the gate out of the pipeline and cancels its timer.
            _ = try channel.finish(acceptAlreadyClosed: true)
        } catch {
            require(false, "the embedded channel failed: \(error)")
        }
        require(refusals.allSatisfy { $0 == 400 }, "refusals \(refusals) with limits no input reaches")
        refused = !refusals.isEmpty
    }
}

/// What NIO's `HTTPRequestDecoder` (llhttp) reads from `bytes`.
private struct LLHTTPReading {
    struct Head {
        var head: HTTPRequestHead
        /// Body bytes came after the head, or the message did not end with the bytes.
        var bodyFollows: Bool
    }

    var heads: [Head] = []
    /// Why llhttp stopped, if it refused the bytes.
    var failure: Error?

    init(_ bytes: [UInt8]) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        do {
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        } catch {
            failure = error
        }
        var ended = true
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let head):
                heads.append(Head(head: head, bodyFollows: false))
                ended = false
            case .body:
                heads[heads.count - 1].bodyFollows = true
            case .end:
                ended = true
            }
        }
        if !ended { heads[heads.count - 1].bodyFollows = true }
        _ = try? channel.finish()
    }
}

@main
enum FuzzRequestHeadMain {
    static func main() { FuzzerMain.run { data, size in fuzz(data!, size) } }
}
