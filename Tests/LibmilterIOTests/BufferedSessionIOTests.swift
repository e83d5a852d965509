import CLibmilterIO
import CMilter
import Foundation
import Glibc
import Testing

/// The buffered reads libmilter's calls are pointed at, on real sockets. One test at a time:
/// the hold time and the counters are the process's.
@Suite(.serialized) struct BufferedSessionIOTests {
    /// A connected pair of stream sockets: `ours` is read through the buffer, `peer` writes.
    struct Pair {
        let ours: Int32
        let peer: Int32

        init() throws {
            var fds: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { throw POSIXError(.EIO) }
            ours = fds[0]
            peer = fds[1]
        }

        func send(_ text: String) {
            let bytes = Array(text.utf8)
            #expect(write(peer, bytes, bytes.count) == bytes.count)
        }

        func read(_ count: Int) -> String? {
            var buffer = [UInt8](repeating: 0, count: count)
            let n = mt_session_read(ours, &buffer, count)
            return n < 0 ? nil : String(decoding: buffer[0..<n], as: UTF8.self)
        }

        func close() {
            _ = mt_session_close(ours)
            _ = Glibc.close(peer)
        }
    }

    /// Whether the kernel has bytes for `fd` now (a plain poll, not the buffered one).
    static func kernelReadable(_ fd: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 1
    }

    static func elapsed(_ body: () -> Void) -> Double {
        let start = Date()
        body()
        return Date().timeIntervalSince(start)
    }

    @Test func servesSmallReadsFromOneSocketRead() throws {
        let pair = try Pair()
        defer { pair.close() }
        pair.send("HEAD1body-one|HEAD2body-two|")
        let before = mt_session_io_counts()
        #expect(pair.read(5) == "HEAD1")
        #expect(!Self.kernelReadable(pair.ours), "the whole block was taken in one read")
        #expect(pair.read(9) == "body-one|")
        #expect(pair.read(5) == "HEAD2")
        #expect(pair.read(100) == "body-two|")
        let after = mt_session_io_counts()
        #expect(after.socket_reads - before.socket_reads == 1)
        #expect(after.buffered_reads - before.buffered_reads == 3)
    }

    @Test func pollFindsBufferedBytesTheKernelNoLongerHas() throws {
        let pair = try Pair()
        defer { pair.close() }
        pair.send("0123456789")
        #expect(pair.read(2) == "01")
        #expect(!Self.kernelReadable(pair.ours))
        var p = pollfd(fd: pair.ours, events: Int16(POLLIN), revents: 0)
        var ready: Int32 = 0
        let seconds = Self.elapsed { ready = mt_session_poll(&p, 1, 5000) }
        #expect(ready == 1)
        #expect(p.revents == Int16(POLLIN))
        #expect(seconds < 1, "answered from the buffer, without waiting")
        #expect(pair.read(8) == "23456789")
    }

    @Test func pollOfSeveralReportsBufferedAndKernelBytes() throws {
        let buffered = try Pair(), waiting = try Pair(), idle = try Pair()
        defer { buffered.close(); waiting.close(); idle.close() }
        buffered.send("abcdef")
        #expect(buffered.read(1) == "a")
        waiting.send("xyz")
        var fds = [buffered.ours, waiting.ours, idle.ours].map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        #expect(mt_session_poll(&fds, 3, 5000) == 2)
        #expect(fds.map(\.revents) == [Int16(POLLIN), Int16(POLLIN), 0])
    }

    @Test func theReadinessCheckWaitsUpToTheHold() throws {
        let pair = try Pair()
        defer { pair.close(); mt_session_set_hold(1) }
        mt_session_set_hold(300)
        var p = pollfd(fd: pair.ours, events: Int16(POLLIN), revents: 0)
        var ready: Int32 = -1
        // Nothing comes: the 1 ms check waits the hold out.
        var seconds = Self.elapsed { ready = mt_session_poll(&p, 1, 1) }
        #expect(ready == 0)
        #expect(seconds >= 0.25)
        // A packet comes within the hold: it is seen when it arrives, not when the hold ends.
        mt_session_set_hold(5000)
        let writer = Thread { usleep(100_000); pair.send("next") }
        writer.start()
        seconds = Self.elapsed { ready = mt_session_poll(&p, 1, 1) }
        #expect(ready == 1)
        #expect(seconds >= 0.09 && seconds < 4)
        #expect(pair.read(4) == "next")
        // Other timeouts are left alone: no wait for the 5 s hold (the bound leaves room for a
        // loaded machine or a sanitizer).
        seconds = Self.elapsed { ready = mt_session_poll(&p, 1, 0) }
        #expect(ready == 0)
        #expect(seconds < 1)
    }

    @Test func largeReadsGoStraightToTheSocket() throws {
        let pair = try Pair()
        defer { pair.close() }
        let text = String(repeating: "x", count: 20000)
        let writer = Thread { pair.send(text) }
        writer.start()
        var total = 0
        while total < 20000 {
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = mt_session_read(pair.ours, &buffer, buffer.count)
            #expect(n > 0)
            if n <= 0 { break }
            total += n
        }
        #expect(total == 20000)
        var p = pollfd(fd: pair.ours, events: Int16(POLLIN), revents: 0)
        #expect(mt_session_poll(&p, 1, 0) == 0, "nothing was kept back")
    }

    @Test func closeDropsBufferedBytes() throws {
        let first = try Pair()
        first.send("left over")
        #expect(first.read(4) == "left")
        let number = first.ours
        first.close()
        // The next socket is likely to get the same number; it must start empty.
        let second = try Pair()
        defer { second.close() }
        var p = pollfd(fd: second.ours, events: Int16(POLLIN), revents: 0)
        #expect(mt_session_poll(&p, 1, 0) == 0)
        second.send("fresh")
        #expect(second.read(100) == "fresh")
        _ = number
    }

    @Test func endOfFileAndErrorsPassThrough() throws {
        let pair = try Pair()
        pair.send("bye")
        _ = Glibc.close(pair.peer)
        #expect(pair.read(100) == "bye")
        #expect(pair.read(100) == "")
        _ = mt_session_close(pair.ours)
        var buffer = [UInt8](repeating: 0, count: 8)
        errno = 0
        #expect(mt_session_read(pair.ours, &buffer, 8) == -1)
        #expect(errno == EBADF)
    }

    @Test func otherDescriptorsAreNotBuffered() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { _ = mt_session_close(fds[0]); _ = close(fds[1]) }
        #expect(write(fds[1], "0123456789", 10) == 10)
        var buffer = [UInt8](repeating: 0, count: 2)
        #expect(mt_session_read(fds[0], &buffer, 2) == 2)
        #expect(Self.kernelReadable(fds[0]), "the other 8 bytes are still in the pipe")
    }

    @Test func installsIntoLibmilterOnly() {
        // Keep libmilter linked into this process.
        #expect(smfi_version(nil, nil, nil) == MI_SUCCESS)
        var why: UnsafePointer<CChar>?
        #expect(mt_libmilter_io_install("libmilter.so", 1, &why) == 3)
        #expect(mt_libmilter_io_install("no-such-library.so", 1, &why) == -1)
        #expect(why.map { String(cString: $0) } == "library not loaded")
    }
}
