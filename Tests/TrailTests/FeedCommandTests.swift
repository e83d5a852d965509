import Foundation
import Testing
@testable import Trail

@Suite struct FeedCommandTests {
    @Test func logsNeverShowCredentialsOrQuery() {
        #expect(FeedCommand.redacted(URL(string: "https://user:pw@hooks.example.com:8443/in/mt?token=x#f")!)
                == "https://hooks.example.com:8443/in/mt")
        #expect(FeedCommand.redacted(URL(string: "http://127.0.0.1:9000/hooks")!) == "http://127.0.0.1:9000/hooks")
    }

    @Test func secretIsTheFirstLineTrimmed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mailtrail-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("secret").path
        try "  s3cret value \t\nsecond line\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try FeedCommand.loadSecret(file) == Array("s3cret value".utf8))

        chmod(file, 0o640)
        #expect(FeedCommand.sharedMode(file) == 0o640)
        chmod(file, 0o600)
        #expect(FeedCommand.sharedMode(file) == nil)

        try "\n  \n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(performing: { try FeedCommand.loadSecret(file) }, throws: { "\($0)" == "\(file): the webhook secret is empty" })
        #expect(performing: { try FeedCommand.loadSecret("") },
                throws: { "\($0)".hasPrefix("feed_secret_file is not set: requests must be signed") })
        #expect(performing: { try FeedCommand.loadSecret(directory.path + "/missing") },
                throws: { "\($0)" == "\(directory.path)/missing: cannot read the webhook secret: no such file" })
    }
}
