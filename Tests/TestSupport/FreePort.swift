import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Loopback ports that are free right now, never the same one twice in this process.
///
/// They come from below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`), as in
/// `scripts/freeport.py`: outgoing connections get their local ports from that range, so a
/// port the kernel picked for `bind(0)` could be taken by a client while a test has its
/// server stopped, and the restart on the same port would fail.
public enum FreePort {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var handedOut: Set<Int> = []
    private static let lowest = 10_000

    ///
    /// Probing binds the candidate for a moment, so it happens under the lock and never on a
    /// port already handed out: tests run in parallel, and a probe on a port another test has
    /// just been given would make that test's own `bind` fail.
    public static func next() throws -> Int {
        let ephemeralStart = ephemeralRangeStart()
        let roomBelow = ephemeralStart - lowest >= 1000
        return try next(drawing: { roomBelow ? Int.random(in: lowest..<ephemeralStart) : 0 })
    }

    /// ``next()`` with the candidates drawn by `candidate` (0: let the kernel pick), so a test
    /// can make it try given ports.
    public static func next(drawing candidate: () -> Int) throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        for _ in 0..<200 {
            let candidate = candidate()
            if handedOut.contains(candidate) { continue }
            guard let port = try probe(candidate) else { continue }
            if handedOut.insert(port).inserted { return port }
        }
        throw FixtureError("no free port")
    }

    /// The first port of `net.ipv4.ip_local_port_range` (32768 when it cannot be read).
    public static func ephemeralRangeStart() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
              let first = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first,
              let start = Int(first) else { return 32768 }
        return start
    }

    /// Binds `port` (0: any) on 127.0.0.1 and lets it go; the port bound, nil when it is in use.
    private static func probe(_ port: Int) throws -> Int? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw FixtureError("socket: \(errno)") }
        defer { close(descriptor) }
        var address = loopback(port: UInt16(port))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            if errno == EADDRINUSE || errno == EACCES { return nil }
            throw FixtureError("bind: \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    public static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
