import CMosquitto
import Glibc
import TesseraSupport

/// A synchronous MQTT 3.1.1 client over libmosquitto, for a device (`tessera send`) and the local stack
/// (bridging the local broker to piece-storage).
///
/// `init` connects and returns once the broker accepted (CONNACK 0), or throws an `MQTTError` saying
/// why not. One network thread per client runs libmosquitto's loop; every callback (publish
/// acknowledgements, subscription handlers) runs on it, so they must not block for long and must never
/// call `publish` or `subscribe` on the same client (those wait for that thread: a deadlock).
///
/// Thread safety: meant for one owner. `publish`, `publishWindowed`, `waitForAcknowledgements`,
/// `subscribe` and `disconnect` may be called from any thread, but not concurrently with `disconnect`.
public final class MQTTClient: @unchecked Sendable {
    /// Where the broker is: `mqtt://host:port` (plain TCP, default port 1883) or `mqtts://host:port`
    /// (TLS, default port 8883).
    public struct Broker: Sendable, Equatable, CustomStringConvertible {
        public var useTLS: Bool
        public var host: String
        public var port: Int

        public init(useTLS: Bool, host: String, port: Int) {
            self.useTLS = useTLS
            self.host = host
            self.port = port
        }

        public init(parsing url: String) throws {
            let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw MQTTError.invalidBrokerURL(url, problem: "no scheme") }
            switch parts[0].lowercased() {
            case "mqtt", "tcp": useTLS = false
            case "mqtts", "ssl", "tls": useTLS = true
            default: throw MQTTError.invalidBrokerURL(url, problem: "unknown scheme \"\(parts[0])\"")
            }
            var rest = Substring(parts[1])
            if rest.hasSuffix("/") { rest = rest.dropLast() }
            guard !rest.contains("/"), !rest.contains("@"), !rest.contains("?") else {
                throw MQTTError.invalidBrokerURL(url, problem: "only a host and a port are allowed, no path, user or query")
            }
            var hostPart = rest, portPart: Substring?
            if rest.hasPrefix("[") {  // [IPv6]:port
                guard let close = rest.firstIndex(of: "]") else {
                    throw MQTTError.invalidBrokerURL(url, problem: "unclosed [ in an IPv6 address")
                }
                hostPart = rest[rest.index(after: rest.startIndex)..<close]
                let after = rest[rest.index(after: close)...]
                if after.hasPrefix(":") { portPart = after.dropFirst() } else if !after.isEmpty {
                    throw MQTTError.invalidBrokerURL(url, problem: "unexpected \"\(after)\" after the address")
                }
            } else if let colon = rest.lastIndex(of: ":") {
                hostPart = rest[..<colon]
                portPart = rest[rest.index(after: colon)...]
            }
            guard !hostPart.isEmpty else { throw MQTTError.invalidBrokerURL(url, problem: "no host") }
            host = String(hostPart)
            if let portPart {
                guard let number = Int(portPart), (1...65535).contains(number) else {
                    throw MQTTError.invalidBrokerURL(url, problem: "the port must be 1 to 65535, got \"\(portPart)\"")
                }
                port = number
            } else {
                port = useTLS ? 8883 : 1883
            }
        }

        /// `host:port` (IPv6 addresses in brackets).
        public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

