import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A durable, append-only local queue of byte records, for writes that could not reach
/// Redis. Records come back from ``replay(_:)`` in append order, at least once.
///
/// **On disk** (one directory per program, mode 0700):
/// - `NNNNNNNNNNNNNNNNNNNN.seg`: segments, 20-digit increasing sequence numbers. Records are
///   framed as `length | crc32 | payload` (see `SpoolFrame`), so a record torn by a crash is
///   detected and skipped with the rest of its segment. A new segment is started when the
///   current one would exceed ``Options/segmentBytes`` and at every open (a segment left by
///   a crash is never appended to). Fully replayed segments are deleted.
/// - `checkpoint`: the replay position, rewritten after every delivered record; a crash
///   during replay re-delivers only the record whose handler had not returned.
/// - `lock`: held with `flock` while open, so a second process (say `mailtrail spool replay`
///   next to the running daemon) gets ``SpoolError/inUse(path:)`` instead of corrupting it.
///   Descriptors are close-on-exec, so a child being spawned at that moment holds the lock
///   only until its exec.
///
/// **Durability**: ``append(_:)`` writes to the page cache (safe against a process crash);
/// ``sync()`` fsyncs (safe against power loss). Callers batch: sync after a burst, or
/// periodically.
///
/// **Threading**: every method may be called from any thread. Appends are serialised by a
/// lock; replays by another, and the replay handler runs without the append lock held, so
/// writers are never blocked by a slow Redis during replay. Records appended while a replay
/// runs are delivered by that same replay. The handler must not call ``replay(_:)`` or
/// ``close()`` (they wait for the replay to end).
public final class Spool: @unchecked Sendable {
    /// Size limits.
    public struct Options: Sendable, Equatable {
        /// A segment is rotated before it would grow past this many bytes.
        public var segmentBytes: Int
        /// Larger records are refused with ``SpoolError/recordTooLarge(path:size:limit:)``.
        public var maxRecordBytes: Int

        public init(segmentBytes: Int = 8 << 20, maxRecordBytes: Int = 16 << 20) {
            self.segmentBytes = segmentBytes
            self.maxRecordBytes = min(maxRecordBytes, Int(UInt32.max))
        }
    }

    /// What one ``replay(_:)`` call did.
    public struct ReplayReport: Equatable, Sendable {
        /// Records handed to the handler that returned normally.
        public var delivered = 0
        /// Bytes skipped because a record was torn or damaged (the rest of that segment).
        public var skippedBytes = 0
        /// Segment files deleted after being fully replayed.
        public var segmentsDeleted = 0

        public init() {}
    }

    public let directory: String
    public let options: Options

    private struct ActiveSegment {
        let sequence: UInt64
        let descriptor: Int32
        var size: Int
        var dirty: Bool
    }

    // Guarded by `stateLock`.
    private let stateLock = NSLock()
    private var segments: [UInt64] = []
    private var sealedSizes: [UInt64: Int] = [:]
    private var unsyncedSealed: [UInt64: Int32] = [:]
    private var active: ActiveSegment?
    private var nextSequence: UInt64
    private var consumedInFirst = 0
    private var directoryNeedsSync = false
    private var isClosed = false
    private var skippedTotal = 0

    // Guarded by `replayLock`; released by `close()` (under both locks) or deinit.
    private let replayLock = NSLock()
    private var position: SpoolCheckpoint
    private var reader: (sequence: UInt64, descriptor: Int32)?
    private var lockDescriptor: Int32
    private var checkpointDescriptor: Int32

