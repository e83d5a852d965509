import Glibc

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
