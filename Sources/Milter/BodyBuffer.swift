import Foundation

/// A message body as it arrives in chunks from the MTA: held in memory up to a
/// threshold, then spilled to an unlinked temporary file so a 50 MiB message costs
/// the filter no more memory than a 1 MiB one.
final class BodyBuffer {
    enum Failure: Error, CustomStringConvertible {
        case spill(String)
        var description: String {
            switch self { case let .spill(why): return "cannot spill body to disk: \(why)" }
        }
    }

    private let memoryLimit: Int
    private let spoolDirectory: String
    private var memory: [UInt8] = []
    private var file: FileHandle?
    private(set) var count = 0

    init(memoryLimit: Int, spoolDirectory: String) {
        self.memoryLimit = memoryLimit
        self.spoolDirectory = spoolDirectory
    }

    deinit { try? file?.close() }

    var isSpilled: Bool { file != nil }

    func append(_ chunk: UnsafeBufferPointer<UInt8>) throws {
        count += chunk.count
        if let file {
            try file.write(contentsOf: chunk)
            return
        }
        if memory.count + chunk.count <= memoryLimit {
            memory.append(contentsOf: chunk)
            return
        }
        let handle = try spill()
        try handle.write(contentsOf: memory)
        try handle.write(contentsOf: chunk)
        memory = []
    }

    /// The whole body. For a spilled body this reads the file back: callers bound how
    /// many large bodies are materialised at once (`LargeMessageGate`).
    func contents() throws -> [UInt8] {
        guard let file else { return memory }
        try file.seek(toOffset: 0)
        let data = try file.readToEnd() ?? Data()
        return [UInt8](data)
    }

    private func spill() throws -> FileHandle {
        var template = Array((spoolDirectory + "/body.XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Failure.spill("\(spoolDirectory): \(String(cString: strerror(errno)))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        file = handle
        return handle
    }
}
