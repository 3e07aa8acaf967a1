import Glibc
import TesseraSupport

/// Debian's mosquitto as a child process on 127.0.0.1: the local stack's MQTT broker (what AWS IoT Core is
/// on AWS), and the broker the tests publish to. Anonymous, no persistence, a free port, its own config
/// file and log in a temporary directory that `stop()` removes. With `AccessControl`, it enforces what
/// the devices' IoT policy does: a device (an anonymous client) may publish only to its own topics and
/// read nothing; one reader with a password (the IoT rules' subscriber) reads every topic.
public final class MosquittoBroker: @unchecked Sendable {
    /// Who may do what (mosquitto's acl_file and password_file).
    public struct AccessControl: Sendable {
        /// The topics any client may publish to, as mosquitto `pattern write` topics: `%c` stands for the
        /// client's id (`tessera/pieces/%c`: each device only to its own topic). Nothing else is writable.
        public var publishPatterns: [String]
        /// The one client that reads: it authenticates with these and may read every topic.
        public var reader: MQTTClient.Credentials

        public init(publishPatterns: [String], reader: MQTTClient.Credentials) {
            self.publishPatterns = publishPatterns
            self.reader = reader
        }

        /// mosquitto's acl_file: patterns apply to every client (anonymous ones get nothing else), and
        /// the reader's `topic read #`.
        var aclFile: String {
            (["# Written by Tessera's MosquittoBroker: what the devices' IoT policy allows.",
              "# Every client: publish only to these topics (%c = its client id). Nothing else, no reading."]
                + publishPatterns.map { "pattern write \($0)" }
                + ["", "# The IoT rules' subscriber reads every topic.", "user \(reader.username)", "topic read #"])
                .joined(separator: "\n") + "\n"
        }
    }

    public static let passwordTool = "/usr/bin/mosquitto_passwd"
    /// A second listener with TLS, as AWS IoT Core's port 8883 is.
    public struct TLSListener: Sendable {
        /// The CA that signs the clients' certificates (and, usually, the broker's own).
        public var caFile: String
        public var certificateFile: String
        public var keyFile: String
        /// Refuse clients without a certificate signed by `caFile` (AWS IoT Core's device authentication).
        public var requireCertificate: Bool

