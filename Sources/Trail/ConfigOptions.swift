import ArgumentParser
import Config
import Glibc
import Rewrite

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
            throw CLIError(error.description)
        }
    }

    /// The signing keys named by `keys_file`.
    func keyRing(_ settings: Settings) throws -> KeyRing {
        do {
            return try settings.loadKeyRing(requirePrivate: false)
        } catch {
            throw CLIError(error.description)
        }
    }
}

/// A one-line error for the operator; ArgumentParser prints it as `Error: ...` and exits 1.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