        public var description: String { "\(useTLS ? "mqtts" : "mqtt")://\(address)" }
    }

    /// TLS credentials. AWS IoT Core: the device certificate and its private key, and AmazonRootCA1.pem.
    public struct TLSFiles: Sendable, Equatable {
        /// CA certificates (PEM) the broker's certificate must chain to; nil: the system's
        /// (`/etc/ssl/certs`, which holds Amazon's root CAs on Debian).
        public var caFile: String?
        /// The client certificate (PEM) and its key; both or neither.
        public var certificateFile: String?
        public var keyFile: String?

        public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }
    }

    /// A user name and password for brokers that want them (the local stack's IoT-rules subscriber on its
    /// mosquitto; AWS IoT Core's devices authenticate with certificates instead).
    public struct Credentials: Sendable, Equatable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    /// Called for every message matching a subscription: its topic and payload.
    public typealias MessageHandler = @Sendable (_ topic: String, _ payload: [UInt8]) -> Void

    public let broker: Broker
    public let clientId: String
    /// Most QoS 1 messages unacknowledged at a time (publish waits for a free place).
    public let window: Int
    private let core: Core

    /// Connects to `broker` (`mqtt://host:port` or `mqtts://host:port`) and waits for the broker to
    /// accept. `tls` is required for a client certificate; for mqtts without it the system's CAs verify
    /// the broker. `connectTimeout` bounds the TCP connect and the wait for CONNACK each.
    public init(broker url: String, clientId: String, tls: TLSFiles? = nil, credentials: Credentials? = nil,
                keepAlive: Int = 60, connectTimeout: Double = 10, window: Int = 20) throws {
        precondition(window >= 1, "window must be at least 1")
        MQTTClient.initializeLibrary()
        let broker = try Broker(parsing: url)
        self.broker = broker
        self.clientId = clientId
        self.window = window
        if let tls {
            guard broker.useTLS else {
                throw MQTTError.invalidBrokerURL(url, problem: "TLS files given for a plain mqtt:// broker; use mqtts://")
            }
            guard (tls.certificateFile == nil) == (tls.keyFile == nil) else {
                throw MQTTError.unreadableFile(role: tls.certificateFile == nil ? "client certificate" : "private key",
                                               path: "(none given)",
                                               reason: "a client certificate needs its private key, and the other way round")
            }
            for (role, path) in [("CA file", tls.caFile), ("client certificate", tls.certificateFile),
                                 ("private key", tls.keyFile)] {
                guard let path else { continue }
                guard let file = fopen(path, "rb") else {
                    throw MQTTError.unreadableFile(role: role, path: path, reason: errnoText())
                }
                fclose(file)
            }
        }
        guard let handle = mosquitto_new(clientId, true, nil) else {
            throw MQTTError.library(call: "mosquitto_new", code: MOSQ_ERR_NOMEM.rawValue, reason: errnoText())
        }
        core = Core(handle: handle, broker: broker, tls: broker.useTLS ? (tls ?? TLSFiles()) : nil)
        do {
            try core.configure(window: window)
            if let credentials {
                try core.check("mosquitto_username_pw_set",
                               mosquitto_username_pw_set(handle, credentials.username, credentials.password))
            }
            try core.connect(keepAlive: keepAlive, timeout: connectTimeout)
        } catch {
            core.close(timeout: 1)
            throw error
        }
    }

    deinit { core.close(timeout: 2) }

    /// Publishes `payload` to `topic` and returns once the broker acknowledged it (QoS 1: its PUBACK;
    /// QoS 0: once written to the socket). Throws `publishTimeout` when no PUBACK came within `timeout`
    /// seconds, `connectionLost` when the connection broke.
    public func publish(topic: String, payload: [UInt8], qos: Int32 = 1, timeout: Double = 30) throws {
        let done = Flag()
        try publishWindowed(topic: topic, payload: payload, qos: qos, timeout: timeout) { done.set() }
        try core.wait(timeout: timeout, topic: topic) { done.isSet }
    }

    /// Publishes without waiting for the acknowledgement, so up to `window` messages are in flight:
    /// returns once the message is handed to the network thread, after waiting (at most `timeout`
    /// seconds) for a free place in the window. `acknowledged` runs on the network thread when the
    /// broker's PUBACK arrives. Finish with `waitForAcknowledgements`.
    public func publishWindowed(topic: String, payload: [UInt8], qos: Int32 = 1, timeout: Double = 30,
                                acknowledged: (@Sendable () -> Void)? = nil) throws {
        try core.publish(topic: topic, payload: payload, qos: qos, window: window, timeout: timeout,
                         acknowledged: acknowledged)
    }

    /// Waits until every message published so far is acknowledged; throws `publishTimeout` when the
    /// broker acknowledged none for `timeout` seconds, or `connectionLost`.
    public func waitForAcknowledgements(timeout: Double = 30) throws {
        try core.waitForAcknowledgements(timeout: timeout)
    }

    /// Messages published and not yet acknowledged.
    public var unacknowledgedCount: Int { core.lock.withLock { core.inFlight } }

    /// Subscribes to `topicFilter` (MQTT wildcards `+` and `#` allowed) and returns once the broker granted
    /// it (SUBACK). `handler` runs on the network thread for every matching message, in arrival order;
    /// with QoS 1 the broker may deliver a message more than once.
    public func subscribe(_ topicFilter: String, qos: Int32 = 1, timeout: Double = 10,
                          handler: @escaping MessageHandler) throws {
        try core.subscribe(topicFilter, qos: qos, timeout: timeout, handler: handler)
    }

    /// Why the connection ended, once it broke (nil while connected and after a clean `disconnect`).
    public var connectionFailure: MQTTError? { core.lock.withLock { core.failure } }

    /// True until the connection breaks or `disconnect` is called.
    public var isConnected: Bool { core.lock.withLock { core.connected && core.failure == nil } }

    /// Sends DISCONNECT, stops the network thread and frees the connection. Messages not acknowledged yet
    /// are abandoned: call `waitForAcknowledgements` first. Safe to call twice.
    public func disconnect(timeout: Double = 5) {
        core.close(timeout: timeout)
    }

    /// `mosquitto_lib_init` once per process; SIGPIPE ignored (a TLS write to a closed socket would
    /// otherwise kill the process).
    private static let libraryInitialized: Bool = {
        signal(SIGPIPE, SIG_IGN)
        return mosquitto_lib_init() == MOSQ_ERR_SUCCESS.rawValue
    }()

    static func initializeLibrary() { _ = libraryInitialized }
}

