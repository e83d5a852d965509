import Foundation
import Store
import Testing
@testable import Config

/// The one-line start-up errors and their sysexits statuses, shared by the three programs.
@Suite struct StartupErrorTests {
    let user = ServiceUser.name

    @Test func configurationErrorsExitWithEXConfig() {
        let error = StartupError(ConfigError(source: "m.conf", line: 3, key: "redis_port", message: "\"x\" is not a number"))
        #expect(error == StartupError("m.conf:3: redis_port: \"x\" is not a number", status: EX_CONFIG))
    }

    @Test func redisErrorsAreClassedByCause() {
        let endpoint = "127.0.0.1:6379/0"
        #expect(StartupError(RedisError.authFailed(endpoint: endpoint, serverMessage: "WRONGPASS x")).status == EX_CONFIG)
        #expect(StartupError(RedisError.authRequired(endpoint: endpoint)).status == EX_CONFIG)
        #expect(StartupError(RedisError.selectFailed(endpoint: endpoint, db: 99, serverMessage: "ERR DB index is out of range")) == StartupError(
            "Redis at 127.0.0.1:6379/0: cannot select database 99 (it said: ERR DB index is out of range): "
            + "set redis_db below the server's databases setting", status: EX_CONFIG))
        #expect(StartupError(RedisError.connectRefused(endpoint: endpoint)) == StartupError(
            "Redis at 127.0.0.1:6379/0: connection refused (is redis-server running?)", status: EX_UNAVAILABLE))
        #expect(StartupError(RedisError.timeout(endpoint: endpoint)).status == EX_UNAVAILABLE)
        #expect(StartupError(RedisError.server(endpoint: endpoint, message: "WRONGTYPE")).status == EX_PROTOCOL)
    }

    @Test func listenFailuresNameTheParameter() {
        #expect(StartupError.cannotListen(on: "127.0.0.1:8080", parameter: "tracker_listen", program: "mailtrail-tracker",
                                          reason: "Address already in use", addressInUse: true) == StartupError(
            "cannot listen on 127.0.0.1:8080: Address already in use (is another mailtrail-tracker running? check tracker_listen)",
            status: EX_UNAVAILABLE))
        #expect(StartupError.cannotListen(on: "unix:/x/s", parameter: "milter_socket", program: "mailtrail-milter",
                                          reason: "No such file or directory", addressInUse: false) == StartupError(
            "cannot listen on unix:/x/s: No such file or directory (check milter_socket)", status: EX_UNAVAILABLE))
    }

    @Test func spoolFailuresSayWhoMustOwnWhatOrWhereToGo() {
        #expect(StartupError.spool(.notWritable(path: "/var/lib/mt/milter", errno: EACCES), spoolDirectory: "/var/lib/mt") == StartupError(
            "spool directory /var/lib/mt/milter is not writable (Permission denied): "
            + "this program runs as \(user): chown -R \(user) /var/lib/mt, or set spool_directory", status: EX_CANTCREAT))
        #expect(StartupError.spool(.cannotCreateDirectory(path: "/ro/tracker", errno: EROFS), spoolDirectory: "/ro") == StartupError(
            "spool directory /ro/tracker cannot be created (Read-only file system): "
            + "set spool_directory to a directory on a writable file system", status: EX_CANTCREAT))
        #expect(StartupError.spool(.cannotCreateDirectory(path: "/f/milter", errno: ENOTDIR), spoolDirectory: "/f") == StartupError(
            "spool directory /f/milter cannot be created (Not a directory): set spool_directory to a directory (a file is in the way)",
            status: EX_CANTCREAT))
        #expect(StartupError.spool(.diskFull(path: "/s/milter/checkpoint"), spoolDirectory: "/s") == StartupError(
            "spool /s/milter/checkpoint: no space left on device: free space on its file system, or set spool_directory",
            status: EX_CANTCREAT))
        #expect(StartupError.spool(.inUse(path: "/s/milter"), spoolDirectory: "/s") == StartupError(
            "spool directory /s/milter is locked by another process "
            + "(is another instance running? give each instance its own spool_directory)", status: EX_UNAVAILABLE))
    }

    @Test func runtimeSpoolRemedies() {
        #expect(SpoolError.diskFull(path: "/s/milter/1.seg").remedy(directory: "/s/milter") == "free space on the file system of /s/milter")
        #expect(SpoolError.io(operation: "write", path: "/s/m/1.seg", errno: EIO).remedy(directory: "/s/m") == "check /s/m and its file system")
    }
}

/// Reading the keys file: each way it can fail names the file, the cause and the fix.
@Suite struct KeysFileTests {
    static func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "mailtrail-keys-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    static func settings(keys: String) -> Settings {
        var settings = Settings()
        settings.keysFile = keys
        return settings
    }

    static let keys = "k1 = \(Data(repeating: 7, count: 32).base64EncodedString())\nactive = k1\n"

    @Test func exposedKeysAreRefusedByTheDaemonsAndReportedToTheCLI() throws {
        try Self.withDirectory { directory in
            let path = directory + "/keys"
            #expect(FileManager.default.createFile(atPath: path, contents: Data(Self.keys.utf8), attributes: [.posixPermissions: 0o640]))
            let settings = Self.settings(keys: path)
            let exposure = ConfigError(source: path, message:
                "keys file is accessible to group or others (mode 0640): run chmod 600 \(path) and chown it to the service user")
            #expect(settings.keysFileExposure() == exposure)
            #expect(throws: exposure) { try settings.loadKeyRing(requirePrivate: true) }
            #expect(try settings.loadKeyRing(requirePrivate: false).activeKeyID == 1)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            #expect(settings.keysFileExposure() == nil)
            #expect(try settings.loadKeyRing(requirePrivate: true).activeKeyID == 1)
        }
    }

    @Test func missingDirectoryAndNonTextKeys() throws {
        try Self.withDirectory { directory in
            let missing = directory + "/none"
            #expect(throws: ConfigError(source: missing, message: "cannot read the keys file: no such file "
                                        + "(create it: mailtrail keygen > \(missing) && chmod 600 \(missing), or set keys_file)")) {
                try Self.settings(keys: missing).loadKeyRing(requirePrivate: true)
            }
            #expect(throws: ConfigError(source: directory, message: "cannot read the keys file: is a directory "
                                        + "(keys_file must name the file mailtrail keygen wrote)")) {
                try Self.settings(keys: directory).loadKeyRing(requirePrivate: false)
            }
            let binary = directory + "/binary"
            #expect(FileManager.default.createFile(atPath: binary, contents: Data([0xff, 0xfe, 0x00]), attributes: [.posixPermissions: 0o600]))
            #expect(throws: ConfigError(source: binary, message: "cannot read the keys file: not UTF-8 text "
                                        + "(keys_file must name the file mailtrail keygen wrote)")) {
                try Self.settings(keys: binary).loadKeyRing(requirePrivate: true)
            }
        }
    }
}
