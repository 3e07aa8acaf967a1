import Foundation
import Glibc
import Testing
import TesseraAWS
import TesseraLocal

/// A log pipe whose reader is gone must not kill piece storage between storing a piece and posting
/// the answer (SIGPIPE's default action ends the process; Lambda would retry a piece that was stored).
struct PieceStorageClosedStderrTests {
    @Test func closedLogPipeDoesNotKillAnInvocation() throws {
        let stack = try PieceStorageStack()
        let api = try LocalRuntimeAPI()
        defer { api.stop() }
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        // Close-on-exec, so no process other tests start meanwhile keeps a reader open.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // The reader goes away before the function writes anything.
        close(fds[0])
        let pid = try spawn(FunctionProcess.binDirectory.appendingPathComponent("piece-storage").path,
                            environment: stack.environment(api: api), output: fds[1])
        close(fds[1])
        var reaped = false
        defer {
            if !reaped {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
            // LocalRuntimeAPI's `written` hook holds it `unowned`: let it run before the API goes.
            usleep(50_000)
        }
        func exited() -> Bool {
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return false }
            reaped = true
            Issue.record("piece-storage ended: wait status \(status) (signal \(status & 0x7f); SIGPIPE is \(SIGPIPE))")
            return true
        }

        #expect(api.invoke(Array(PieceEvents.piece("cam-6", "quiet", 1, [6]).utf8), timeout: 20)
            == PieceEvents.answer("cam-6/quiet", piece: 1, "stored"))
        guard !exited() else { return }
        #expect(api.invoke(Array(PieceEvents.piece("cam-6", "quiet", 1, [6]).utf8), timeout: 20)
            == PieceEvents.answer("cam-6/quiet", piece: 1, "duplicate"))
        #expect(!exited())
    }

    /// Starts `path` with stdout and stderr on `output`, every signal at its default action (an
    /// ignored SIGPIPE would otherwise be inherited from this process) and none blocked.
    func spawn(_ path: String, environment: [String: String], output: Int32) throws -> pid_t {
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
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        let argv = [strdup(path), nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard status == 0 else { throw FunctionProcess.Missing(path: "\(path): \(String(cString: strerror(status)))") }
        return pid
    }
}