/// A one-shot flag shared with a callback.
private final class Flag: @unchecked Sendable {
    private let lock = ConditionLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// The state libmosquitto's callbacks reach through their user-data pointer.
private final class Core: @unchecked Sendable {
    let lock = ConditionLock()
    private var handle: OpaquePointer?
    let broker: Broker
    let tls: MQTTClient.TLSFiles?
    typealias Broker = MQTTClient.Broker

    // Guarded by `lock`.
    var connected = false
    var connack: Int32?
    var failure: MQTTError?
    var inFlight = 0
    private struct Pending { let acknowledged: (@Sendable () -> Void)? }
    private var pending: [Int32: Pending] = [:]
    private var earlyAcks: Set<Int32> = []
    private var subacks: [Int32: [Int32]] = [:]
    private var handlers: [(filter: String, handler: MQTTClient.MessageHandler)] = []
    private var errorLog: [String] = []
    private var loopRunning = false
    private var stopRequested = false
    private var forceStop = false
    private var closed = false

    init(handle: OpaquePointer, broker: Broker, tls: MQTTClient.TLSFiles?) {
        self.handle = handle
        self.broker = broker
        self.tls = tls
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
    }

    private static func from(_ pointer: UnsafeMutableRawPointer?) -> Core {
        Unmanaged<Core>.fromOpaque(pointer!).takeUnretainedValue()
    }

