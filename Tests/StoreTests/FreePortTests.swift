import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The fixture ports: free, distinct, and from below the kernel's ephemeral range, so a
/// server restarted on one (fault tests) cannot find it taken by a client's connection.
@Suite struct FreePortTests {
    @Test func portsAreFreeDistinctAndBelowTheEphemeralRange() throws {
        let start = FreePort.ephemeralRangeStart()
        let ports = try (0..<20).map { _ in try FreePort.next() }
        #expect(Set(ports).count == ports.count)
        for port in ports {
            #expect(port >= 1024 && port < start)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(descriptor) }
            var address = FreePort.loopback(port: UInt16(port))
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(bound == 0, "port \(port) is not free")
        }
    }
}
