import Foundation
import Testing
@testable import Store
#if canImport(Glibc)
import Glibc
#endif

@Suite struct SpoolTests {
    static func record(_ index: Int) -> [UInt8] {
        Array("record-\(index)-".utf8) + [UInt8](repeating: UInt8(index & 0xFF), count: index % 37)
    }

    static func drain(_ spool: Spool) throws -> (records: [[UInt8]], report: Spool.ReplayReport) {
        var records: [[UInt8]] = []
        let report = try spool.replay { records.append($0) }
        return (records, report)
    }

    static func segmentFiles(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.sorted()
    }

    @Test func replaysInAppendOrderAndDeletesSegments() throws {
        let directory = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try Spool(directory: directory)
        #expect(spool.isEmpty)
        let records = (0..<100).map(Self.record) + [[]]
        for record in records { try spool.append(record) }
        try spool.sync()
        #expect(!spool.isEmpty)
        #expect(spool.pendingBytes == records.reduce(0) { $0 + 8 + $1.count })
        #expect(try Self.segmentFiles(directory) == ["00000000000000000001.seg"])

        let (replayed, report) = try Self.drain(spool)
        #expect(replayed == records)
        #expect(report == { var r = Spool.ReplayReport(); r.delivered = 101; r.segmentsDeleted = 1; return r }())
        #expect(spool.isEmpty)
        #expect(spool.pendingBytes == 0)
        #expect(try Self.segmentFiles(directory) == [])
        #expect(try Self.drain(spool).records == [])

        try spool.append(Array("later".utf8))
        #expect(try Self.segmentFiles(directory) == ["00000000000000000002.seg"])
        #expect(try Self.drain(spool).records == [Array("later".utf8)])
    }

    @Test func rotatesSegmentsAndDeletesThemOnceReplayed() throws {
        let directory = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try Spool(directory: directory, options: .init(segmentBytes: 200))
        let records = (0..<40).map(Self.record)
        for record in records { try spool.append(record) }
        let segments = try Self.segmentFiles(directory)
        #expect(segments.count > 5)
        for name in segments {
            let size = try #require(FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int)
            #expect(size <= 200)
        }
        try spool.sync()
        let (replayed, report) = try Self.drain(spool)
        #expect(replayed == records)
        #expect(report.segmentsDeleted == segments.count)
        #expect(try Self.segmentFiles(directory) == [])
    }