    func configure(window: Int) throws {
        guard let handle else { throw MQTTError.notConnected }
        mosquitto_connect_callback_set(handle) { _, context, code in Core.from(context).connectAnswered(code) }
        mosquitto_publish_callback_set(handle) { _, context, mid in Core.from(context).acknowledged(mid) }
        mosquitto_subscribe_callback_set(handle) { _, context, mid, count, granted in
            Core.from(context).subscribed(mid, Array(UnsafeBufferPointer(start: granted, count: Int(count))))
        }
        mosquitto_message_callback_set(handle) { _, context, message in
            guard let message = message?.pointee, let topic = message.topic else { return }
            let payload = message.payloadlen > 0 && message.payload != nil
                ? Array(UnsafeRawBufferPointer(start: message.payload, count: Int(message.payloadlen))) : []
            Core.from(context).received(String(cString: topic), payload)
        }
        mosquitto_log_callback_set(handle) { _, context, level, text in
            // MOSQ_LOG_ERR | MOSQ_LOG_WARNING: what explains a failure (OpenSSL's errors among them).
            guard level & 0x0C != 0, let text else { return }
            Core.from(context).logged(String(cString: text))
        }
        try check("mosquitto_max_inflight_messages_set", mosquitto_max_inflight_messages_set(handle, UInt32(window)))
        try check("mosquitto_threaded_set", mosquitto_threaded_set(handle, true))
        // Small packets go out at once: with Nagle's algorithm the last piece of a window waits for the
        // broker's delayed TCP ACK (40 ms on Linux) before it is sent.
        try check("mosquitto_int_option(TCP_NODELAY)", mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1))
        if let tls {
            let capath: String? = tls.caFile == nil ? "/etc/ssl/certs" : nil
            let code = mosquitto_tls_set(handle, tls.caFile, capath, tls.certificateFile, tls.keyFile, nil)
            guard code == MOSQ_ERR_SUCCESS.rawValue else {
                throw MQTTError.tls(broker: broker.description, reason: "the TLS files were refused: \(Self.text(code))")
            }
            // Verify the broker's certificate and that it names the host (the default, made explicit).
            try check("mosquitto_tls_opts_set", mosquitto_tls_opts_set(handle, 1, nil, nil))
        }
    }

    // MARK: connecting

    func connect(keepAlive: Int, timeout: Double) throws {
        guard let handle else { throw MQTTError.notConnected }
        try probe(timeout: timeout)
        errno = 0
        let code = mosquitto_connect(handle, broker.host, Int32(broker.port), Int32(keepAlive))
        let savedErrno = errno
        if code != MOSQ_ERR_SUCCESS.rawValue {
            throw connectFailure(code, errnoValue: savedErrno)
        }
        lock.withLock { loopRunning = true }
        startThread { [self] in runLoop() }
        try lock.withLock {
            let answered = lock.wait(until: deadline(after: timeout)) { connack != nil || failure != nil }
            if let connack, connack != 0 { throw refusal(connack) }
            if let failure { throw failure }
            guard answered, connack == 0 else {
                throw MQTTError.connectTimeout(broker: broker.description, seconds: timeout)
            }
        }
    }

    /// A TCP connection attempt with a timeout, so an unreachable broker fails in `timeout` seconds with
    /// the reason (libmosquitto's own connect would block for the kernel's minutes).
    private func probe(timeout: Double) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(broker.host, String(broker.port), &hints, &list)
        guard status == 0, let list else {
            throw MQTTError.unreachable(broker: broker.description,
                                        reason: "cannot resolve \(broker.host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        let limit = deadline(after: timeout)
        var reason = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let info = entry?.pointee {
            entry = info.ai_next
            let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), info.ai_protocol)
            guard fd >= 0 else { reason = errnoText(); continue }
            defer { Glibc.close(fd) }
            if Glibc.connect(fd, info.ai_addr, info.ai_addrlen) == 0 { return }
            guard errno == EINPROGRESS else { reason = errnoText().lowercased(); continue }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let left = limit > monotonicNanoseconds() ? Int32((limit - monotonicNanoseconds()) / 1_000_000) : 0
            let ready = poll(&poller, 1, max(left, 1))
            guard ready > 0 else {
                reason = "no answer within \(formatSeconds(timeout)) s (a firewall, or the wrong address?)"
                continue
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == 0 { return }
            reason = String(cString: strerror(error)).lowercased()
        }
        throw MQTTError.unreachable(broker: broker.description, reason: reason)
    }

