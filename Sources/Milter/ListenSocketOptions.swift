import Glibc

/// Turns off Nagle's algorithm on libmilter's TCP listening socket; Linux copies the option
/// to every connection accepted from it.
///
/// libmilter answers end of message with several small packets (header changes, body
/// chunks, the final reply) and Postfix sends the message as many small commands without
/// waiting (no-reply steps). With Nagle on, each small write after the first waits for an
/// acknowledgement the peer delays by up to 40 ms: about 90 ms per message instead of 1.
/// libmilter does not expose its socket, so it is found among the process's descriptors: the
/// one listening on the configured port.
enum ListenSocketOptions {
    /// Returns false when no listening socket on `port` was found.
    @discardableResult
    static func disableNagle(port: Int) -> Bool {
        var found = false
        for fd in Int32(0)..<Int32(min(getdtablesize(), 4096)) where listens(fd, port: port) {
            var one: Int32 = 1
            if setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 {
                found = true
            }
        }
        return found
    }

    private static func listens(_ fd: Int32, port: Int) -> Bool {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0, accepting == 1 else { return false }
        var address = sockaddr_storage()
        var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) }
        }
        guard rc == 0 else { return false }
        switch Int32(address.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) == port }
            }
        case AF_INET6:
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) == port }
            }
        default:
            return false
        }
    }
}
