import Foundation
import MetricsHTTP
import NIOCore
import Testing

/// The milter's /metrics endpoint: routing, exact response bytes, and a real scrape over loopback.
@Suite struct MetricsServerTests {
    static let exposition = Array("# TYPE x_total counter\nx_total 3\n".utf8)

    static func text(_ buffer: ByteBuffer) -> String {
        String(decoding: buffer.readableBytesView, as: UTF8.self)
    }

    @Test func metricsAnswerIsThePrometheusExposition() {
        let response = MetricsServer.response(method: "GET", target: "/metrics?name[]=x", exposition: { Self.exposition })
        #expect(Self.text(response.bytes(connection: .close)) == """
            HTTP/1.1 200 OK\r
            Content-Type: text/plain; version=0.0.4; charset=utf-8\r
            Content-Length: 33\r
            Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r
            Connection: close\r
            \r
            # TYPE x_total counter
            x_total 3

            """)
    }

    @Test func healthOtherPathsAndMethods() {
        let never: () -> [UInt8] = { Issue.record("exposition rendered needlessly"); return [] }
        #expect(Self.text(MetricsServer.response(method: "HEAD", target: "/healthz", exposition: never).bytes(head: true))
                == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\n")
        #expect(Self.text(MetricsServer.response(method: "GET", target: "/", exposition: never).bytes(http10: true))
                == "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n404 Not Found\n")
        #expect(Self.text(MetricsServer.response(method: "POST", target: "/metrics", exposition: never).bytes())
                == "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 23\r\n"
                + "Allow: GET, HEAD\r\n\r\n405 Method Not Allowed\n")
    }

    @Test func servesAScrapeOverLoopbackAndStops() throws {
        let server = MetricsServer(host: "127.0.0.1", port: 0) { Self.exposition }
        let port = try server.bind()
        #expect(port > 0)
        try server.start()
        let answer = try Self.get(port: port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.hasSuffix("\r\n\r\n# TYPE x_total counter\nx_total 3\n"))
        #expect(try Self.get(port: port, request: "garbage\r\n\r\n").hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        server.stop()
        #expect(throws: (any Error).self) { try Self.get(port: port, request: "GET /metrics HTTP/1.1\r\n\r\n") }
    }

    @Test func anAddressInUseIsReportedByBindWithoutThreads() throws {
        let first = MetricsServer(host: "127.0.0.1", port: 0) { [] }
        let port = try first.bind()
        try first.start()
        defer { first.stop() }
        let second = MetricsServer(host: "127.0.0.1", port: port) { [] }
        do {
            try second.bind()
            Issue.record("a second bind to \(port) succeeded")
        } catch {
            #expect(error.addressInUse)
            #expect(error.reason == "Address already in use")
        }
    }

    /// One request on a fresh connection; the whole answer (the server closes the connection).
    static func get(port: Int, request: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            if count == 0 { break }
            received += chunk[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }
}
