#if canImport(Glibc)
import Glibc
#endif

/// A child process started with every signal unblocked and at its default action, its output
/// discarded.
///
/// Foundation's `Process` passes on the signal mask of the thread that starts it, and the
/// threads tests run on block nearly every signal: a `redis-server` started that way ignores
/// SIGTERM and SIGINT, and one left over by an interrupted test run would need SIGKILL.
public final class SpawnedProcess {
    public let pid: pid_t
    private var exitStatus: Int32?

    /// Starts `path` with `arguments` (not counting the program name) and this process'
    /// environment.
    public init(_ path: String, _ arguments: [String]) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var files = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&files)
        defer { posix_spawn_file_actions_destroy(&files) }
        posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&files, 2, "/dev/null", O_WRONLY, 0)

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, path, &files, &attributes, argv, environ)
        guard status == 0 else {
            throw FixtureError("cannot start \(path): \(String(cString: strerror(status)))")
        }
        pid = child
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            waitUntilExit()
        }
    }

    /// False once the child has exited (it is then reaped).
    public var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return true }
        exitStatus = status
        return false
    }

    /// Waits for the child to exit and reaps it.
    public func waitUntilExit() {
        guard exitStatus == nil else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        exitStatus = status
    }
}
