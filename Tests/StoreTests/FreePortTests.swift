import Foundation
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
            let error = Self.bindError(port)
            // On failure, say who holds the port: the next flaky run then names its cause.
            #expect(error == 0, "port \(port) is not free (\(String(cString: strerror(error)))); \(Self.holders(of: port))")
        }
    }

    /// A port handed out is never probed again: another test's probe must not hold it for a
    /// moment while its owner binds it (tests run in parallel).
    @Test func aHandedOutPortIsNotProbedWhileItsOwnerBindsIt() throws {
        let port = try FreePort.next()
        let owner = Owner()
        let thread = Thread {
            while !owner.stopped {
                owner.record(bound: Self.bindError(port) == 0)
            }
            owner.finish()
        }
        thread.start()
        owner.waitForBinds(1)  // the draws below overlap the owner's binds
        // 200 ports, each drawn after first being offered the owner's port.
        for _ in 0..<200 {
            var offerOwners = true
            let other = try FreePort.next(drawing: {
                defer { offerOwners = false }
                return offerOwners ? port : Int.random(in: 10_000..<FreePort.ephemeralRangeStart())
            })
            #expect(other != port)
        }
        owner.stopAndWait(afterBinds: 101)
        #expect(owner.binds > 100)
        #expect(owner.failures == 0, "the owner's bind failed \(owner.failures) times in \(owner.binds)")
    }

    /// Binds a new socket to 127.0.0.1:`port` and closes it: 0, or the `errno` of the failure.
    static func bindError(_ port: Int) -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return errno }
        defer { close(descriptor) }
        var address = FreePort.loopback(port: UInt16(port))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0 ? 0 : errno
    }

    /// The owner thread's tallies and its stop signal.
    final class Owner: @unchecked Sendable {
        private let condition = NSCondition()
        private var stop = false
        private var done = false
        private(set) var binds = 0
        private(set) var failures = 0

        var stopped: Bool { condition.lock(); defer { condition.unlock() }; return stop }
        func record(bound: Bool) {
            condition.lock()
            binds += 1
            if !bound { failures += 1 }
            condition.broadcast()
            condition.unlock()
        }
        func finish() { condition.lock(); done = true; condition.broadcast(); condition.unlock() }
        func waitForBinds(_ count: Int) {
            condition.lock()
            while binds < count && !done { condition.wait() }
            condition.unlock()
        }
        /// Stops the owner once it has bound `count` times (however slow its thread is to start).
        func stopAndWait(afterBinds count: Int) {
            condition.lock()
            while binds < count && !done { condition.wait() }
            stop = true
            while !done { condition.wait() }
            condition.unlock()
        }
    }

    /// The sockets `ss` lists on `port`, in any state, for the failure message.
    static func holders(of port: Int) -> String {
        let ss = Process()
        ss.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        ss.arguments = ["ss", "-tanp", "( sport = :\(port) or dport = :\(port) )"]
        let output = Pipe()
        ss.standardOutput = output
        ss.standardError = output
        guard (try? ss.run()) != nil else { return "ss could not run" }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ss.waitUntilExit()
        return "ss: " + text
    }
}