    @Test func survivesReopenAndKeepsReplayProgress() throws {
        let directory = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let records = (0..<10).map(Self.record)
        do {
            let spool = try Spool(directory: directory)
            for record in records { try spool.append(record) }
            struct Stop: Error {}
            var seen = 0
            #expect(throws: Stop.self) {
                try spool.replay { _ in
                    if seen == 4 { throw Stop() }
                    seen += 1
                }
            }
            try spool.close()
            #expect(throws: SpoolError.closed(path: directory)) { try spool.append([1]) }
        }
        let reopened = try Spool.reopen(directory)
        #expect(try Self.drain(reopened).records == Array(records[4...]))
        try reopened.append(Array("new".utf8))
        #expect(try Self.drain(reopened).records == [Array("new".utf8)])
    }

    @Test func crashMidReplayRedeliversOnlyTheUnfinishedTail() throws {
        let directory = try TemporaryDirectory.make(prefix: "spool")
        let snapshot = try TemporaryDirectory.make(prefix: "spool-crash")
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: snapshot)
        }
        let records = (0..<12).map(Self.record)
        let spool = try Spool(directory: directory, options: .init(segmentBytes: 120))
        for record in records { try spool.append(record) }
        #expect(try Self.segmentFiles(directory).count > 2)

        // While record 7 is being handled, copy the directory: that is exactly what a
        // process crash at this instant leaves on disk.
        struct Crash: Error {}
        var delivered: [[UInt8]] = []
        #expect(throws: Crash.self) {
            try spool.replay { record in
                if record == records[7] {
                    for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
                        try FileManager.default.copyItem(atPath: directory + "/" + name, toPath: snapshot + "/" + name)
                    }
                    throw Crash()
                }
                delivered.append(record)
            }
        }
        #expect(delivered == Array(records[..<7]))

        let recovered = try Spool(directory: snapshot, options: .init(segmentBytes: 120))
        #expect(try Self.drain(recovered).records == Array(records[7...]))
        #expect(try Self.drain(spool).records == Array(records[7...]))
    }

    @Test func tornLastRecordIsSkippedAfterACrash() throws {
        let directory = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let records = [Array("first".utf8), Array("second".utf8), Array("third record".utf8)]
        do {
            let spool = try Spool(directory: directory)
            for record in records { try spool.append(record) }
            try spool.close()
        }
        let path = directory + "/00000000000000000001.seg"
        let fullSize = 3 * 8 + 5 + 6 + 12
        #expect(truncate(path, off_t(fullSize - 3)) == 0)  // the crash tore the third record

        let spool = try Spool.reopen(directory)
        try spool.append(Array("after restart".utf8))  // goes to a fresh segment
        #expect(try Self.segmentFiles(directory) == ["00000000000000000001.seg", "00000000000000000002.seg"])
        let (replayed, report) = try Self.drain(spool)
        #expect(replayed == [records[0], records[1], Array("after restart".utf8)])
        #expect(report.skippedBytes == 8 + 12 - 3)
        #expect(report.delivered == 3)
        #expect(spool.skippedBytesTotal == 17)
    }

    @Test func tornHeaderAndGarbageLengthAreSkipped() throws {
        let directory = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let spool = try Spool(directory: directory)
            try spool.append(Array("kept".utf8))
            try spool.close()
        }
        let path = directory + "/00000000000000000001.seg"
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data([0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3, 4, 5]))  // absurd length
        handle.closeFile()
        let (replayed, report) = try Self.drain(try Spool.reopen(directory))
        #expect(replayed == [Array("kept".utf8)])
        #expect(report.skippedBytes == 9)
    }

    @Test func damagedRecordEndsItsSegment() throws {
        let directory = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let spool = try Spool(directory: directory)
            for word in ["alpha", "bravo", "charlie"] { try spool.append(Array(word.utf8)) }
            try spool.close()
        }
        let path = directory + "/00000000000000000001.seg"
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[13 + 8 + 2] ^= 0x01  // one bit of "bravo"
        #expect(FileManager.default.createFile(atPath: path, contents: bytes))
        let (replayed, report) = try Self.drain(try Spool.reopen(directory))
        #expect(replayed == [Array("alpha".utf8)])
        #expect(report.skippedBytes == 13 + 15)
    }

    @Test func damagedCheckpointRedeliversFromTheStart() throws {
        let directory = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let records = (0..<5).map(Self.record)
        do {
            let spool = try Spool(directory: directory)
            for record in records { try spool.append(record) }
            struct Stop: Error {}
            _ = try? spool.replay { if $0 == records[3] { throw Stop() } }
            try spool.close()
        }
        #expect(FileManager.default.createFile(atPath: directory + "/checkpoint", contents: Data([1, 2, 3])))
        #expect(try Self.drain(try Spool.reopen(directory)).records == records)
    }

    @Test func recordsAppendedDuringReplayAreDeliveredByIt() throws {
        let directory = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try Spool(directory: directory)
        try spool.append([1])
        var replayed: [[UInt8]] = []
        try spool.replay { record in
            replayed.append(record)
            if record.first! < 5 { try spool.append([record.first! + 1]) }
        }
        #expect(replayed == [[1], [2], [3], [4], [5]])
        #expect(spool.isEmpty)
    }

    @Test func concurrentWriterAndReplayerLoseAndDuplicateNothing() throws {
        let directory = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try Spool(directory: directory, options: .init(segmentBytes: 4096))
        let total = 5_000
        let writerDone = DispatchSemaphore(value: 0)
        let failures = LockedBox<[String]>([])
        Thread.detachNewThread {
            for index in 0..<total {
                do { try spool.append(Array(String(index).utf8)) } catch { failures.mutate { $0.append("\(error)") } }
            }
            writerDone.signal()
        }
        var replayed: [Int] = []
        var finished = false
        while true {
            try spool.replay { replayed.append(Int(String(decoding: $0, as: UTF8.self))!) }
            if finished { break }
            finished = writerDone.wait(timeout: .now()) == .success
        }
        #expect(failures.value == [])
        #expect(replayed == Array(0..<total))
        #expect(spool.isEmpty)
        #expect(try Self.segmentFiles(directory) == [])
    }

    @Test func secondOpenOfTheSameDirectoryIsRefused() throws {
        let directory = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try Spool(directory: directory)
        #expect(throws: SpoolError.inUse(path: directory)) { try Spool(directory: directory) }
        try first.close()
        _ = try Spool.reopen(directory)
    }

    @Test func createsMissingDirectoriesPrivately() throws {
        let base = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let nested = base + "/a/b/spool"
        let spool = try Spool(directory: nested)
        try spool.append([7])
        var info = stat()
        #expect(stat(nested, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)
        #expect(try Self.drain(spool).records == [[7]])
    }

    @Test func directoryUnderAFileIsATypedError() throws {
        let base = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: base) }
        #expect(FileManager.default.createFile(atPath: base + "/file", contents: Data()))
        let path = base + "/file/spool"
        #expect(throws: SpoolError.cannotCreateDirectory(path: path, errno: ENOTDIR)) { try Spool(directory: path) }
        #expect(SpoolError.cannotCreateDirectory(path: path, errno: ENOTDIR).description
                == "spool directory \(path): cannot create: Not a directory")
    }

    @Test func oversizedRecordIsRefused() throws {
        let directory = try TemporaryDirectory.make(prefix: "spool")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try Spool(directory: directory, options: .init(maxRecordBytes: 16))
        #expect(throws: SpoolError.recordTooLarge(path: directory, size: 17, limit: 16)) {
            try spool.append([UInt8](repeating: 0, count: 17))
        }
        try spool.append([UInt8](repeating: 0, count: 16))
        #expect(try Self.drain(spool).records == [[UInt8](repeating: 0, count: 16)])
    }

    @Test(.enabled(if: TmpfsMount.isAvailable, "needs permission to mount tmpfs"))
    func readOnlyDirectoryIsATypedError() throws {
        let mount = try TmpfsMount(options: "ro,size=64k")
        defer { mount.unmount() }
        #expect(throws: SpoolError.notWritable(path: mount.path, errno: EROFS)) { try Spool(directory: mount.path) }
    }

    @Test(.enabled(if: TmpfsMount.isAvailable, "needs permission to mount tmpfs"))
    func diskFullIsATypedErrorAndKeepsEarlierRecords() throws {
        let mount = try TmpfsMount(options: "size=64k")
        defer { mount.unmount() }
        let spool = try Spool(directory: mount.path)
        let record = [UInt8](repeating: 0x5A, count: 1000)
        var stored = 0
        var failure: SpoolError?
        while stored < 1000 {
            do {
                try spool.append(record + Array(String(stored).utf8))
                stored += 1
            } catch {
                failure = error
                break
            }
        }
        #expect(failure == .diskFull(path: mount.path + "/00000000000000000001.seg"))
        #expect(failure?.description == "spool file \(mount.path)/00000000000000000001.seg: no space left on device")
        #expect(stored > 40 && stored < 70)
        #expect(throws: SpoolError.diskFull(path: mount.path + "/00000000000000000001.seg")) {
            try spool.append(record)
        }

        let (replayed, report) = try Self.drain(spool)
        #expect(replayed == (0..<stored).map { record + Array(String($0).utf8) })
        #expect(report.skippedBytes == 0)
        try spool.appendWhenSpaceIsBack(Array("space again".utf8))
        #expect(try Self.drain(spool).records == [Array("space again".utf8)])
    }
}