    private func connectFailure(_ code: Int32, errnoValue: Int32) -> MQTTError {
        if code == MOSQ_ERR_ERRNO.rawValue {
            return .unreachable(broker: broker.description, reason: String(cString: strerror(errnoValue)).lowercased())
        }
        if code == MOSQ_ERR_EAI.rawValue || code == MOSQ_ERR_LOOKUP.rawValue {
            return .unreachable(broker: broker.description, reason: "cannot resolve \(broker.host)")
        }
        if code == MOSQ_ERR_TLS.rawValue || code == MOSQ_ERR_TLS_HANDSHAKE.rawValue {
            return lostBeforeAccepted(code)
        }
        return .library(call: "mosquitto_connect", code: code, reason: Self.text(code))
    }

    /// The broker answered CONNACK with a non-zero code.
    private func refusal(_ code: Int32) -> MQTTError {
        let reason = "\(String(cString: mosquitto_connack_string(code))) (CONNACK \(code))"
        let hint = switch code {
        case 1: "the broker does not speak MQTT 3.1.1"
        case 2: "the client id was rejected: pick another (AWS IoT policies often require the thing name)"
        case 3: "the broker is unavailable; try again later"
        case 4: "check the user name and password"
        default: tls?.certificateFile != nil ? "check the certificate, key and policy"
            : "the broker wants credentials (for AWS IoT: a device certificate and key)"
        }
        return .refused(broker: broker.description, reason: reason, hint: hint)
    }

    /// The connection ended before CONNACK: a TLS problem on our side, or the broker closing the door
    /// (AWS IoT Core closes the connection for an unknown certificate or a policy without iot:Connect).
    private func lostBeforeAccepted(_ code: Int32) -> MQTTError {
        let log = lock.withLock { errorLog }
        let openSSL = log.filter { $0.contains("OpenSSL") || $0.contains("SSL") }.map(Self.shortOpenSSL)
        let detail = openSSL.last ?? log.last ?? Self.text(code)
        let all = log.joined(separator: " ").lowercased()
        if all.contains("certificate verify failed") {
            let against = tls?.caFile.map { "the CA file \($0)" } ?? "the system's CA certificates"
            return .tls(broker: broker.description, reason: "the broker's certificate did not verify against \(against) "
                + "(\(detail)); for AWS IoT Core use AmazonRootCA1.pem")
        }
        if all.contains("unable to load") || all.contains("key values mismatch") || all.contains("private key") {
            return .tls(broker: broker.description, reason: "\(detail): check that the key belongs to the certificate")
        }
        guard let tls else {
            return .refused(broker: broker.description, reason: "it closed the connection before answering CONNECT "
                + "(\(Self.text(code)))", hint: "check the broker's log; is it an MQTT port, or does it want TLS (mqtts://)?")
        }
        let hint = tls.certificateFile != nil ? "check the certificate, key and policy"
            : all.contains("certificate required") ? "the broker requires a client certificate and its key"
            : "is it a TLS port, and does the broker want a client certificate and key?"
        return .refused(broker: broker.description, reason: "it closed the connection during TLS or before CONNACK (\(detail))",
                        hint: hint)
    }

    /// "OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca" → "tlsv1 alert unknown ca".
    private static func shortOpenSSL(_ line: String) -> String {
        line.split(separator: "::").last.map(String.init) ?? line
    }

    private func runLoop() {
        var code = MOSQ_ERR_SUCCESS.rawValue
        while true {
            let (stop, handle) = lock.withLock { (forceStop, self.handle) }
            guard !stop, let handle else { break }
            code = mosquitto_loop(handle, 100, 1)
            if code != MOSQ_ERR_SUCCESS.rawValue { break }
        }
        let (answer, wanted) = lock.withLock { (connack, stopRequested) }
        var error: MQTTError?
        if !wanted {
            switch answer {
            case 0?: error = .connectionLost(broker: broker.description, reason: lostReason(code))
            case nil: error = lostBeforeAccepted(code)
            default: break  // refused with a CONNACK code: connect() reports that
            }
        }
        lock.withLock {
            connected = false
            loopRunning = false
            if failure == nil, let error { failure = error }
        }
        lock.broadcast()
    }

