import ArgumentParser
import Glibc
import TesseraLocal
import TesseraSupport

extension Local {
    /// `tessera local serve`: the page and its API on loopback, with uploads resized as they land.
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the web page and picture-api locally; resize uploads as they land (Ctrl-C stops).",
            discussion: "Needs the emulator's variables and the stack's names (`tessera local init`). Browser "
                + "uploads use presigned POSTs, which the emulator only accepts with signature checking off.")

        @Option(help: "Port of the page on 127.0.0.1 (0 picks a free one).") var port: UInt16 = 8080
        @Option(help: "Folder for the functions' logs.") var logs = ".local/logs"

        func run() throws {
            // Ctrl-C and SIGTERM are waited for below, not delivered to a thread that happens to run.
            var signals = sigset_t()
            sigemptyset(&signals)
            sigaddset(&signals, SIGINT)
            sigaddset(&signals, SIGTERM)
            pthread_sigmask(SIG_BLOCK, &signals, nil)
            mkdir(logs, 0o755)
            let stack = try LocalPictureStack(
                apiBinary: siblingExecutable("picture-api"), processorBinary: siblingExecutable("picture-processor"),
                environment: Environment.process().values, port: port, logDirectory: logs,
                onPoll: { queue, poll in
                    say("\(queue == "RESIZE_QUEUE_URL" ? "resize" : "reassembly") queue: \(poll.received) message(s), "
                        + "\(poll.failed.count) returned to the queue")
                })
            say("page: \(stack.url)")
            say("function logs: \(logs)/picture-api.log, \(logs)/picture-processor.log")
            var received: Int32 = 0
            sigwait(&signals, &received)
            say("stopping")
            stack.stop()
        }
    }
}
