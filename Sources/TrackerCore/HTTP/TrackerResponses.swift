import NIOCore
import NIOHTTP1

/// Status, headers and body of every answer the tracker gives, built once.
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

    struct Response: Sendable {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: ByteBuffer
    }

    private static let gifBuffer = ByteBuffer(bytes: gif)
    private static let notFoundBuffer = ByteBuffer(bytes: notFoundPage)
    private static let healthBuffer = ByteBuffer(bytes: healthBody)
    private static let emptyBuffer = ByteBuffer()

    private static let pixelResponse = Response(status: .ok, headers: HTTPHeaders([
        ("Content-Type", "image/gif"), ("Content-Length", String(gif.count)),
        ("Cache-Control", noStore), ("Pragma", "no-cache"), ("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"),
    ]), body: gifBuffer)

    private static let notFoundResponse = Response(status: .notFound, headers: HTTPHeaders([
        ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", String(notFoundPage.count)),
        ("Cache-Control", noStore), ("X-Content-Type-Options", "nosniff"),
    ]), body: notFoundBuffer)

    private static let methodNotAllowedResponse = Response(status: .methodNotAllowed, headers: HTTPHeaders([
        ("Allow", "GET, HEAD"), ("Content-Length", "0"),
    ]), body: emptyBuffer)

    private static let healthResponse = Response(status: .ok, headers: HTTPHeaders([
        ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", String(healthBody.count)),
        ("Cache-Control", noStore),
    ]), body: healthBuffer)

    /// The response for `answer`; `metrics` supplies the exposition for `.metrics`.
    static func response(for answer: TrackerAnswer, metrics: () -> [UInt8]) -> Response {
        switch answer {
        case .pixel:
            return pixelResponse
        case .redirect(let location):
            return Response(status: .found, headers: HTTPHeaders([
                ("Location", location), ("Cache-Control", noStore), ("Content-Length", "0"),
            ]), body: emptyBuffer)
        case .notFound:
            return notFoundResponse
        case .methodNotAllowed:
            return methodNotAllowedResponse
        case .health:
            return healthResponse
        case .metrics:
            let body = metrics()
            return Response(status: .ok, headers: HTTPHeaders([
                ("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), ("Content-Length", String(body.count)),
                ("Cache-Control", noStore),
            ]), body: ByteBuffer(bytes: body))
        }
    }

    /// A complete raw response that ends the connection, for refusals made before the HTTP
    /// decoder sees the request (408, 414, 431).
    static func closingResponse(status: Int, reason: String) -> [UInt8] {
        let body = "\(status) \(reason)\n"
        return Array((
            "HTTP/1.1 \(status) \(reason)\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + body
        ).utf8)
    }
}
