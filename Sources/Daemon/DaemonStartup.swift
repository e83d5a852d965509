import Config

/// How `mailtrail-milter` and `mailtrail-tracker` begin: the configuration read with the
/// command line's overrides, and the one way a start that cannot succeed ends.
public struct DaemonStartup: Sendable {
    public let program: String

    public init(program: String) {
        self.program = program
    }

    /// The settings from `path` (the default file when nil) with `overrides` applied; a bad
    /// file or value ends the program (see ``fail(_:settings:)``).
    public func loadSettings(path: String?, overrides: [String]) -> Settings {
        do {
            return try Settings.load(path: path, overrides: overrides)
        } catch {
            fail(StartupError(error), settings: nil)
        }
    }

    /// Ends a start that cannot succeed: one line on stderr (and syslog when the settings say
    /// so), and the sysexits status of the cause (see ``StartupError``).
    public func fail(_ error: StartupError, settings: Settings?) -> Never {
        let facility = settings.flatMap { $0.logDestination == "syslog" ? $0.syslogFacility : nil }
        StartupFailure.exit(program: program, message: error.message, status: error.status, syslogFacility: facility)
    }
}
