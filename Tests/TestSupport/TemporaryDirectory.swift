#if canImport(Glibc)
import Glibc
#endif

/// Unique temporary directories under /tmp.
public enum TemporaryDirectory {
    public static func make(prefix: String) throws -> String {
        var template = Array("/tmp/mailtrail-\(prefix)-XXXXXX".utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw FixtureError("mkdtemp: \(errno)")
        }
        return String(cString: result)
    }
}
