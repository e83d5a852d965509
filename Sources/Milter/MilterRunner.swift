import CMilter
import Config
import Daemon
import Foundation
import Glibc
import Logging

/// Opens the socket, detaches, registers with libmilter and runs until a signal stops
/// it; then waits for in-flight messages and flushes pending Redis writes.
struct MilterRunner {
    let filter: Filter
    let foreground: Bool

    func run() throws {
        let settings = filter.settings
        var name = Array("mailtrail".utf8CString)
        let desc = name.withUnsafeMutableBufferPointer { FilterCallbacks.descriptor(name: $0.baseAddress!) }
        FilterCallbacks.filter = filter

        guard smfi_register(desc) == MI_SUCCESS else { MilterCommand.fail("smfi_register failed") }
        var spec = Array(settings.milterSocket.libmilterSpec.utf8CString)
        guard spec.withUnsafeMutableBufferPointer({ smfi_setconn($0.baseAddress) }) == MI_SUCCESS else {
            MilterCommand.fail("milter_socket \(settings.milterSocket): not usable")
        }
        _ = smfi_settimeout(Int32(settings.milterTimeout.rounded()))
        // Open now, so a port in use or an unwritable socket directory is reported here,
        // on the terminal, rather than in the background.
        guard smfi_opensocket(1) == MI_SUCCESS else {
            MilterCommand.fail("cannot listen on \(settings.milterSocket): address in use or permission denied"
                               + " (is another mailtrail-milter running? check milter_socket)")
        }
        if case let .unix(path) = settings.milterSocket {
            try UnixSocketPermissions.apply(path: path, mode: settings.milterSocketMode, group: settings.milterSocketGroup)
        }
        if !foreground { try Background.detach() }
        let log = Logger(label: "mailtrail-milter")
        let pid = settings.milterPIDFile.isEmpty ? nil : PIDFile(path: settings.milterPIDFile)
        try pid?.write()
        filter.start()
        log.info("starting", metadata: ["socket": "\(settings.milterSocket)", "base": "\(settings.trackingBaseURL)"])

        let rc = smfi_main()

        log.info("stopping: waiting for in-flight messages")
        filter.drain(timeout: 30)
        filter.stop()
        pid?.remove()
        log.info("stopped")
        exit(rc == MI_SUCCESS ? 0 : 1)
    }
}

/// Mode and group of a unix milter socket, so the `postfix` user can connect.
enum UnixSocketPermissions {
    static func apply(path: String, mode: Int, group: String) throws {
        guard chmod(path, mode_t(mode)) == 0 else {
            MilterCommand.fail("chmod \(path): \(String(cString: strerror(errno)))")
        }
        guard !group.isEmpty else { return }
        guard let gr = getgrnam(group) else { MilterCommand.fail("milter_socket_group: no group \"\(group)\"") }
        guard chown(path, uid_t.max, gr.pointee.gr_gid) == 0 else {
            MilterCommand.fail("chown \(path): \(String(cString: strerror(errno)))")
        }
    }
}
