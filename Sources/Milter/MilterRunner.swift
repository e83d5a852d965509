import CMilter
import Config
import Daemon
import Foundation
import Glibc
import Logging
import MetricsHTTP

/// Opens the socket, detaches, registers with libmilter and runs until a signal stops
/// it; then lets the messages in progress finish and syncs the enrichment spool.
struct MilterRunner {
    let filter: Filter
    let foreground: Bool

    func run() throws {
        let settings = filter.settings
        var name = Array("mailtrail".utf8CString)
        let desc = name.withUnsafeMutableBufferPointer { FilterCallbacks.descriptor(name: $0.baseAddress!) }
        FilterCallbacks.filter = filter

        guard smfi_register(desc) == MI_SUCCESS else {
            MilterCommand.startup.fail(StartupError("smfi_register failed", status: EX_SOFTWARE), settings: settings)
        }
        var spec = Array(settings.milterSocket.libmilterSpec.utf8CString)
        guard spec.withUnsafeMutableBufferPointer({ smfi_setconn($0.baseAddress) }) == MI_SUCCESS else {
            MilterCommand.startup.fail(StartupError("milter_socket \(settings.milterSocket): not usable", status: EX_CONFIG), settings: settings)
        }
        _ = smfi_settimeout(Int32(settings.milterTimeout.rounded()))
        // libmilter removes an existing unix socket file before binding (rmsocket), even one
        // a running filter still serves: refuse instead of stealing it.
        if case let .unix(path) = settings.milterSocket, UnixSocketProbe.answers(path: path) {
            MilterCommand.startup.fail(.cannotListen(on: "\(settings.milterSocket)", parameter: "milter_socket", program: "mailtrail-milter",
                                                     reason: "\(path) is in use by a running process", addressInUse: true),
                                       settings: settings)
        }
        // Open now, so a port in use or an unwritable socket directory is reported here,
        // on the terminal, rather than in the background.
        errno = 0
        guard smfi_opensocket(1) == MI_SUCCESS else {
            let code = errno
            MilterCommand.startup.fail(.cannotListen(on: "\(settings.milterSocket)", parameter: "milter_socket", program: "mailtrail-milter",
                                                     reason: code == 0 ? "cannot open the socket" : String(cString: strerror(code)),
                                                     addressInUse: code == EADDRINUSE),
                                       settings: settings)
        }
        // The metrics endpoint's address too; it starts serving after the detach (a fork keeps
        // no threads).
        let metricsServer = settings.milterMetricsListen.map { address in
            MetricsServer(host: address.host, port: address.port) { [filter] in filter.exposition() }
        }
        if let metricsServer {
            do {
                try metricsServer.bind()
            } catch {
                let address = ConfigValue.hostPortText((metricsServer.host, metricsServer.port))
                MilterCommand.startup.fail(.cannotListen(on: address, parameter: "milter_metrics_listen", program: "mailtrail-milter",
                                                         reason: error.reason, addressInUse: error.addressInUse),
                                           settings: settings)
            }
        }
        switch settings.milterSocket {
        case let .unix(path):
            do {
                try UnixSocketPermissions.apply(path: path, mode: settings.milterSocketMode, group: settings.milterSocketGroup)
            } catch {
                MilterCommand.startup.fail(error, settings: settings)
            }
        case let .inet(_, port), let .inet6(_, port):
            ListenSocketOptions.apply(port: port)
        }
        if !foreground { try Background.detach() }
        let log = Logger(label: "mailtrail-milter")
        let pid = settings.milterPIDFile.isEmpty ? nil : PIDFile(path: settings.milterPIDFile)
        try pid?.write()
        filter.start()
        do {
            try metricsServer?.start()
        } catch {
            log.error("cannot serve metrics on milter_metrics_listen: \(error)")
        }
        var started: Logger.Metadata = ["socket": "\(settings.milterSocket)", "base": "\(settings.trackingBaseURL)"]
        if let metricsServer { started["metrics"] = "\(ConfigValue.hostPortText((metricsServer.host, metricsServer.port)))" }
        log.info("starting", metadata: started)

        LibmilterReads.install(log: log)
        let engine = LibmilterThread()
        engine.start()
        var reason = "libmilter stopped"
        while !engine.finished {
            if let signal = SignalMask.waitForTerminationSignal(timeout: 0.5) {
                reason = TerminationSignals.name(signal)
                break
            }
        }

        // Messages Postfix is handing over right now finish first; libmilter keeps serving
        // them (and any new connection) until smfi_stop.
        let counts = filter.inFlight.counts
        log.info("stopping (\(reason)): waiting for \(counts.messages) message(s) in progress")
        var left = filter.inFlight.waitForMessages(timeout: Self.drainTimeout) { engine.finished }
        // smfi_stop marks libmilter stopped at once (no new work is dispatched), then waits
        // for the listener's select, up to 5 s: not worth waiting for on the way out.
        Thread.detachNewThread { _ = smfi_stop() }
        // A message that started during the wait gets a moment more; then the replies to the
        // last end-of-message callbacks need the time to reach Postfix.
        left = filter.inFlight.waitForMessages(timeout: 2) { engine.finished }
        usleep(200_000)
        if left > 0 {
            log.warning("stopping with \(left) message(s) still in progress: Postfix applies milter_default_action to them")
        }
        metricsServer?.stop()
        filter.stop()
        pid?.remove()
        let reads = LibmilterReads.counts
        log.info("stopped", metadata: ["libmilter_socket_reads": "\(reads.socket)", "libmilter_buffered_reads": "\(reads.buffered)"])
        exit(engine.finished && engine.result != MI_SUCCESS ? 1 : 0)
    }

    /// How long a stop waits for messages in progress (well inside Postfix's
    /// milter_content_timeout, and systemd's default stop timeout).
    static let drainTimeout = 30.0
}
