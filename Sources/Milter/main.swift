import ArgumentParser
import CMilter
import Config
import Daemon
import Glibc
import Logging

// Before anything else, and before any thread exists: see SignalMask and MemoryPolicy.
TerminationSignals.block()
MemoryPolicy.apply()

/// `mailtrail-milter`: the libmilter filter Postfix calls to track a message.
struct MilterCommand: ParsableCommand {
    static let startup = DaemonStartup(program: "mailtrail-milter")

    static let configuration = CommandConfiguration(
        commandName: "mailtrail-milter",
        abstract: "Adds open and click tracking to mail passing through Postfix (a milter).")

    @Option(name: .shortAndLong, help: "Configuration file.")
    var config: String?

    @Option(name: .customShort("o"), help: ArgumentHelp("Override a parameter: -o name=value.", valueName: "name=value"))
    var overrides: [String] = []

    @Option(name: .customShort("p"), help: "Milter socket (overrides milter_socket), e.g. inet:8893@127.0.0.1.")
    var socket: String?

    @Option(name: .customShort("P"), help: "PID file (overrides milter_pid_file).")
    var pidFile: String?

    @Flag(name: .shortAndLong, help: "Stay in the foreground and log to stderr.")
    var foreground = false

    @Flag(name: .customShort("n"), help: "Check the configuration and keys, then exit.")
    var checkOnly = false

    func run() throws {
        var extra = overrides
        if let socket { extra.append("milter_socket=\(socket)") }
        if let pidFile { extra.append("milter_pid_file=\(pidFile)") }
        if foreground { extra.append("log_destination=stderr") }

        let settings = Self.startup.loadSettings(path: config, overrides: extra)
        // Before any Logger exists: loggers made earlier keep swift-log's default handler.
        LogSetup.bootstrap(program: "mailtrail-milter", destination: settings.logDestination,
                           facility: settings.syslogFacility)
        let filter: Filter
        do {
            filter = try Filter(settings: settings)
        } catch {
            Self.startup.fail(error, settings: settings)
        }
        if checkOnly {
            print("mailtrail-milter: configuration OK")
            return
        }
        try MilterRunner(filter: filter, foreground: foreground).run()
    }
}

MilterCommand.main()