    /// Opens (creating if needed) the spool in `directory`.
    public init(directory: String, options: Options = Options()) throws(SpoolError) {
        self.directory = directory
        self.options = options
        do {
            try Self.makeDirectory(directory)
        } catch {
            // Report the spool path the operator configured, with the reason of the failing step.
            if case .cannotCreateDirectory(_, let code) = error {
                throw .cannotCreateDirectory(path: directory, errno: code)
            }
            throw error
        }

        let lockPath = directory + "/lock"
        let lockDescriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockDescriptor >= 0 else { throw .notWritable(path: directory, errno: errno) }
        if flock(lockDescriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            closeFile(lockDescriptor)
            if code == EWOULDBLOCK { throw .inUse(path: directory) }
            throw .io(operation: "flock", path: lockPath, errno: code)
        }

        let checkpointPath = directory + "/checkpoint"
        let checkpointDescriptor = open(checkpointPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard checkpointDescriptor >= 0 else {
            let code = errno
            closeFile(lockDescriptor)
            throw .notWritable(path: directory, errno: code)
        }
        var stored = [UInt8](repeating: 0, count: SpoolCheckpoint.size)
        let readCount = pread(checkpointDescriptor, &stored, stored.count, 0)
        let checkpoint = readCount == SpoolCheckpoint.size ? SpoolCheckpoint(decoding: stored) ?? .start : .start

        let found: [UInt64]
        do {
            found = try Self.listSegments(directory)
        } catch {
            closeFile(checkpointDescriptor)
            closeFile(lockDescriptor)
            throw error
        }
        var live: [UInt64] = []
        for sequence in found {
            if sequence < checkpoint.segment {
                unlink(Self.segmentPath(directory, sequence))  // replayed before the last crash
            } else {
                live.append(sequence)
            }
        }
        var sizes: [UInt64: Int] = [:]
        for sequence in live {
            var info = stat()
            sizes[sequence] = stat(Self.segmentPath(directory, sequence), &info) == 0 ? Int(info.st_size) : 0
        }

        self.lockDescriptor = lockDescriptor
        self.checkpointDescriptor = checkpointDescriptor
        self.segments = live
        self.sealedSizes = sizes
        self.nextSequence = max(live.last ?? 0, checkpoint.segment) + 1
        if let first = live.first {
            position = first == checkpoint.segment ? checkpoint : SpoolCheckpoint(segment: first, offset: 0)
        } else {
            position = SpoolCheckpoint(segment: nextSequence, offset: 0)
        }
        consumedInFirst = min(position.offset, live.first.flatMap { sizes[$0] } ?? 0)
        if readCount != SpoolCheckpoint.size || position != checkpoint {
            // Also allocates the file's block now, so later in-place updates cannot hit ENOSPC.
            try persistPosition()
        }
    }

    deinit {
        closeDescriptors()
    }

    // MARK: - Writing

    /// Appends one record. On failure nothing of this record is kept and earlier records are
    /// intact; ENOSPC surfaces as ``SpoolError/diskFull(path:)``.
    public func append(_ record: [UInt8]) throws(SpoolError) {
        guard record.count <= options.maxRecordBytes else {
            throw .recordTooLarge(path: directory, size: record.count, limit: options.maxRecordBytes)
        }
        let frame = SpoolFrame.encode(record)
        stateLock.lock()
        defer { stateLock.unlock() }
        guard !isClosed else { throw .closed(path: directory) }

        if let current = active, current.size > 0, current.size + frame.count > options.segmentBytes {
            sealActive()
        }
        if active == nil {
            let sequence = nextSequence
            let path = Self.segmentPath(directory, sequence)
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw SpoolError.from(errno: errno, operation: "create", path: path) }
            nextSequence += 1
            segments.append(sequence)
            directoryNeedsSync = true
            active = ActiveSegment(sequence: sequence, descriptor: descriptor, size: 0, dirty: false)
        }
        guard var current = active else { return }
        var written = 0
        while written < frame.count {
            let count = frame.withUnsafeBytes { bytes in
                pwrite(current.descriptor, bytes.baseAddress! + written, frame.count - written, off_t(current.size + written))
            }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                // Drop the partial frame so the next record starts on a clean boundary.
                _ = ftruncate(current.descriptor, off_t(current.size))
                throw SpoolError.from(errno: code, operation: "write", path: Self.segmentPath(directory, current.sequence))
            }
            written += count
        }
        current.size += frame.count
        current.dirty = true
        active = current
    }

    /// Makes every record appended so far survive a power loss (fsync of the segments and,
    /// after a segment was created, of the directory). Appends are not blocked meanwhile.
    public func sync() throws(SpoolError) {
        var toSync: [(descriptor: Int32, path: String, closeAfter: Bool)] = []
        var syncDirectory = false
        stateLock.lock()
        guard !isClosed else {
            stateLock.unlock()
            throw .closed(path: directory)
        }
        for (sequence, descriptor) in unsyncedSealed.sorted(by: { $0.key < $1.key }) {
            toSync.append((descriptor, Self.segmentPath(directory, sequence), true))
        }
        unsyncedSealed.removeAll()
        if var current = active, current.dirty {
            let duplicate = dup(current.descriptor)
            if duplicate >= 0 {
                toSync.append((duplicate, Self.segmentPath(directory, current.sequence), true))
                current.dirty = false
                active = current
            } else {
                let code = errno
                stateLock.unlock()
                throw .io(operation: "dup", path: Self.segmentPath(directory, current.sequence), errno: code)
            }
        }
        syncDirectory = directoryNeedsSync
        directoryNeedsSync = false
        stateLock.unlock()

        var failure: SpoolError?
        for item in toSync {
            if fsync(item.descriptor) != 0, failure == nil {
                failure = SpoolError.from(errno: errno, operation: "fsync", path: item.path)
            }
            if item.closeAfter { closeFile(item.descriptor) }
        }
        if syncDirectory {
            let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if descriptor < 0 || fsync(descriptor) != 0, failure == nil {
                failure = SpoolError.from(errno: errno, operation: "fsync", path: directory)
            }
            if descriptor >= 0 { closeFile(descriptor) }
        }
        if let failure { throw failure }
    }

    // MARK: - State

    /// True when no segment is waiting to be replayed.
    public var isEmpty: Bool {
        stateLock.lock()
        defer { stateLock.unlock() }
        return segments.isEmpty
    }

    /// Bytes (framing included) appended and not yet replayed; torn data counts until skipped.
    public var pendingBytes: Int {
        stateLock.lock()
        defer { stateLock.unlock() }
        var total = 0
        for sequence in segments {
            if let current = active, current.sequence == sequence {
                total += current.size
            } else {
                total += sealedSizes[sequence] ?? 0
            }
        }
        return max(0, total - consumedInFirst)
    }

    /// Bytes skipped as torn or damaged since this spool was opened (for logs and metrics).
    public var skippedBytesTotal: Int {
        stateLock.lock()
        defer { stateLock.unlock() }
        return skippedTotal
    }

    // MARK: - Replay

    /// Hands every pending record, oldest first, to `handler`, deleting segments as they are
    /// finished, until the spool is empty.
    ///
    /// If `handler` throws, replay stops and rethrows; that record stays first in line for
    /// the next replay. ``SpoolError`` is thrown for spool I/O failures.
    @discardableResult
    public func replay(_ handler: ([UInt8]) throws -> Void) throws -> ReplayReport {
        replayLock.lock()
        defer { replayLock.unlock() }
        var report = ReplayReport()
        while true {
            stateLock.lock()
            if isClosed {
                stateLock.unlock()
                throw SpoolError.closed(path: directory)
            }
            guard let sequence = segments.first else {
                stateLock.unlock()
                return report
            }
            if sequence != position.segment {
                position = SpoolCheckpoint(segment: sequence, offset: 0)
                consumedInFirst = 0
            }
            let activeLimit = active?.sequence == sequence ? active?.size : nil
            stateLock.unlock()

            let path = Self.segmentPath(directory, sequence)
            guard let descriptor = try openReader(sequence) else {
                try finishSegment(sequence, report: &report)  // vanished: nothing to deliver
                continue
            }
            let limit: Int
            if let activeLimit {
                limit = activeLimit
            } else {
                var info = stat()
                guard fstat(descriptor, &info) == 0 else {
                    throw SpoolError.io(operation: "stat", path: path, errno: errno)
                }
                limit = Int(info.st_size)
            }

            switch try readRecord(descriptor, at: position.offset, limit: limit, path: path) {
            case .record(let payload, let next):
                try handler(payload)
                position.offset = next
                try persistPosition()
                stateLock.lock()
                consumedInFirst = next
                stateLock.unlock()
                report.delivered += 1
            case .end:
                if activeLimit != nil {
                    // Finish the active segment only if nothing was appended since `limit`.
                    stateLock.lock()
                    let drained = active?.sequence == sequence && active?.size == position.offset
                    if drained, let current = active {
                        closeFile(current.descriptor)
                        active = nil
                    }
                    stateLock.unlock()
                    if !drained { continue }
                }
                try finishSegment(sequence, report: &report)
            case .torn(let skipped):
                report.skippedBytes += skipped
                stateLock.lock()
                skippedTotal += skipped
                stateLock.unlock()
                if activeLimit != nil {
                    stateLock.lock()
                    if active?.sequence == sequence { sealActive() }
                    stateLock.unlock()
                }
                try finishSegment(sequence, report: &report)
            }
        }
    }

    /// Syncs and releases the spool (and its lock file); later calls throw ``SpoolError/closed(path:)``.
    public func close() throws(SpoolError) {
        let syncResult: SpoolError?
        do {
            try sync()
            syncResult = nil
        } catch {
            syncResult = error
        }
        replayLock.lock()
        defer { replayLock.unlock() }
        closeDescriptors()
        if let syncResult, syncResult != .closed(path: directory) { throw syncResult }
    }

    // MARK: - Internals

    private enum ReadResult {
        case record([UInt8], next: Int)
        case end
        case torn(skipped: Int)
    }

    private func readRecord(_ descriptor: Int32, at offset: Int, limit: Int, path: String) throws(SpoolError) -> ReadResult {
        let available = limit - offset
        if available <= 0 { return .end }
        guard available >= SpoolFrame.headerSize else { return .torn(skipped: available) }
        var header = [UInt8](repeating: 0, count: SpoolFrame.headerSize)
        try readFully(descriptor, into: &header, at: offset, path: path)
        let length = SpoolFrame.length(ofHeader: header)
        guard length <= options.maxRecordBytes, length <= available - SpoolFrame.headerSize else {
            return .torn(skipped: available)
        }
        var payload = [UInt8](repeating: 0, count: length)
        try readFully(descriptor, into: &payload, at: offset + SpoolFrame.headerSize, path: path)
        guard SpoolFrame.isIntact(header: header, payload: payload) else { return .torn(skipped: available) }
        return .record(payload, next: offset + SpoolFrame.headerSize + length)
    }

    private func readFully(_ descriptor: Int32, into buffer: inout [UInt8], at offset: Int, path: String) throws(SpoolError) {
        var done = 0
        while done < buffer.count {
            let count = buffer.withUnsafeMutableBytes { bytes in
                pread(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(operation: "read", path: path, errno: errno)
            }
            if count == 0 {
                // The file shrank under us (truncated externally): treat as I/O failure.
                throw .io(operation: "read", path: path, errno: EIO)
            }
            done += count
        }
    }

    /// The read descriptor for `sequence`, or nil when the file no longer exists.
    private func openReader(_ sequence: UInt64) throws(SpoolError) -> Int32? {
        if let reader, reader.sequence == sequence { return reader.descriptor }
        closeReader()
        let path = Self.segmentPath(directory, sequence)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw .io(operation: "open", path: path, errno: errno)
        }
        reader = (sequence, descriptor)
        return descriptor
    }

    private func closeReader() {
        if let reader { closeFile(reader.descriptor) }
        reader = nil
    }

    /// Records that `sequence` is fully delivered, then deletes it.
    private func finishSegment(_ sequence: UInt64, report: inout ReplayReport) throws(SpoolError) {
        position = SpoolCheckpoint(segment: sequence + 1, offset: 0)
        try persistPosition()
        stateLock.lock()
        if segments.first == sequence { segments.removeFirst() }
        sealedSizes[sequence] = nil
        if let descriptor = unsyncedSealed.removeValue(forKey: sequence) { closeFile(descriptor) }
        consumedInFirst = 0
        stateLock.unlock()
        closeReader()
        if unlink(Self.segmentPath(directory, sequence)) == 0 {
            report.segmentsDeleted += 1
        } else if errno != ENOENT {
            throw .io(operation: "unlink", path: Self.segmentPath(directory, sequence), errno: errno)
        }
    }

    private func persistPosition() throws(SpoolError) {
        let bytes = position.encoded()
        let written = bytes.withUnsafeBytes { pwrite(checkpointDescriptor, $0.baseAddress!, $0.count, 0) }
        if written != bytes.count {
            throw SpoolError.from(errno: written < 0 ? errno : EIO, operation: "write", path: directory + "/checkpoint")
        }
    }

    /// Closes the active segment for writing; it stays pending until replayed. Needs `stateLock`.
    private func sealActive() {
        guard let current = active else { return }
        sealedSizes[current.sequence] = current.size
        if current.dirty {
            unsyncedSealed[current.sequence] = current.descriptor  // fsynced and closed by sync()
        } else {
            closeFile(current.descriptor)
        }
        active = nil
    }

    private func closeDescriptors() {
        stateLock.lock()
        defer { stateLock.unlock() }
        guard !isClosed else { return }
        isClosed = true
        if let current = active { closeFile(current.descriptor) }
        active = nil
        for descriptor in unsyncedSealed.values { closeFile(descriptor) }
        unsyncedSealed.removeAll()
        if let reader { closeFile(reader.descriptor) }
        reader = nil
        closeFile(checkpointDescriptor)
        closeFile(lockDescriptor)  // releases the flock
    }

    static func segmentPath(_ directory: String, _ sequence: UInt64) -> String {
        let digits = String(sequence)
        return directory + "/" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".seg"
    }

    private static func listSegments(_ directory: String) throws(SpoolError) -> [UInt64] {
        guard let handle = opendir(directory) else {
            throw .io(operation: "opendir", path: directory, errno: errno)
        }
        defer { closedir(handle) }
        var sequences: [UInt64] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.utf8.count == 24, name.hasSuffix(".seg"),
                  name.utf8.prefix(20).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let sequence = UInt64(name.prefix(20)) else { continue }
            sequences.append(sequence)
        }
        return sequences.sorted()
    }

    /// `mkdir -p` with mode 0700 for created components.
    private static func makeDirectory(_ path: String) throws(SpoolError) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw .cannotCreateDirectory(path: path, errno: ENOTDIR) }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path, parent != "/" {
            try makeDirectory(parent)
        }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw .cannotCreateDirectory(path: path, errno: errno)
        }
    }
}

/// `close(2)`, reachable from inside `Spool` whose own `close()` shadows it.
private func closeFile(_ descriptor: Int32) {
    _ = close(descriptor)
}