    private func lostReason(_ code: Int32) -> String {
        let last = lock.withLock { errorLog.last }
        let reason = code == MOSQ_ERR_CONN_LOST.rawValue ? "the broker closed it, or the network dropped it"
            : code == MOSQ_ERR_KEEPALIVE.rawValue ? "no answer to keep-alive pings" : Self.text(code)
        return reason + (last.map { " (\($0))" } ?? "")
    }

    // MARK: callbacks (network thread)

    private func connectAnswered(_ code: Int32) {
        lock.withLock {
            connack = code
            connected = code == 0
        }
        lock.broadcast()
    }

    private func acknowledged(_ mid: Int32) {
        let entry: Pending? = lock.withLock {
            guard let entry = pending.removeValue(forKey: mid) else {
                earlyAcks.insert(mid)  // publish() has not recorded its mid yet: it finds it here
                return nil
            }
            inFlight -= 1
            return entry
        }
        entry?.acknowledged?()
        lock.broadcast()
    }

    private func subscribed(_ mid: Int32, _ granted: [Int32]) {
        lock.withLock { subacks[mid] = granted }
        lock.broadcast()
    }

    private func received(_ topic: String, _ payload: [UInt8]) {
        let matching = lock.withLock { handlers }.filter { entry in
            var matches = false
            return mosquitto_topic_matches_sub(entry.filter, topic, &matches) == MOSQ_ERR_SUCCESS.rawValue && matches
        }
        for entry in matching { entry.handler(topic, payload) }
    }

    private func logged(_ line: String) {
        lock.withLock {
            errorLog.append(line)
            if errorLog.count > 16 { errorLog.removeFirst(errorLog.count - 16) }
        }
    }

    // MARK: publishing

    func publish(topic: String, payload: [UInt8], qos: Int32, window: Int, timeout: Double,
                 acknowledged: (@Sendable () -> Void)?) throws {
        let handle: OpaquePointer = try lock.withLock {
            let free = lock.wait(until: deadline(after: timeout)) { inFlight < window || failure != nil || closed }
            if let failure { throw failure }
            guard !closed, let handle = self.handle else { throw MQTTError.notConnected }
            guard free else {
                throw MQTTError.publishTimeout(broker: broker.description, topic: topic, seconds: timeout,
                                               unacknowledged: inFlight)
            }
            inFlight += 1
            return handle
        }
        var mid: Int32 = 0
        let code = payload.withUnsafeBytes { bytes in
            mosquitto_publish(handle, &mid, topic, Int32(bytes.count), bytes.baseAddress, qos, false)
        }
        let callNow: Bool = lock.withLock {
            guard code == MOSQ_ERR_SUCCESS.rawValue else {
                inFlight -= 1
                return false
            }
            if earlyAcks.remove(mid) != nil {
                inFlight -= 1
                return true
            }
            pending[mid] = Pending(acknowledged: acknowledged)
            return false
        }
        guard code == MOSQ_ERR_SUCCESS.rawValue else {
            lock.broadcast()
            if let failure = lock.withLock({ failure }) { throw failure }
            if code == MOSQ_ERR_NO_CONN.rawValue || code == MOSQ_ERR_CONN_LOST.rawValue {
                throw MQTTError.connectionLost(broker: broker.description, reason: Self.text(code))
            }
            throw MQTTError.library(call: "mosquitto_publish to \(topic) (\(payload.count) bytes)", code: code,
                                    reason: Self.text(code))
        }
        if callNow {
            acknowledged?()
            lock.broadcast()
        }
    }

