import Config
import Glibc

/// Mode and group of a unix milter socket, so the `postfix` user can connect.
enum UnixSocketPermissions {
    static func apply(path: String, mode: Int, group: String) throws(StartupError) {
        guard chmod(path, mode_t(mode)) == 0 else {
            throw StartupError("cannot set mode \(String(mode, radix: 8)) on the milter socket \(path): "
                               + "\(String(cString: strerror(errno))) (check milter_socket_mode)", status: EX_CANTCREAT)
        }
        guard !group.isEmpty else { return }
        guard let gr = getgrnam(group) else {
            throw StartupError("milter_socket_group: no group \"\(group)\" (create it, or name the group Postfix runs as, "
                               + "normally postfix)", status: EX_CONFIG)
        }
        guard chown(path, uid_t.max, gr.pointee.gr_gid) == 0 else {
            throw StartupError("cannot give the milter socket \(path) to group \(group): \(String(cString: strerror(errno))) "
                               + "(run mailtrail-milter as a member of \(group), or correct milter_socket_group)", status: EX_NOPERM)
        }
    }
}