extension Spool {
    /// Opens a spool directory that this process closed a moment ago. The `flock` travels with
    /// the open file description, which a spawned child may still hold (``afterSpawnedChildren(retrying:_:)``).
    static func reopen(_ directory: String, options: Options = Options()) throws -> Spool {
        try afterSpawnedChildren(retrying: { $0 == .inUse(path: directory) }) { () throws(SpoolError) in
            try Spool(directory: directory, options: options)
        }
    }

    /// Appends `record` once the space of segments this spool just deleted is free again: tmpfs
    /// frees an unlinked file's pages only when its last descriptor closes, and a spawned child
    /// may still hold one (``afterSpawnedChildren(retrying:_:)``).
    func appendWhenSpaceIsBack(_ record: [UInt8]) throws {
        try Spool.afterSpawnedChildren(retrying: { if case .diskFull = $0 { true } else { false } }) { () throws(SpoolError) in
            try append(record)
        }
    }

    /// Runs `body`, again every 10 ms for up to 2 s while it fails with an error `isTransient`
    /// accepts. Tests run in parallel, and a child that another test is spawning (mount,
    /// redis-server) holds copies of this process's descriptors from its fork until its exec
    /// closes them (O_CLOEXEC): a lock or a deleted file is released a moment later, not at
    /// once. Waiting for that rather than failing keeps these tests deterministic; a
    /// descriptor the spool itself kept would still fail them.
    static func afterSpawnedChildren<T>(retrying isTransient: (SpoolError) -> Bool,
                                        _ body: () throws(SpoolError) -> T) throws -> T {
        let deadline = Date(timeIntervalSinceNow: 2)
        while true {
            do {
                return try body()
            } catch {
                guard isTransient(error), Date() < deadline else { throw error }
                usleep(10_000)
            }
        }
    }
}

/// A small tmpfs mounted for one test (root with CAP_SYS_ADMIN only).
struct TmpfsMount {
    let path: String

    static let isAvailable: Bool = {
        guard getuid() == 0, let probe = try? TmpfsMount(options: "size=4k") else { return false }
        probe.unmount()
        return true
    }()

    init(options: String) throws {
        path = try TemporaryDirectory.make(prefix: "tmpfs")
        let status = Self.run("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", path])
        guard status == 0 else {
            rmdir(path)
            throw FixtureError("mount tmpfs failed: \(status)")
        }
    }

    func unmount() {
        _ = Self.run("/bin/umount", [path])
        rmdir(path)
    }

    private static func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A value shared between threads in tests.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func mutate(_ body: (inout Value) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        body(&stored)
    }
}
