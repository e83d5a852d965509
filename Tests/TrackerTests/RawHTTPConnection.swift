import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 client over a plain TCP socket, byte-exact both ways, for driving
/// the tracker the way hostile or unusual clients do (pipelining, partial writes, not
/// reading, spoofed headers from a chosen loopback source address).
final class RawHTTPConnection {
    struct Response: Equatable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        /// Header names in order, for exact comparisons.
        var headerNames: [String] { headers.map(\.0) }

        static func == (a: Response, b: Response) -> Bool {
            a.status == b.status && a.body == b.body && a.headers.map { [$0.0, $0.1] } == b.headers.map { [$0.0, $0.1] }
        }
    }

    enum Failure: Error, Equatable {
        case closed
        case timeout
        case malformed(String)
    }

    let descriptor: Int32
    private var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`, from `source` (another 127.x address) when given.
    /// `receiveBuffer` fixes the socket's receive buffer (no kernel autotuning), so tests of
    /// a client that stops reading do not depend on the machine's `tcp_rmem`.
    init(port: Int, source: String? = nil, timeout: Double = 10, receiveBuffer: Int32? = nil) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw FixtureError("socket: \(errno)") }
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source {
            var local = FreePort.loopback(port: 0)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { close(descriptor); throw FixtureError("bind \(source): \(errno)") }
        }
        var address = FreePort.loopback(port: UInt16(port))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(descriptor); throw FixtureError("connect to \(port): \(errno)") }
    }

    deinit {
        close(descriptor)
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw errno == EAGAIN ? Failure.timeout : Failure.closed
            }
            offset += written
        }
    }

    /// `GET target` with the given extra header lines.
    func get(_ target: String, method: String = "GET", headers: [String] = []) throws -> Response {
        try send(Self.request(target, method: method, headers: headers))
        return try readResponse(bodyExpected: method != "HEAD")
    }

    static func request(_ target: String, method: String = "GET", headers: [String] = []) -> String {
        "\(method) \(target) HTTP/1.1\r\nHost: t.test\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n"
    }

    /// Reads one response; the body is `Content-Length` bytes unless `bodyExpected` is false.
    func readResponse(bodyExpected: Bool = true) throws -> Response {
        let headEnd = try fill(until: { Self.find([13, 10, 13, 10], in: $0) })
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw Failure.malformed(head)
        }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw Failure.malformed(line) }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = Response(status: status, headers: headers, body: [])
        if bodyExpected, let length = response.header("Content-Length").flatMap(Int.init), length > 0 {
            _ = try fill(until: { $0.count >= length ? length : nil })
            response.body = Array(buffer[..<length])
            buffer.removeFirst(length)
        }
        return response
    }

    /// True when the server closed the connection (EOF) within the receive timeout.
    func isClosedByServer() -> Bool {
        do {
            _ = try fill(until: { _ in nil })
        } catch Failure.closed {
            return true
        } catch {}
        return false
    }

    /// Everything until the server closes the connection.
    func readUntilClosed() throws -> [UInt8] {
        do {
            _ = try fill(until: { _ in nil })
        } catch Failure.closed {
            defer { buffer.removeAll() }
            return buffer
        }
        return buffer
    }

    /// Reads until `found` returns a position in the buffer.
    private func fill(until found: ([UInt8]) -> Int?) throws -> Int {
        while true {
            if let position = found(buffer) { return position }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count == 0 { throw Failure.closed }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure.timeout }
                throw Failure.closed  // ECONNRESET and friends
            }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index] == needle[0] {
            if Array(haystack[index..<index + needle.count]) == needle { return index }
        }
        return nil
    }
}