    /// Waits until `ready` (read under the lock); failures and timeouts as errors.
    func wait(timeout: Double, topic: String, _ ready: () -> Bool) throws {
        try lock.withLock {
            let done = lock.wait(until: deadline(after: timeout)) { ready() || failure != nil || closed }
            if ready() { return }
            if let failure { throw failure }
            guard done else {
                throw MQTTError.publishTimeout(broker: broker.description, topic: topic, seconds: timeout,
                                               unacknowledged: inFlight)
            }
            throw MQTTError.notConnected
        }
    }

    func waitForAcknowledgements(timeout: Double) throws {
        // The timeout runs from the last acknowledgement: a long queue drains as long as the broker answers.
        while true {
            let before = lock.withLock { inFlight }
            if before == 0 { return }
            do {
                try wait(timeout: timeout, topic: "(any)") { self.inFlight < before }
            } catch let MQTTError.publishTimeout(broker, _, seconds, unacknowledged) {
                throw MQTTError.publishTimeout(broker: broker, topic: "the topic", seconds: seconds,
                                               unacknowledged: unacknowledged)
            }
        }
    }

    // MARK: subscribing

    func subscribe(_ filter: String, qos: Int32, timeout: Double, handler: @escaping MQTTClient.MessageHandler) throws {
        let handle: OpaquePointer = try lock.withLock {
            if let failure { throw failure }
            guard !closed, let handle = self.handle else { throw MQTTError.notConnected }
            handlers.append((filter, handler))
            return handle
        }
        var mid: Int32 = 0
        let code = mosquitto_subscribe(handle, &mid, filter, qos)
        guard code == MOSQ_ERR_SUCCESS.rawValue else {
            lock.withLock { handlers.removeAll { $0.filter == filter } }
            throw MQTTError.subscribeFailed(broker: broker.description, filter: filter, reason: Self.text(code))
        }
        try lock.withLock {
            let answered = lock.wait(until: deadline(after: timeout)) { subacks[mid] != nil || failure != nil }
            if let failure { throw failure }
            guard answered, let granted = subacks.removeValue(forKey: mid) else {
                throw MQTTError.subscribeFailed(broker: broker.description, filter: filter,
                                                reason: "no SUBACK within \(formatSeconds(timeout)) s")
            }
            guard let first = granted.first, first != 0x80 else {
                handlers.removeAll { $0.filter == filter }
                throw MQTTError.subscribeFailed(broker: broker.description, filter: filter,
                                                reason: "refused (SUBACK 0x80): not authorised, or an invalid filter")
            }
        }
    }

    // MARK: closing

    func close(timeout: Double) {
        let (handle, running): (OpaquePointer?, Bool) = lock.withLock {
            guard !closed else { return (nil, false) }
            closed = true
            stopRequested = true
            return (self.handle, loopRunning)
        }
        guard let handle else { return }
        lock.broadcast()
        if running {
            mosquitto_disconnect(handle)
            let ended = lock.withLock { lock.wait(until: deadline(after: timeout)) { !loopRunning } }
            if !ended {
                lock.withLock { forceStop = true }
                _ = lock.withLock { lock.wait(until: deadline(after: 2)) { !loopRunning } }
            }
        }
        let stillRunning = lock.withLock { loopRunning }
        lock.withLock { self.handle = nil }
        // A loop thread that did not stop (stuck in a blocking call) keeps the handle: leak it rather than
        // free memory in use.
        if !stillRunning { mosquitto_destroy(handle) }
    }

    // MARK: helpers

    func check(_ call: String, _ code: Int32) throws {
        guard code == MOSQ_ERR_SUCCESS.rawValue else { throw MQTTError.library(call: call, code: code, reason: Self.text(code)) }
    }

    /// libmosquitto's text for an error code, as a clause: "the connection was lost".
    static func text(_ code: Int32) -> String {
        var text = String(cString: mosquitto_strerror(code))
        if text.hasSuffix(".") { text.removeLast() }
        guard let first = text.first, first.isUppercase, text.dropFirst().first?.isLowercase ?? false else { return text }
        return first.lowercased() + text.dropFirst()
    }
}
