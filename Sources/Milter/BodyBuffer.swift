import Glibc

/// A message body as it arrives in chunks from the MTA: held in memory up to a
/// threshold, then spilled to an unlinked temporary file, so that a 50 MiB message costs
/// the filter no more memory than a 1 MiB one until it is rewritten.
final class BodyBuffer {
    enum Failure: Error, CustomStringConvertible {
        case spill(String)
        case read(String)
        var description: String {
            switch self {
            case let .spill(why): return "cannot spill body to disk: \(why)"
            case let .read(why): return "cannot read the spilled body back: \(why)"
            }
        }
    }

    private let memoryLimit: Int
    private let spoolDirectory: String
    private var memory: [UInt8] = []
    /// The spill file (already unlinked), or -1.
    private var fd: Int32 = -1
    private(set) var count = 0

    init(memoryLimit: Int, spoolDirectory: String) {
        self.memoryLimit = memoryLimit
        self.spoolDirectory = spoolDirectory
    }

    deinit { discard() }

    var isSpilled: Bool { fd >= 0 }

    func append(_ chunk: UnsafeBufferPointer<UInt8>) throws(Failure) {
        if fd < 0 && memory.count + chunk.count <= memoryLimit {
            memory.append(contentsOf: chunk)
            count += chunk.count
            return
        }
        if fd < 0 {
            try spill()
            try memory.withUnsafeBufferPointer { buffer throws(Failure) in try write(buffer) }
            memory = []
        }
        try write(chunk)
        count += chunk.count
    }

    /// The whole body. A spilled body is read back from its file in one allocation: callers
    /// bound how many large bodies they hold at once.
    func contents() throws(Failure) -> [UInt8] {
        guard fd >= 0 else { return memory }
        let size = count
        var failure: String?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var offset = 0
            while offset < size {
                let n = pread(fd, buffer.baseAddress! + offset, size - offset, off_t(offset))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    failure = n == 0 ? "file ends after \(offset) of \(size) bytes" : String(cString: strerror(errno))
                    break
                }
                offset += n
            }
            initialized = failure == nil ? size : 0
        }
        if let failure { throw .read(failure) }
        return bytes
    }

    /// Frees the memory or the file; the buffer is empty afterwards.
    func discard() {
        memory = []
        if fd >= 0 { close(fd); fd = -1 }
        count = 0
    }

    private func spill() throws(Failure) {
        var template = Array((spoolDirectory + "/body.XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw .spill("\(spoolDirectory): \(String(cString: strerror(errno)))") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.fd = fd
    }

    private func write(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .spill(String(cString: strerror(errno))) }
            offset += n
        }
    }
}