        public init(caFile: String, certificateFile: String, keyFile: String, requireCertificate: Bool = true) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.requireCertificate = requireCertificate
        }
    }

    public static let defaultExecutable = "/usr/sbin/mosquitto"
    /// The largest MQTT packet accepted: a 128 KB AWS IoT Core payload plus the topic and headers, with slack.
    /// A larger one closes the sender's connection, as IoT Core refuses what it cannot carry.
    public static let maxPacketBytes = 131_072 + 8_192
    /// Messages the broker queues for a slow QoS 1 subscriber before dropping (mosquitto's default is
    /// 1000, fewer than a picture's pieces may be): the ceiling of MAX_PIECES.
    public static let maxQueuedMessages = 100_000

    public let host = "127.0.0.1"
    /// The plain listener's port.
    public let port: Int
    /// The TLS listener's port, when one was asked for.
    public let tlsPort: Int?
    /// The temporary directory with `mosquitto.conf` and `mosquitto.log`.
    public let directory: String
    private var processValue: ChildProcess
    private var process: ChildProcess { lock.withLock { processValue } }
    private let executable: String
    private let lock = ConditionLock()
    private var stopped = false

    /// `mqtt://127.0.0.1:PORT`.
    public var url: String { "mqtt://\(host):\(port)" }
    /// `mqtts://127.0.0.1:TLSPORT`, when there is a TLS listener.
    public var tlsURL: String? { tlsPort.map { "mqtts://\(host):\($0)" } }
    public var pid: pid_t { process.pid }
    public var isRunning: Bool { process.isRunning }
    /// What mosquitto logged so far (connections, refusals, errors).
    public var log: String { process.log }

    /// Starts mosquitto and returns once it accepts TCP connections on every listener.
    public init(executable: String = MosquittoBroker.defaultExecutable, tls: TLSListener? = nil,
                accessControl: AccessControl? = nil, startTimeout: Double = 10) throws {
        guard access(executable, X_OK) == 0 else { throw MosquittoBrokerError.notInstalled(executable) }
        var template = Array("/tmp/tessera-mosquitto-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw MosquittoBrokerError.setup("cannot make a temporary directory: \(errnoText())")
        }
        directory = String(cString: made)
        if let accessControl {
            do {
                try Self.writeAccessFiles(accessControl, in: directory)
            } catch {
                Self.removeDirectory(directory)
                throw error
            }
        }
        // A free port can be taken between finding it and mosquitto binding it: try again then.
        var attempt = 0
        while true {
            attempt += 1
            let port = try freeLoopbackPort()
            let tlsPort = try tls.map { _ in try freeLoopbackPort(excluding: port) }
            let config = directory + "/mosquitto.conf", logPath = directory + "/mosquitto.log"
            _ = unlink(logPath)
            let text = Self.configuration(port: port, tlsPort: tlsPort, tls: tls,
                                          accessDirectory: accessControl == nil ? nil : directory)
            guard writeFile(config, Array(text.utf8)) else {
                Self.removeDirectory(directory)
                throw MosquittoBrokerError.setup("cannot write \(config): \(errnoText())")
            }
            let child: ChildProcess
            do {
                child = try ChildProcess([executable, "-c", config], environment: ["PATH": "/usr/sbin:/usr/bin:/bin"],
                                         logPath: logPath)
            } catch {
                Self.removeDirectory(directory)
                throw MosquittoBrokerError.didNotStart("\(error)")
            }
            let ready = Self.waitUntilListening(child, ports: [port] + (tlsPort.map { [$0] } ?? []), timeout: startTimeout)
            if ready {
                self.port = port
                self.tlsPort = tlsPort
                self.processValue = child
                self.executable = executable
                return
            }
            let log = child.log
            child.terminate(timeout: 2)
            if attempt < 3, log.contains("Address already in use") { continue }
            Self.removeDirectory(directory)
            throw MosquittoBrokerError.didNotStart(log.isEmpty ? "no listener within \(formatSeconds(startTimeout)) s" : log)
        }
    }

    deinit { stop() }

    /// Starts mosquitto again on the same ports and configuration when its process has ended (a crash,
    /// or a soak's fault): clients reconnect to the same address, as devices reconnect to IoT Core.
    /// True when it was restarted.
    public func restartIfExited(timeout: Double = 10) throws -> Bool {
        guard !lock.withLock({ stopped }), !process.isRunning else { return false }
        let config = directory + "/mosquitto.conf"
        // The old listener's socket may linger a moment: try until it binds.
        let limit = deadline(after: timeout)
        while monotonicNanoseconds() < limit {
            let child = try ChildProcess([executable, "-c", config], environment: ["PATH": "/usr/sbin:/usr/bin:/bin"],
                                         logPath: directory + "/mosquitto.log")
            if Self.waitUntilListening(child, ports: [port] + (tlsPort.map { [$0] } ?? []), timeout: 2) {
                let kept = lock.withLock { () -> Bool in
                    if stopped { return false }
                    processValue = child
                    return true
                }
                if !kept { child.terminate(timeout: 2) }
                return kept
            }
            child.terminate(timeout: 2)
            usleep(100_000)
        }
        throw MosquittoBrokerError.didNotStart("not again on port \(port) within \(formatSeconds(timeout)) s: \(log.suffix(400))")
    }

    /// Terminates mosquitto and removes its configuration and log.
    public func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        process.terminate(timeout: 5)
        Self.removeDirectory(directory)
    }

    static func configuration(port: Int, tlsPort: Int?, tls: TLSListener?, accessDirectory: String? = nil) -> String {
        var lines = [
            "# Written by Tessera's MosquittoBroker for one run; removed when it stops.",
            "per_listener_settings false",
            "allow_anonymous true",
            "persistence false",
            "max_packet_size \(maxPacketBytes)",
            "max_queued_messages \(maxQueuedMessages)",
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "log_timestamp true",
            // Run as root, mosquitto switches to the `mosquitto` user before it loads TLS keys, which then
            // cannot read a caller's private files (a test's 0600 key in its own temporary directory):
            // stay the caller. It listens on loopback only.
            "user \(currentUserName())",
        ]
        if let accessDirectory {
            // Anonymous clients (the devices) stay allowed; a client giving a user name must have its
            // password. Both files apply to every listener (per_listener_settings false).
            lines += ["acl_file \(accessDirectory)/acl", "password_file \(accessDirectory)/passwords"]
        }
        lines += [
            "",
            "listener \(port) 127.0.0.1",
        ]
        if let tls, let tlsPort {
            lines += [
                "",
                "listener \(tlsPort) 127.0.0.1",
                "cafile \(tls.caFile)",
                "certfile \(tls.certificateFile)",
                "keyfile \(tls.keyFile)",
                "require_certificate \(tls.requireCertificate)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// True once every port accepts a TCP connection; false when mosquitto exited or the time is up.
    static func waitUntilListening(_ child: ChildProcess, ports: [Int], timeout: Double) -> Bool {
        let limit = deadline(after: timeout)
        var waiting = ports
        while monotonicNanoseconds() < limit {
            guard child.isRunning else { return false }
            waiting.removeAll(where: accepts)
            if waiting.isEmpty { return true }
            usleep(10_000)
        }
        return false
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    static func currentUserName() -> String {
        guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else { return "root" }
        return String(cString: name)
    }

    /// `acl` and `passwords` (made by mosquitto_passwd, mode 0600) in `directory`.
    static func writeAccessFiles(_ access: AccessControl, in directory: String) throws {
        guard writeFile(directory + "/acl", Array(access.aclFile.utf8)) else {
            throw MosquittoBrokerError.setup("cannot write \(directory)/acl: \(errnoText())")
        }
        guard Glibc.access(passwordTool, X_OK) == 0 else { throw MosquittoBrokerError.notInstalled(passwordTool) }
        let passwords = directory + "/passwords"
        guard writeFile(passwords, []), chmod(passwords, 0o600) == 0 else {
            throw MosquittoBrokerError.setup("cannot write \(passwords): \(errnoText())")
        }
        let tool = try ChildProcess([passwordTool, "-b", passwords, access.reader.username, access.reader.password],
                                    environment: ["PATH": "/usr/sbin:/usr/bin:/bin"], logPath: directory + "/passwd.log")
        guard let exit = tool.waitForExit(timeout: 10), exit.status == 0 else {
            tool.terminate()
            throw MosquittoBrokerError.setup("mosquitto_passwd failed: \(tool.log)")
        }
    }

    static func removeDirectory(_ directory: String) {
        for name in ["mosquitto.conf", "mosquitto.log", "acl", "passwords", "passwd.log"] { _ = unlink(directory + "/" + name) }
        _ = rmdir(directory)
    }
}

/// Why the local broker did not start.
public enum MosquittoBrokerError: Error, CustomStringConvertible {
    case notInstalled(String)
    case setup(String)
    case didNotStart(String)

    public var description: String {
        switch self {
        case let .notInstalled(path):
            "mosquitto is not installed (no executable \(path)): run scripts/setup (it installs Debian's mosquitto)"
        case let .setup(reason):
            "cannot start mosquitto: \(reason)"
        case let .didNotStart(log):
            "mosquitto did not start: \(log.trimmingTrailingNewlines)"
        }
    }
}

extension String {
    fileprivate var trimmingTrailingNewlines: String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}
