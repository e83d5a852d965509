import Foundation

/// Whole-stream reads and writes of raw bytes (messages are not text).
enum StandardIO {
    static func readAll(_ path: String?) throws -> [UInt8] {
        if let path, path != "-" {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError("\(path): cannot read")
            }
            return [UInt8](data)
        }
        return [UInt8](FileHandle.standardInput.readDataToEndOfFile())
    }

    static func write(_ bytes: [UInt8]) {
        FileHandle.standardOutput.write(Data(bytes))
    }

    static func warn(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
