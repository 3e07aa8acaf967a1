import Foundation
import Glibc
import Testing
import TesseraAWS
import TesseraLocal
import TesseraSupport

/// `tessera local up` as a user runs it: from a clean state, a photo sent over MQTT comes out as an
/// original, renditions, an item and a notification; `down` leaves no process or port behind.
struct LocalUpTests {
    static let root = LocalTemplateTests.root

    func run(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
             timeout: Double = 90) throws -> (status: Int32, output: String) {
        let tool = FunctionProcess.binDirectory.appendingPathComponent("tessera").path
        let process = try ChildProcess([tool] + arguments, environment: environment,
                                       logPath: NSTemporaryDirectory() + "tessera-\(UUID().uuidString).log")
        let status = process.waitForExit(timeout: timeout)?.status ?? -1
        return (status, process.log)
    }

    static func accepts(_ url: String) -> Bool {
        guard let port = url.split(separator: ":").last.flatMap({ UInt16($0.prefix { $0.isNumber }) }) else { return false }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// The processes whose parent is `pid`, with their command lines.
    static func children(of pid: pid_t) -> [(pid_t, String)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> (pid_t, String)? in
            guard let child = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let fields = stat.split(separator: ")").last?.split(separator: " "), fields.count > 1,
                  pid_t(fields[1]) == pid else { return nil }
            let command = (try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8))?
                .replacingOccurrences(of: "\u{0}", with: " ") ?? ""
            return (child, command)
        }
    }

    /// Starts `tessera local up` on `state` (with `arguments` added) and waits for its up.env: the process
    /// and the stack's variables (empty when it exited or did not come up in 60 s).
    static func startUp(state: String, _ arguments: [String] = []) throws -> (ChildProcess, [String: String]) {
        let tool = FunctionProcess.binDirectory.appendingPathComponent("tessera").path
        let up = try ChildProcess([tool, "local", "up", "--port", "0", "--state", state,
                                   "--template", root.appendingPathComponent("template.yaml").path,
                                   "--emulator", root.appendingPathComponent(".venv/bin/moto_server").path] + arguments,
                                  environment: ProcessInfo.processInfo.environment, logPath: state + ".log")
        var variables: [String: String] = [:]
        for _ in 0..<600 where variables["TESSERA_MQTT"] == nil && up.waitForExit(timeout: 0.1) == nil {
            variables = exports(state + "/up.env")
        }
        return (up, variables)
    }

    /// An ID token of the user `local up` made (TESSERA_USER), signed in as the page does, from up.env's variables.
    static func signIn(_ variables: [String: String]) throws -> String {
        let config = try AWSConfig.fromEnvironment(Environment(variables))
        let cognito = CognitoClient(aws: AWSClient(config: config))
        return try cognito.signIn(clientId: try #require(variables["AUTH_CLIENT_ID"]), username: try #require(variables["TESSERA_USER"]),
                                  password: try #require(variables["TESSERA_PASSWORD"])).IdToken
    }

    /// `export NAME='value'` lines as a map.
    static func exports(_ path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count)
            guard let eq = pair.firstIndex(of: "=") else { continue }
            values[String(pair[..<eq])] = String(pair[pair.index(after: eq)...]).replacingOccurrences(of: "'\\''", with: "'")
                .trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
        return values
    }

    @Test func aPhotoSentOverMQTTComesOutAndDownLeavesNothingBehind() throws {
        let state = NSTemporaryDirectory() + "tessera-up-\(UUID().uuidString)"
        let (up, variables) = try Self.startUp(state: state)
        defer { up.terminate() }
        let mqtt = try #require(variables["TESSERA_MQTT"], "no up.env: \(up.log)")
        let page = try #require(variables["TESSERA_PAGE_URL"])
        let emulator = try #require(variables["AWS_ENDPOINT_URL"])
        var environment = ProcessInfo.processInfo.environment
        environment.merge(variables) { _, new in new }

        let send = try run(["send", Fixtures.url("photos/fresh-flower.jpg").path, "--broker", mqtt, "--machine-id", "cam-9",
                            "--label", "through-mqtt", "--state", state + "/send.json"], environment: environment)
        #expect(send.status == 0, "\(send.output)")
        let status = try run(["local", "status", "--machine-id", "cam-9", "through-mqtt", "--wait", "60", "--state", state],
                             environment: environment)
        #expect(status.output.contains("  status: ready"), "\(status.output)\n\(up.log)")
        #expect(status.output.contains("  source: iot"))
        #expect(status.output.contains("key: thumb/cam-9/through-mqtt.jpg"))
        // The picture.ready notification, as the topic's subscriber got it.
        #expect(status.output.contains("notifications: 1"), "\(status.output)")
        #expect(status.output.contains("  picture.ready: {\"collection\":\"cam-9\",\"name\":\"through-mqtt\""), "\(status.output)")
        #expect(up.log.contains("[piece-storage] "), "function logs are shown with the function's name")
        // Its journey through the functions' logs, from its first piece to its renditions. The processor logs the outcome
        // just after marking the item notified, which ends --wait: a later look finds that line.
        var journey: [Substring] = []
        for _ in 0..<10 {
            let look = try run(["local", "status", "--machine-id", "cam-9", "through-mqtt", "--state", state], environment: environment)
            journey = Array(look.output.split(separator: "\n").drop { !$0.hasPrefix("journey of cam-9/through-mqtt") }.dropFirst()
                .prefix { $0.hasPrefix("  20") })
            if journey.last?.contains(": ready") == true { break }
            usleep(200_000)
        }
        // Its pieces and END at piece-storage first (END may overtake a piece, as Lambda runs deliveries side by side, and
        // the processor then looks again), and its renditions last. Where END overtook every piece, the processor's look
        // that finds them missing can come first: piece-storage logs END only once the request is sent and marked.
        #expect(journey.first?.contains(" piece-storage INFO ") == true
            || journey.first?.contains(" picture-processor INFO reassembly of cam-9/through-mqtt: incomplete") == true, "\(journey)")
        #expect(journey.contains { $0.contains(" piece-storage INFO piece 1 of cam-9/through-mqtt: stored") }, "\(journey)")
        #expect(journey.contains { $0.contains(" piece-storage INFO END of cam-9/through-mqtt: ") }, "\(journey)")
        #expect(journey.contains { $0.contains(" picture-processor INFO reassembly of cam-9/through-mqtt: stored") }, "\(journey)")
        #expect(journey.last?.contains(" picture-processor INFO cam-9/through-mqtt.jpg: ready") == true, "\(journey)")

        // Its children: the emulator, mosquitto and the function binaries (six: piece-storage runs as four).
        let children = Self.children(of: up.pid)
        #expect(children.count >= 6, "children of local up: \(children)")
        let down = try run(["local", "down", "--state", state], environment: environment)
        #expect(down.status == 0 && down.output.contains("the local stack is stopped"), "\(down.output)")
        #expect(up.waitForExit(timeout: 10) != nil)
        for address in [mqtt, page, emulator] { #expect(!Self.accepts(address), "\(address) still answers") }
        for (pid, command) in children {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            #expect(stat.isEmpty || stat.split(separator: ")").last?.hasPrefix(" Z") == true, "\(command) (\(pid)) is still running")
        }
        #expect(!FileManager.default.fileExists(atPath: state + "/up.pid"))
        // No function, broker or emulator process of this stack is left.
        let ps = try run(["local", "status", "--state", state], environment: environment)
        #expect(ps.output.contains("the local stack is not running"))
    }

    @Test func downSignalsOnlyALiveLocalUp() throws {
        let state = NSTemporaryDirectory() + "tessera-up-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        // A stranger's process (here a sleep of ours) behind a stale or planted up.pid is never signalled.
        let stranger = try ChildProcess(["/bin/sleep", "30"], environment: [:])
        defer { stranger.terminate() }
        for planted in ["\(stranger.pid)", "0", "-1", "1", "-\(getpgrp())", "not a pid"] {
            try planted.write(toFile: state + "/up.pid", atomically: true, encoding: .utf8)
            let down = try run(["local", "down", "--state", state])
            #expect(down.status == 0 && down.output.contains("the local stack is not running"), "\(planted): \(down.output)")
            #expect(stranger.isRunning, "down signalled \(planted)")
        }
        try FileManager.default.removeItem(atPath: state + "/up.pid")
        try FileManager.default.createDirectory(atPath: state + "/up.pid", withIntermediateDirectories: true)
        #expect(try run(["local", "status", "--state", state]).output.contains("not running"))
    }
}
