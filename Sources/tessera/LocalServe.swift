import ArgumentParser
import Glibc
import TesseraAWS
import TesseraLocal
import TesseraSupport

extension Local {
    /// `tessera local serve`: the page and its API on loopback, with uploads resized as they land.
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run template.yaml's resources and functions against a running emulator (Ctrl-C stops).",
            discussion: "Needs the emulator's variables (AWS_ENDPOINT_URL, keys, region). Browser uploads use "
                + "presigned POSTs, which the emulator only accepts with signature checking off.")

        @Option(help: "Port of the page on 127.0.0.1 (0 picks a free one).") var port: UInt16 = 8080
        @Option(help: "Folder for the functions' logs.") var logs = ".local/logs"
        @Option(help: "The SAM template whose resources and functions to run.") var template = "template.yaml"

        func run() throws {
            // Ctrl-C and SIGTERM are waited for below, not delivered to a thread that happens to run.
            var signals = sigset_t()
            sigemptyset(&signals)
            sigaddset(&signals, SIGINT)
            sigaddset(&signals, SIGTERM)
            pthread_sigmask(SIG_BLOCK, &signals, nil)
            mkdir(logs, 0o755)
            let env = Environment.process()
            let template = try LocalTemplate.load(self.template)
            let ids = try LocalResources.provision(template, aws: AWSClient(config: try AWSConfig.fromEnvironment(env)))
            let stack = try LocalStack(functions: try LocalFunction.all(in: template, ids: ids),
                                       binDirectory: siblingExecutable("tessera").dropLastPathComponent(),
                                       environment: env.values, apiPort: port, logDirectory: logs, log: { say($0) })
            say("page: \(stack.gateway?.url ?? "none")")
            say("function logs: \(logs)/")
            var received: Int32 = 0
            sigwait(&signals, &received)
            say("stopping")
            stack.stop()
        }
    }
}

extension String {
    /// The folder part of a path (`/a/b/c` → `/a/b`).
    func dropLastPathComponent() -> String {
        split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    }
}
