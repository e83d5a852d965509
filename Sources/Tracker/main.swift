import ArgumentParser
import Config
import Daemon
import Glibc
import Logging
import TrackerCore

// Before any thread exists, so every thread inherits it: termination signals are taken
// with sigwait below, never delivered asynchronously.
TerminationSignals.block()

/// `mailtrail-tracker`: answers open pixels and click redirects, and records the events.
struct TrackerCommand: ParsableCommand {
    static let startup = DaemonStartup(program: "mailtrail-tracker")

    static let configuration = CommandConfiguration(
        commandName: "mailtrail-tracker",
        abstract: "Answers tracking pixels and click redirects behind nginx, and records the events in Redis.",
        discussion: """
            Runs in the foreground (as systemd's Type=simple wants) and logs as log_destination says.
            SIGTERM or SIGINT: stop accepting, finish open answers, write or spool queued events, exit.
            """)

    @Option(name: .shortAndLong, help: "Configuration file.")
    var config: String?

    @Option(name: .customShort("o"), help: ArgumentHelp("Override a parameter: -o name=value.", valueName: "name=value"))
    var overrides: [String] = []

    @Option(name: .customShort("l"), help: ArgumentHelp("Listen address (overrides tracker_listen).", valueName: "host:port"))
    var listen: String?

    @Option(name: .customShort("P"), help: ArgumentHelp("PID file (overrides tracker_pid_file).", valueName: "file"))
    var pidFile: String?

    @Flag(name: .shortAndLong, help: "Log to stderr (for running by hand).")
    var foreground = false

    @Flag(name: .customShort("d"), help: "Detach into the background (for init systems other than systemd).")
    var detach = false

    @Flag(name: .customShort("n"), help: "Check the configuration and keys, then exit.")
    var checkOnly = false

    func run() throws {
        var extra = overrides
        if let listen { extra.append("tracker_listen=\(listen)") }
        if let pidFile { extra.append("tracker_pid_file=\(pidFile)") }
        if foreground { extra.append("log_destination=stderr") }

        let settings = Self.startup.loadSettings(path: config, overrides: extra)
        let configuration: TrackerConfiguration
        do {
            configuration = try TrackerConfiguration(settings: settings, keyRing: settings.loadKeyRing(requirePrivate: true))
        } catch {
            Self.startup.fail(StartupError(error), settings: settings)
        }
        if checkOnly {
            print("mailtrail-tracker: configuration OK")
            return
        }
        if detach {
            do {
                try Background.detach()
            } catch {
                Self.startup.fail(StartupError("\(error)", status: EX_OSERR), settings: settings)
            }
        }
        LogSetup.bootstrap(program: "mailtrail-tracker", destination: settings.logDestination, facility: settings.syslogFacility)
        let logger = Logger(label: "mailtrail-tracker")

        let service: TrackerService
        do {
            service = try TrackerService(configuration: configuration, logger: logger)
        } catch {
            Self.startup.fail(error, settings: settings)
        }
        do {
            try service.start()
        } catch {
            Self.startup.fail(error, settings: settings)
        }
        let pid = settings.trackerPIDFile.isEmpty ? nil : PIDFile(path: settings.trackerPIDFile)
        do {
            try pid?.write()
        } catch {
            logger.error("\(error)")
        }

        let signal = TrackerSignals.wait { ignored in
            logger.notice("signal ignored (restart to reload the configuration)", metadata: ["signal": "\(ignored)"])
        }
        logger.info("signal received", metadata: ["signal": "\(signal)"])
        service.shutdown()
        pid?.remove()
    }
}

TrackerCommand.main()
