import NIOCore

/// An HTTP/1.x response written directly as bytes: status line, headers, body.
///
/// The tracker answers every request this way (a handful of fixed header sets, no encoder in
/// the way), and the milter's metrics endpoint uses the same rendering. Every response
/// carries `Content-Length`, so framing never depends on the connection.
public struct HTTPResponse: Sendable {
    /// `200 OK`, `404 Not Found`, …
    public var status: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: String, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// What the response says about the connection.
    public enum Connection: Equatable, Sendable {
        /// Nothing: HTTP/1.1's default, the connection stays open.
        case unstated
        /// `Connection: keep-alive`, for HTTP/1.0 clients that asked for it.
        case keepAlive
        /// `Connection: close`: the server closes the connection after this response.
        case close
    }

    /// Prometheus' text exposition format, version 0.0.4.
    public static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Never cache: every scrape and every tracking hit must reach the server.
    public static let noStore = "no-store, no-cache, must-revalidate, max-age=0"

    /// The answer to `GET /metrics`: `body` is a Prometheus text exposition.
    public static func metrics(_ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: "200 OK", headers: [
            ("Content-Type", prometheusContentType), ("Content-Length", String(body.count)), ("Cache-Control", noStore),
        ], body: body)
    }

    /// A short plain-text answer (`ok`, `404 Not Found`, …).
    public static func text(status: String, _ text: String, extraHeaders: [(String, String)] = []) -> HTTPResponse {
        let body = Array(text.utf8)
        return HTTPResponse(status: status, headers: [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", String(body.count)),
        ] + extraHeaders, body: body)
    }

    /// The bytes on the wire. `http10` picks the status line's version; `head` leaves the body
    /// out (the headers still describe it, as HEAD requires).
    public func bytes(http10: Bool = false, connection: Connection = .unstated, head: Bool = false) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(256 + body.count)
        buffer.writeString(http10 ? "HTTP/1.0 " : "HTTP/1.1 ")
        buffer.writeString(status)
        buffer.writeString("\r\n")
        for (name, value) in headers {
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
        if !head { buffer.writeBytes(body) }
        return buffer
    }
}
