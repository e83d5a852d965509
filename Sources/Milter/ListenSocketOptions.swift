import Glibc

/// Options for libmilter's TCP listening socket; Linux copies them to every connection
/// accepted from it. libmilter does not expose its socket, so it is found among the
/// process's descriptors: the one listening on the configured port.
///
/// - `TCP_NODELAY`: libmilter answers end of message with several small packets (header
///   changes, body chunks, the final reply) and Postfix sends the message as many small
///   commands without waiting (no-reply steps). With Nagle on, each small write after the
///   first waits for an acknowledgement the peer delays by up to 40 ms: about 90 ms per
///   message instead of 1.
/// - `TCP_MAXSEG` (the largest MSS advertised to Postfix) of 8 KiB: Postfix sizes its milter
///   stream buffers to four times the MSS it sees (`vstream_tweak_tcp`), and cleanup(8)
///   allocates, fills and frees them for every message (Postfix's allocator overwrites every
///   block on malloc and free). On loopback the MSS is 32–64 KiB, so that is two 128–256 KiB
///   buffers per message, beyond malloc's mmap threshold: 0.25–0.4 ms of cleanup CPU per
///   message, more than half of what MailTrail's own processing costs. Ethernet's 1460 gives
///   6 KiB buffers, and then a 30 KB message crosses the socket in five reads and five
///   writes each way. 8 KiB gives 32 KiB buffers, still cheap to fill, that carry most
///   messages in one: cleanup took 0.08–0.16 ms less CPU per message than with 1460 in three
///   alternating runs. The option only lowers the MSS, so a filter reached over a real
///   network sees no change.
enum ListenSocketOptions {
    static let maximumSegmentSize: Int32 = 8192

    /// Sets both options on the socket listening on `port`; returns false when no such
    /// socket was found or an option could not be set.
    @discardableResult
    static func apply(port: Int) -> Bool {
        var found = false
        for fd in Int32(0)..<Int32(min(getdtablesize(), 4096)) where listens(fd, port: port) {
            var one: Int32 = 1
            var mss = maximumSegmentSize
            let size = socklen_t(MemoryLayout<Int32>.size)
            found = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, size) == 0
                && setsockopt(fd, Int32(IPPROTO_TCP), TCP_MAXSEG, &mss, size) == 0
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
