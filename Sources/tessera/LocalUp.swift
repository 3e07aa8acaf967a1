import ArgumentParser
import Glibc
import TesseraAWS
import TesseraLocal
import TesseraSupport

extension Local {
    /// `tessera local up`: the whole pipeline on this machine, from template.yaml.
    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start the local stack: emulator, template.yaml's resources, the three functions, MQTT, the page.",
            discussion: "Runs until Ctrl-C or `tessera local down`, then stops everything it started. "
                + "Writes .local/up.env (the stack's variables, for `source`) while it runs.")

        @Option(help: "The SAM template whose resources and functions to run.") var template = "template.yaml"
        @Option(help: "Port of the page and API on 127.0.0.1 (0 picks one).") var port: UInt16 = 8080
        @Option(help: "moto's server (scripts/setup installs it).") var emulator = ".venv/bin/moto_server"
        @Option(help: "Folder for logs and the state files.") var state = ".local"
        @Option(help: ArgumentHelp("Run the deployment zips in this folder (scripts/package writes .build-lambda) instead of swift build's products.",
                                   discussion: "Each zip is unpacked under <state>/task/<function> and its bootstrap started with its lib/ as LD_LIBRARY_PATH, as Lambda does."))
        var package: String?
        @Option(help: ArgumentHelp("Where a function's AWS calls go instead of the emulator, as FUNCTION=URL (repeatable): "
                                   + "the soak's fault proxy.", valueName: "function=url"))
        var functionEndpoint: [String] = []

        func run() throws {
            var signals = sigset_t()
            sigemptyset(&signals)
            sigaddset(&signals, SIGINT)
            sigaddset(&signals, SIGTERM)
            pthread_sigmask(SIG_BLOCK, &signals, nil)
            let up = try LocalUp(template: template, apiPort: port, emulator: emulator,
                                 stateDirectory: state,
                                 code: package.map { .packages($0, tasks: "\(state)/task") }
                                     ?? .buildProducts(siblingExecutable("tessera").dropLastPathComponent()),
                                 functionEndpoints: try endpoints(), log: { say($0) })
            say("")
            say("page:     \(up.pageURL)")
            let deviceTopics = up.devicePublishPatterns.map { $0.replacing("%c", with: "<client id>") }
            say("MQTT:     \(up.mqttAddress) (a device publishes only to \(deviceTopics.joined(separator: ", ")); "
                + "the rules read \(up.iotTopics.joined(separator: ", ")))")
            say("emulator: \(up.emulatorURL) (no signature checking: browsers' presigned POSTs need that)")
            if let (user, password) = up.demoUser {
                say("sign in:  \(user) / \(password) (a user of the template's user pool, made for this run)")
            }
            say("send a photo: tessera send PHOTO --broker \(up.mqttAddress) --machine-id cam-1 --label my-photo")
            say("variables: source \(state)/up.env; stop: Ctrl-C or tessera local down")
            var received: Int32 = 0
            sigwait(&signals, &received)
            say("stopping the local stack")
            up.stop()
        }

        func endpoints() throws -> [String: String] {
            var result: [String: String] = [:]
            for pair in functionEndpoint {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, parts[1].hasPrefix("http://") || parts[1].hasPrefix("https://") else {
                    throw ValidationError("--function-endpoint takes FUNCTION=URL (piece-storage=http://127.0.0.1:9000), got \(pair)")
                }
                result[parts[0]] = parts[1]
            }
            return result
        }
    }

    /// `tessera local down`: stops what `tessera local up` started.
    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the local stack `tessera local up` started.")

        @Option(help: "Folder of the state files.") var state = ".local"

        func run() throws {
            // Only a live `tessera local up` is signalled: never whatever number the file happens to hold.
            guard let pid = LocalUp.runningPid(state) else {
                say("the local stack is not running")
                return
            }
            kill(pid, SIGTERM)
            for _ in 0..<300 where LocalUp.runningPid(state) == pid { sleepSeconds(0.1) }
            guard LocalUp.runningPid(state) != pid else { throw ValidationError("process \(pid) is still running after 30 s") }
            say("the local stack is stopped")
        }
    }
}

extension String {
    /// The folder part of a path (`/a/b/c` → `/a/b`).
    func dropLastPathComponent() -> String {
        split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    }
}
