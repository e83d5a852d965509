import NIOCore

/// Every answer the tracker gives, as the bytes that go on the wire.
///
/// Responses are written directly rather than through NIO's `HTTPResponseEncoder`: they are a
/// handful of fixed header sets, the common ones are built once, and skipping the encoder
/// (and the header dictionaries it needs) is a sizeable share of the per-request cost.
/// Every response carries `Content-Length`, so framing never depends on the connection.
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
    static let noStore = "no-store, no-cache, must-revalidate, max-age=0"

    /// What the response says about the connection.
    enum Connection: Equatable {
        /// Nothing: HTTP/1.1's default, the connection stays open.
        case unstated
        /// `Connection: keep-alive`, for HTTP/1.0 clients that asked for it.
        case keepAlive
        /// `Connection: close`: the tracker closes the connection after this response.
        case close
    }

    /// How one response is put together.
    struct Shape {
        var status: String
        var headers: [(String, String)]
        var body: [UInt8]
    }

    /// Status line, headers and body of `answer` (the metrics body comes from `metrics`).
    static func shape(of answer: TrackerAnswer, metrics: () -> [UInt8]) -> Shape {
        switch answer {
        case .pixel:
            return Shape(status: "200 OK", headers: [
                ("Content-Type", "image/gif"), ("Content-Length", String(gif.count)),
                ("Cache-Control", noStore), ("Pragma", "no-cache"), ("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"),
            ], body: gif)
        case .redirect(let location):
            return Shape(status: "302 Found", headers: [
                ("Location", location), ("Cache-Control", noStore), ("Content-Length", "0"),
            ], body: [])
        case .notFound:
            return Shape(status: "404 Not Found", headers: [
                ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", String(notFoundPage.count)),
                ("Cache-Control", noStore), ("X-Content-Type-Options", "nosniff"),
            ], body: notFoundPage)
        case .methodNotAllowed:
            return Shape(status: "405 Method Not Allowed", headers: [("Allow", "GET, HEAD"), ("Content-Length", "0")], body: [])
        case .health:
            return Shape(status: "200 OK", headers: [
                ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", String(healthBody.count)),
                ("Cache-Control", noStore),
            ], body: healthBody)
        case .metrics:
            let body = metrics()
            return Shape(status: "200 OK", headers: [
                ("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), ("Content-Length", String(body.count)),
                ("Cache-Control", noStore),
            ], body: body)
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
        return render(shape(of: answer, metrics: metrics), http10: http10, connection: connection, head: head)
    }

    /// A complete raw response that ends the connection, for refusals made before the
    /// request is understood (400, 408, 414, 431).
    static func closingResponse(status: Int, reason: String) -> ByteBuffer {
        let body = Array("\(status) \(reason)\n".utf8)
        return render(Shape(status: "\(status) \(reason)", headers: [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", String(body.count)),
        ], body: body), http10: false, connection: .close, head: false)
    }

    private static func render(_ shape: Shape, http10: Bool, connection: Connection, head: Bool) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(256 + shape.body.count)
        buffer.writeString(http10 ? "HTTP/1.0 " : "HTTP/1.1 ")
        buffer.writeString(shape.status)
        buffer.writeString("\r\n")
        for (name, value) in shape.headers {
            buffer.writeString(name)
            buffer.writeString(": ")
            buffer.writeString(value)
            buffer.writeString("\r\n")
        }
        switch connection {
        case .unstated: break
        case .keepAlive: buffer.writeString("Connection: keep-alive\r\n")
        case .close: buffer.writeString("Connection: close\r\n")
        }
        buffer.writeString("\r\n")
        if !head { buffer.writeBytes(shape.body) }
        return buffer
    }

    /// The fixed answers of HTTP/1.1 keep-alive requests, rendered once.
    private enum Cached {
        static let pixel = render(shape(of: .pixel, metrics: { [] }), http10: false, connection: .unstated, head: false)
        static let pixelHead = render(shape(of: .pixel, metrics: { [] }), http10: false, connection: .unstated, head: true)
        static let notFound = render(shape(of: .notFound, metrics: { [] }), http10: false, connection: .unstated, head: false)
        static let notFoundHead = render(shape(of: .notFound, metrics: { [] }), http10: false, connection: .unstated, head: true)
        static let methodNotAllowed = render(shape(of: .methodNotAllowed, metrics: { [] }), http10: false, connection: .unstated, head: false)
        static let health = render(shape(of: .health, metrics: { [] }), http10: false, connection: .unstated, head: false)
        static let healthHead = render(shape(of: .health, metrics: { [] }), http10: false, connection: .unstated, head: true)
        /// The 302 around its Location value, as `render` writes it.
        static let redirectPrefix = "HTTP/1.1 302 Found\r\nLocation: "
        static let redirectSuffix = "\r\nCache-Control: \(noStore)\r\nContent-Length: 0\r\n\r\n"
    }
}
