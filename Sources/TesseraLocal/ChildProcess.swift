import Glibc
import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraRuntime
import TesseraSupport

/// A function binary run as Lambda runs `bootstrap`: a child with its own environment, a clean signal
/// mask (threaded parents block signals), output to a file, reaped with wait4 for its peak RSS.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    /// Where its stdout and stderr go, when redirected.
    public let logPath: String?
    private let lock = ConditionLock()
    private var exit: (status: Int32, peakRSSKiB: Int)?

    public init(_ command: [String], environment: [String: String], logPath: String? = nil) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let logPath {
            posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let status = posix_spawnp(&pid, command[0], &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw ServerError.socket("cannot start \(command[0]): \(String(cString: strerror(status)))")
        }
        self.pid = pid
        self.logPath = logPath
    }

    /// Sends SIGTERM and waits for the exit.
    @discardableResult
    public func terminate(timeout: Double = 10) -> (status: Int32, peakRSSKiB: Int) {
        if poll() == nil { kill(pid, SIGTERM) }
        return waitForExit(timeout: timeout) ?? {
            kill(pid, SIGKILL)
            return waitForExit(timeout: 5) ?? (-1, 0)
        }()
    }

    /// The exit status (a signal shows as 128 + number) and peak RSS, once it has exited.
    public func waitForExit(timeout: Double = 10) -> (status: Int32, peakRSSKiB: Int)? {
        let limit = deadline(after: timeout)
        while monotonicNanoseconds() < limit {
            if let result = poll() { return result }
            usleep(2_000)
        }
        return poll()
    }

    public var isRunning: Bool { poll() == nil }

    /// What it wrote so far, when redirected.
    public var log: String {
        logPath.flatMap { readFile($0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    private func poll() -> (status: Int32, peakRSSKiB: Int)? {
        lock.withLock { pollLocked() }
    }

    private func pollLocked() -> (status: Int32, peakRSSKiB: Int)? {
        if let exit { return exit }
        var status: Int32 = 0
        var usage = rusage()
        guard wait4(pid, &status, WNOHANG, &usage) == pid else { return nil }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        exit = (code, usage.ru_maxrss)
        return exit
    }
}
