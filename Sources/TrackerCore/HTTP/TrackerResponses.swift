import MetricsHTTP
import NIOCore

/// Every answer the tracker gives, as the bytes that go on the wire.
///
/// Responses are written directly (``HTTPResponse``, shared with the milter's metrics endpoint)
/// rather than through NIO's `HTTPResponseEncoder`: they are a handful of fixed header sets, the
/// common ones are built once, and skipping the encoder (and the header dictionaries it needs)
/// is a sizeable share of the per-request cost.
enum TrackerResponses {
    /// A 1×1 transparent GIF (43 bytes): colour 0 of a two-colour table, made transparent.
    static let gif: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,  // GIF89a, 1×1, global table
        0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,                                            // black, white
        0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00,                                // transparent index 0
        0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,                    // image 1×1
        0x02, 0x02, 0x44, 0x01, 0x00,                                                  // LZW data
        0x3B,                                                                          // trailer
    ]

    static let notFoundPage = Array("""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Link not found</title></head>
        <body><h1>Link not found</h1><p>This link is not valid or has expired.</p></body></html>

        """.utf8)

    static let healthBody = Array("ok\n".utf8)

    /// Never cache: every open and click must reach the tracker.
    static let noStore = HTTPResponse.noStore

    /// What the response says about the connection.
    typealias Connection = HTTPResponse.Connection

    /// Status line, headers and body of `answer` (the metrics body comes from `metrics`).
    static func shape(of answer: TrackerAnswer, metrics: () -> [UInt8]) -> HTTPResponse {
        switch answer {
        case .pixel:
            return HTTPResponse(status: "200 OK", headers: [
                ("Content-Type", "image/gif"), ("Content-Length", String(gif.count)),
                ("Cache-Control", noStore), ("Pragma", "no-cache"), ("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"),
            ], body: gif)
        case .redirect(let location):
            return HTTPResponse(status: "302 Found", headers: [
                ("Location", location), ("Cache-Control", noStore), ("Content-Length", "0"),
            ], body: [])
        case .notFound:
            return HTTPResponse(status: "404 Not Found", headers: [
                ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", String(notFoundPage.count)),
                ("Cache-Control", noStore), ("X-Content-Type-Options", "nosniff"),
            ], body: notFoundPage)
        case .methodNotAllowed:
            return HTTPResponse(status: "405 Method Not Allowed", headers: [("Allow", "GET, HEAD"), ("Content-Length", "0")], body: [])
        case .health:
            return HTTPResponse(status: "200 OK", headers: [
                ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", String(healthBody.count)),
                ("Cache-Control", noStore),
            ], body: healthBody)
        case .metrics:
            return .metrics(metrics())
        }
    }

    /// The status code of `answer`, for metrics.
    static func status(of answer: TrackerAnswer) -> Int {
        switch answer {
        case .pixel, .health, .metrics: return 200
        case .redirect: return 302
        case .notFound: return 404
        case .methodNotAllowed: return 405
        }
    }

    /// The response bytes. `http10` picks the status line's version; a HEAD request gets the
    /// headers without the body.
    static func bytes(for answer: TrackerAnswer, http10: Bool = false, connection: Connection = .unstated,
                      head: Bool = false, metrics: () -> [UInt8] = { [] }) -> ByteBuffer {
        if !http10, connection == .unstated {
            switch answer {
            case .pixel: return head ? Cached.pixelHead : Cached.pixel
            case .notFound: return head ? Cached.notFoundHead : Cached.notFound
            case .methodNotAllowed: return Cached.methodNotAllowed
            case .health: return head ? Cached.healthHead : Cached.health
            case .redirect(let location):
                var buffer = ByteBufferAllocator().buffer(
                    capacity: Cached.redirectPrefix.utf8.count + location.utf8.count + Cached.redirectSuffix.utf8.count)
                buffer.writeString(Cached.redirectPrefix)
                buffer.writeString(location)
                buffer.writeString(Cached.redirectSuffix)
                return buffer
            case .metrics: break
            }
        }
        return shape(of: answer, metrics: metrics).bytes(http10: http10, connection: connection, head: head)
    }

    /// A complete raw response that ends the connection, for refusals made before the
    /// request is understood (400, 408, 414, 431).
    static func closingResponse(status: Int, reason: String) -> ByteBuffer {
        HTTPResponse.text(status: "\(status) \(reason)", "\(status) \(reason)\n").bytes(connection: .close)
    }

    /// The fixed answers of HTTP/1.1 keep-alive requests, rendered once.
    private enum Cached {
        static let pixel = shape(of: .pixel, metrics: { [] }).bytes(head: false)
        static let pixelHead = shape(of: .pixel, metrics: { [] }).bytes(head: true)
        static let notFound = shape(of: .notFound, metrics: { [] }).bytes(head: false)
        static let notFoundHead = shape(of: .notFound, metrics: { [] }).bytes(head: true)
        static let methodNotAllowed = shape(of: .methodNotAllowed, metrics: { [] }).bytes(head: false)
        static let health = shape(of: .health, metrics: { [] }).bytes(head: false)
        static let healthHead = shape(of: .health, metrics: { [] }).bytes(head: true)
        /// The 302 around its Location value, as `HTTPResponse.bytes` writes it.
        static let redirectPrefix = "HTTP/1.1 302 Found\r\nLocation: "
        static let redirectSuffix = "\r\nCache-Control: \(noStore)\r\nContent-Length: 0\r\n\r\n"
    }
}
