import ArgumentParser
import Config
import Glibc
import Rewrite
import Store

/// `-c FILE` and `-o name=value`, shared by every subcommand.
struct ConfigOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .long], help: "Configuration file (default /etc/mailtrail/mailtrail.conf).")
    var config: String?

    @Option(name: .customShort("o"), help: ArgumentHelp("Override a parameter.", valueName: "name=value"))
    var overrides: [String] = []

    func settings() throws -> Settings {
        do {
            return try Settings.load(path: config, overrides: overrides)
        } catch {
            throw CLIError(StartupError(error))
        }
    }

    /// The signing keys named by `keys_file`. A keys file others may read works, with a
    /// warning: the daemons refuse it, and this is the moment to fix it.
    func keyRing(_ settings: Settings) throws -> KeyRing {
        let ring: KeyRing
        do {
            ring = try settings.loadKeyRing(requirePrivate: false)
        } catch {
            throw CLIError(StartupError(error))
        }
        if let exposure = settings.keysFileExposure() {
            StandardIO.warn("mailtrail: warning: \(exposure)")
        }
        return ring
    }
}

/// A one-line error for the operator and the exit status it ends the command with:
/// `mailtrail: error: <description>` on stderr (see `Mailtrail.main`). The status follows
/// sysexits(3) as the daemons do (``StartupError``); 1 for failures of the work itself.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    var status: Int32

    init(_ description: String, status: Int32 = 1) {
        self.description = description
        self.status = status
    }

    init(_ error: StartupError) {
        self.init(error.message, status: error.status)
    }

    /// A failed Redis call: `EX_CONFIG` for `redis_password`/`redis_db`, `EX_UNAVAILABLE`
    /// when Redis cannot be reached.
    init(_ error: RedisError) {
        self.init(StartupError(error))
    }
}
