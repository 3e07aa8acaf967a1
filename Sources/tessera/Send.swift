import ArgumentParser
import Glibc
import TesseraAWS
import TesseraEvents
import TesseraImaging
import TesseraPictures
import TesseraSupport
import TesseraLocal

/// `tessera send`: what a device does. Cuts a JPEG into IoT piece messages (DESIGN.md) and publishes them
/// with QoS 1 to its own topic, `<prefix>/<machine id>`, on an MQTT broker: AWS IoT Core (mqtts, device
/// certificate) or the local stack's mosquitto. The policy there lets a device publish only to the topic
/// of the thing it connected as (its client id), and piece-storage takes the machine id from that topic.
/// `--direct` skips MQTT and hands the messages straight to a piece-storage binary through a local Lambda
/// Runtime API, as the IoT rule would invoke it (what scripts/demo does).
struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a photo as a device does: IoT piece messages over MQTT.",
        discussion: """
            Publishes pieces 1..N with QoS 1 (up to --window unacknowledged at a time) to \
            <topic prefix>/<machine id>, then END with the piece count, the file's SHA-256 and its content \
            type. The machine id is the device's thing name: the broker lets a device publish only to its \
            own topic (client id = thing name), and piece-storage refuses a machine_id other than the topic's. Acknowledged pieces are recorded in a \
            state file as they are acknowledged, so an interrupted send continues with --resume.

            AWS IoT Core: --broker mqtts://<prefix>-ats.iot.<region>.amazonaws.com:8883 \
            --cert device.pem.crt --key private.pem.key --ca AmazonRootCA1.pem
            Local broker: --broker mqtt://127.0.0.1:1883
            Without --broker (or with --direct): straight to a local piece-storage binary, no MQTT.
            """)

    /// template.yaml's `PiecesTopic` default: devices publish to `<it>/<thing name>`.
    static let defaultTopicPrefix = "tessera/pieces"
    static let defaultPieceBytes = 65_536
    static let directPieceBytes = 8192

    @Argument(help: "The JPEG to send.")
    var photo: String

    @Option(help: ArgumentHelp("The MQTT broker: mqtt://HOST:PORT (plain TCP) or mqtts://HOST:PORT (TLS).",
                               valueName: "url"))
    var broker: String?

    @Option(help: ArgumentHelp("The device certificate (PEM), for mqtts.", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("The device's private key (PEM), for mqtts.", valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("The CA certificate(s) the broker's certificate must chain to (AWS IoT Core: "
                               + "AmazonRootCA1.pem); default: the system's.", valueName: "file"))
    var ca: String?

    @Option(help: "The device's id (machine_id): its thing name, the last level of its topic and its client id.")
    var machineId = "cam-1"

    @Option(help: "The picture's name (label); default: the file name without extension.")
    var label: String?

    @Option(help: ArgumentHelp("The topic prefix (template.yaml's PiecesTopic): messages go to <prefix>/<machine-id>.",
                               valueName: "prefix"))
    var topicPrefix = Send.defaultTopicPrefix

    @Option(help: ArgumentHelp("The MQTT client id; default: the machine id (the stack's policy lets a device connect "
                               + "only as its thing name, and publish only to that thing's topic)."))
    var clientId: String?

    /// Where the messages go: the device's own topic.
    var topic: String { "\(topicPrefix)/\(machineId)" }

    @Option(help: ArgumentHelp("Bytes per piece: 1 to \(IoTPieceMessage.maxPieceBytesCeiling), so a message fits "
                               + "IoT Core's 128 KB (default \(Send.defaultPieceBytes); \(Send.directPieceBytes) "
                               + "with --direct).", valueName: "n"))
    var pieceBytes: Int?

    @Option(help: "QoS 1 messages in flight unacknowledged at a time.")
    var window = 20

    @Option(help: "Seconds to wait for each acknowledgement (and up to 10 for connecting).")
    var timeout: Double = 30

    @Option(help: "MQTT keep-alive in seconds (AWS IoT Core: 30 to 1200).")
    var keepAlive = 60

    @Flag(help: "Send only what an interrupted send of the same file did not get acknowledged, then END.")
    var resume = false

    @Option(help: ArgumentHelp("The state file --resume reads; default .local/send/<machine-id>-<label>.json.",
                               valueName: "file"))
    var state: String?

    @Flag(help: "Send the pieces in random order, one of them twice (IoT rules deliver at least once).")
    var shuffle = false

    @Option(help: ArgumentHelp("Stop after this many pieces are acknowledged, without END, as a device that stops "
                               + "mid-photo (exit status 3; --resume sends the rest).", valueName: "n"))
    var stopAfter: Int?

    @Flag(help: "No MQTT: deliver to a piece-storage binary through a local Lambda Runtime API (scripts/demo).")
    var direct = false

    @Option(help: "With --direct: the piece-storage binary; default: the one built beside this tool.")
    var function: String?

    func validate() throws {
        if let pieceBytes, !(1...IoTPieceMessage.maxPieceBytesCeiling).contains(pieceBytes) {
            throw ValidationError("--piece-bytes must be 1 to \(IoTPieceMessage.maxPieceBytesCeiling) (a piece's base64 "
                + "and JSON must fit one 128 KB IoT Core message), got \(pieceBytes)")
        }
        guard (1...1000).contains(window) else { throw ValidationError("--window must be 1 to 1000, got \(window)") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard (0...65535).contains(keepAlive) else { throw ValidationError("--keep-alive must be 0 to 65535") }
        if let stopAfter, stopAfter < 1 || direct { throw ValidationError("--stop-after takes a positive count, and goes with --broker") }
        let levels = topicPrefix.split(separator: "/", omittingEmptySubsequences: false)
        guard !topicPrefix.isEmpty, !levels.contains(where: \.isEmpty), !topicPrefix.contains("+"), !topicPrefix.contains("#") else {
            throw ValidationError("--topic-prefix must be topic levels without wildcards or empty levels (like "
                + "\(Send.defaultTopicPrefix)), got \"\(topicPrefix)\"")
        }
        if direct {
            guard broker == nil, cert == nil, key == nil, ca == nil, !resume else {
                throw ValidationError("--direct delivers without MQTT: it takes none of --broker, --cert, --key, --ca, --resume")
            }
        } else {
            guard function == nil else { throw ValidationError("--function goes with --direct") }
            if broker == nil, cert != nil || key != nil || ca != nil || resume {
                throw ValidationError("--cert, --key, --ca and --resume need --broker")
            }
            guard (cert == nil) == (key == nil) else {
                throw ValidationError("--cert and --key go together: the device certificate and its private key")
            }
            if let broker, !broker.lowercased().hasPrefix("mqtts://"), cert != nil || ca != nil {
                throw ValidationError("--cert, --key and --ca are for TLS: use --broker mqtts://HOST:PORT")
            }
        }
    }

    func run() throws {
        do {
            let bytes = try Self.loadJPEG(photo)
            let name = label ?? Self.stem(photo)
            try Self.checkIdentifier(machineId, "--machine-id")
            try Self.checkIdentifier(name, label == nil ? "the label (from the file name; pass --label)" : "--label")
            if let broker, !direct {
                try sendOverMQTT(bytes, label: name, broker: broker)
            } else {
                if !direct {
                    printError("tessera send: no --broker: delivering straight to piece-storage through a local Runtime "
                        + "API, as --direct does (pass --broker mqtt://HOST:PORT to publish over MQTT)")
                }
                try sendDirect(bytes, label: name)
            }
        } catch let failure as SendFailure {
            printError("tessera send: \(failure.message)")
            throw ExitCode(1)
        }
    }

    // MARK: MQTT

    func sendOverMQTT(_ bytes: [UInt8], label: String, broker url: String) throws {
        do { _ = try MQTTClient.Broker(parsing: url) } catch { throw SendFailure("\(error)") }
        let sha256 = hexString(SHA256.hash(bytes))
        let statePath = state ?? ".local/send/\(machineId)-\(label).json"
        var acknowledgedBefore: Set<Int> = []
        var size = pieceBytes ?? Self.defaultPieceBytes
        if resume {
            if let saved = try SendState.load(statePath) {
                guard saved.sha256 == sha256 else {
                    throw SendFailure("\(photo) changed since the interrupted send recorded in \(statePath) (SHA-256 "
                        + "\(saved.sha256.prefix(12))… then, \(sha256.prefix(12))… now): send it without --resume to start "
                        + "over, or under another --label")
                }
                guard saved.machineId == machineId, saved.label == label, saved.topic == topic else {
                    throw SendFailure("\(statePath) records a send as \(saved.machineId)/\(saved.label) to \(saved.topic), "
                        + "not \(machineId)/\(label) to \(topic): resume with the same --machine-id, --label and --topic-prefix")
                }
                if let pieceBytes, pieceBytes != saved.pieceBytes {
                    throw SendFailure("the interrupted send cut \(photo) in pieces of \(saved.pieceBytes) bytes: resume "
                        + "with --piece-bytes \(saved.pieceBytes), or leave it out")
                }
                size = saved.pieceBytes
                acknowledgedBefore = saved.acknowledged
            } else {
                say("no interrupted send recorded in \(statePath): sending every piece")
            }
        }
        // The messages IoTPieceMessage.split would make, each piece's JSON built when it is sent (and the
        // SHA-256, already computed, not computed twice).
        let total = max(1, (bytes.count + size - 1) / size)
        func piece(_ index: Int) -> IoTPieceMessage {
            .piece(machineId: machineId, label: label, index: index,
                   data: Array(bytes[(index - 1) * size..<min(index * size, bytes.count)]))
        }
        let end = IoTPieceMessage.end(machineId: machineId, label: label, total: total, sha256: sha256,
                                      contentType: "image/jpeg")
        acknowledgedBefore = acknowledgedBefore.filter { (1...total).contains($0) }
        if total > 1000 {
            printError("tessera send: warning: \(total) pieces; piece-storage refuses more than MAX_PIECES (1000 by "
                + "default): raise --piece-bytes or MAX_PIECES")
        }
        func pieceSize(_ index: Int) -> Int { index < total ? size : bytes.count - (total - 1) * size }

        var order = (1...total).filter { !acknowledgedBefore.contains($0) }
        if shuffle, order.count > 1 {
            order.shuffle()
            order.insert(order[0], at: order.count / 2)
        }
        let acks = AckTracker(acknowledgedBefore, pieceSize: pieceSize)

        say("sending \(photo) (\(SendProgress.size(bytes.count)), SHA-256 \(sha256.prefix(16))…) as \(machineId)/\(label): "
            + "\(total) piece\(total == 1 ? "" : "s") of up to \(size) bytes + END to \(url) topic \(topic)")
        if resume, !acknowledgedBefore.isEmpty {
            say("resuming: \(acknowledgedBefore.count) of \(total) pieces were acknowledged before; sending the other "
                + "\(total - acknowledgedBefore.count) and END")
        }

        if let clientId, clientId != machineId {
            printError("tessera send: warning: client id \(clientId) is not the machine id \(machineId): a broker that "
                + "enforces the stack's device policy lets \(clientId) publish only to \(topicPrefix)/\(clientId), so "
                + "messages to \(topic) are refused (the local mosquitto drops them after acknowledging them)")
        }
        let tls: MQTTClient.TLSFiles? = url.lowercased().hasPrefix("mqtts://")
            ? MQTTClient.TLSFiles(caFile: ca, certificateFile: cert, keyFile: key) : nil
        let client: MQTTClient
        do {
            client = try MQTTClient(broker: url, clientId: clientId ?? machineId, tls: tls, keepAlive: keepAlive,
                                    connectTimeout: min(timeout, 10), window: window)
        } catch let error as MQTTError {
            throw SendFailure("\(error)")
        }
        defer { client.disconnect() }
        // Connected: from now on the state records the acknowledgements (a refused connection leaves an
        // earlier state as it was).
        var saved = SendState(photo: photo, sha256: sha256, machineId: machineId, label: label, topic: topic,
                              pieceBytes: size, pieces: total, acknowledged: acknowledgedBefore)
        try saveState(&saved, acks, statePath)

        let progress = SendProgress(totalPieces: total, totalBytes: bytes.count, alreadyPieces: acknowledgedBefore.count,
                                    alreadyBytes: acknowledgedBefore.reduce(0) { $0 + pieceSize($1) })
        // The state follows the acknowledgements: rewritten when there are new ones, at most every 20 ms and
        // at most a tenth of the time (a state of many pieces takes longer to write).
        var lastSave = monotonicNanoseconds(), saveCost: UInt64 = 0, savedCount = acknowledgedBefore.count
        do {
            for (position, index) in order.enumerated() {
                if let stopAfter, position >= stopAfter {
                    try client.waitForAcknowledgements(timeout: timeout)
                    try saveState(&saved, acks, statePath)
                    let (pieces, done) = acks.snapshot()
                    progress.endLine(pieces: pieces, bytes: done)
                    say("stopped after \(stopAfter) pieces as asked (--stop-after): \(pieces) of \(total) acknowledged, no END; "
                        + "the state is in \(statePath)")
                    throw ExitCode(3)
                }
                try client.publishWindowed(topic: topic, payload: Array(piece(index).json.utf8), qos: 1,
                                           timeout: timeout) { acks.acknowledge(index) }
                let (pieces, done) = acks.snapshot()
                progress.update(pieces: pieces, bytes: done)
                let now = monotonicNanoseconds()
                if pieces != savedCount, now - lastSave >= max(20_000_000, 10 * saveCost) {
                    try saveState(&saved, acks, statePath)
                    lastSave = monotonicNanoseconds()
                    saveCost = lastSave - now
                    savedCount = pieces
                }
            }
            try client.waitForAcknowledgements(timeout: timeout)
            let (pieces, done) = acks.snapshot()
            progress.update(pieces: pieces, bytes: done)
            try saveState(&saved, acks, statePath)
            try client.publish(topic: topic, payload: Array(end.json.utf8), qos: 1, timeout: timeout)
        } catch let error as MQTTError {
            let (pieces, done) = acks.snapshot()
            progress.endLine(pieces: pieces, bytes: done)
            try? saveState(&saved, acks, statePath)
            throw SendFailure("\(error)\n  \(pieces) of \(total) pieces acknowledged, END not acknowledged; the state is in "
                + "\(statePath): run the same command with --resume to send the rest")
        }
        let (pieces, done) = acks.snapshot()
        progress.endLine(pieces: pieces, bytes: done)
        _ = unlink(statePath)
        let sent = Set(order).count
        say("sent \(photo) as \(machineId)/\(label): \(sent) piece\(sent == 1 ? "" : "s")"
            + (sent == total ? "" : " (of \(total))") + (order.count > sent ? " (one twice)" : "")
            + " + END acknowledged by \(url) in "
            + "\(SendProgress.seconds(progress.elapsedSeconds)) (\(SendProgress.rate(progress.rate(bytes: done))))")
    }

    private func saveState(_ state: inout SendState, _ acks: AckTracker, _ path: String) throws {
        state.acknowledged = acks.acknowledged
        guard state.write(to: path) else {
            throw SendFailure("cannot write the resume state \(path): \(String(cString: strerror(errno)))")
        }
    }

    // MARK: direct (no MQTT)

    /// The messages handed straight to a piece-storage child through the local Runtime API, one invocation
    /// each, as the IoT rule would invoke it.
    func sendDirect(_ bytes: [UInt8], label name: String) throws {
        var messages = IoTPieceMessage.split(bytes, machineId: machineId, label: name,
                                             pieceBytes: pieceBytes ?? Self.directPieceBytes)
        let pieceCount = messages.count - 1
        if shuffle, messages.count > 2 {
            let end = messages.removeLast()
            messages.shuffle()
            messages.insert(messages[0], at: messages.count / 2)
            messages.append(end)
        }
        let binary = function ?? siblingExecutable("piece-storage")
        let api = try LocalRuntimeAPI(functionARN: "arn:aws:lambda:us-east-1:123456789012:function:piece-storage")
        defer { api.stop() }
        var environment = Environment.process().values
        environment["AWS_LAMBDA_RUNTIME_API"] = api.endpoint
        let child = try ChildProcess([binary], environment: environment)
        defer { child.terminate() }

        say("sending \(photo) (\(bytes.count) bytes) as \(machineId)/\(name) in \(pieceCount) pieces")
        var failures = 0
        for message in messages {
            let what: String
            switch message {
            case let .piece(_, _, index, data): what = "piece \(index) (\(data.count) bytes)"
            case let .end(_, _, total, _, _): what = "END (\(total) pieces)"
            }
            // What the IoT rule makes of the message on the device's own topic: `thing` is the machine id.
            switch api.invoke(Array(message.event(thing: machineId).utf8), timeout: 30) {
            case let .response(body)?:
                say("  \(what): \(String(decoding: body, as: UTF8.self))")
            case let .error(type, message, _)?:
                failures += 1
                say("  \(what): ERROR \(type): \(message)")
            case nil:
                throw ValidationError("piece-storage did not answer within 30 s; is it running? \(child.log)")
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    // MARK: input

    /// The file's bytes, when it is a whole JPEG (FF D8 ... FF D9).
    static func loadJPEG(_ path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SendFailure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw SendFailure("\(path) is not a file") }
        guard let bytes = readFile(path) else {
            throw SendFailure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else {
            throw SendFailure("\(path) is not a JPEG: it does not start with FF D8 (\(bytes.isEmpty ? "the file is empty" : "its format: \(ImageFormat.sniff(bytes))"))")
        }
        guard bytes[bytes.count - 2] == 0xFF, bytes[bytes.count - 1] == 0xD9 else {
            throw SendFailure("\(path) is not a whole JPEG: it does not end with FF D9 (truncated, or data after the image)")
        }
        return bytes
    }

    /// The file name without its directory and extension.
    static func stem(_ path: String) -> String {
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        return String(fileName.prefix { $0 != "." })
    }

    /// machine_id and label become S3 key parts: DESIGN.md's rule, checked before anything is sent.
    static func checkIdentifier(_ value: String, _ what: String) throws {
        let allowed = value.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
                || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
        guard (1...128).contains(value.utf8.count), allowed, !value.hasPrefix(".") else {
            throw SendFailure("\(what) \(IoTPieceMessage.identifierRule), got \"\(value)\"")
        }
    }
}

/// A failure `tessera send` reports in one message and exit status 1, without the usage text.
struct SendFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// The pieces the broker acknowledged, filled on the MQTT network thread.
final class AckTracker: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var pieces: Set<Int>
    private var bytes: Int
    private let pieceSize: (Int) -> Int

    init(_ already: Set<Int>, pieceSize: @escaping (Int) -> Int) {
        pthread_mutex_init(mutex, nil)
        pieces = already
        bytes = already.reduce(0) { $0 + pieceSize($1) }
        self.pieceSize = pieceSize
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    func acknowledge(_ index: Int) {
        locked {
            if pieces.insert(index).inserted { bytes += pieceSize(index) }
        }
    }

    /// Pieces and bytes acknowledged.
    func snapshot() -> (pieces: Int, bytes: Int) { locked { (pieces.count, bytes) } }

    var acknowledged: Set<Int> { locked { pieces } }
}

/// What `--resume` needs of an interrupted send: which file (its SHA-256), how it was cut, where it went,
/// and which pieces the broker acknowledged. JSON, rewritten (atomically) as acknowledgements arrive.
struct SendState {
    var photo: String
    var sha256: String
    var machineId: String
    var label: String
    var topic: String
    var pieceBytes: Int
    var pieces: Int
    var acknowledged: Set<Int>

    var json: String {
        "{\"photo\":\(jsonQuoted(photo)),\"sha256\":\"\(sha256)\",\"machine_id\":\(jsonQuoted(machineId)),"
            + "\"label\":\(jsonQuoted(label)),\"topic\":\(jsonQuoted(topic)),\"piece_bytes\":\(pieceBytes),"
            + "\"pieces\":\(pieces),\"acknowledged\":[\(acknowledged.sorted().map(String.init).joined(separator: ","))]}\n"
    }

    /// Writes to a temporary file and renames it over `path`, making its directory first.
    func write(to path: String) -> Bool {
        var directory = ""
        for (position, part) in path.split(separator: "/", omittingEmptySubsequences: false).dropLast().enumerated() {
            directory = position == 0 ? String(part) : directory + "/" + part
            if part.isEmpty || part == "." { continue }
            if mkdir(directory, 0o755) != 0, errno != EEXIST { return false }
        }
        let temporary = path + ".tmp"
        guard writeFile(temporary, Array(json.utf8)) else { return false }
        return rename(temporary, path) == 0
    }

    /// The state at `path`; nil when there is none; an error when it is unreadable or malformed.
    static func load(_ path: String) throws -> SendState? {
        guard access(path, F_OK) == 0 else { return nil }
        guard let bytes = readFile(path) else {
            throw SendFailure("cannot read the resume state \(path): \(String(cString: strerror(errno)))")
        }
        let malformed = SendFailure("the resume state \(path) is malformed: delete it and send without --resume")
        guard case let .object(fields)? = try? JSONValue.parse(bytes) else { throw malformed }
        func string(_ name: String) throws -> String {
            guard case let .string(value)? = fields[name] else { throw malformed }
            return value
        }
        func integer(_ name: String) throws -> Int {
            guard case let .integer(value)? = fields[name] else { throw malformed }
            return value
        }
        guard case let .array(list)? = fields["acknowledged"] else { throw malformed }
        var acknowledged = Set<Int>()
        for item in list {
            guard case let .integer(index) = item else { throw malformed }
            acknowledged.insert(index)
        }
        let state = SendState(photo: try string("photo"), sha256: try string("sha256"), machineId: try string("machine_id"),
                              label: try string("label"), topic: try string("topic"), pieceBytes: try integer("piece_bytes"),
                              pieces: try integer("pieces"), acknowledged: acknowledged)
        guard (1...IoTPieceMessage.maxPieceBytesCeiling).contains(state.pieceBytes) else { throw malformed }
        return state
    }
}

/// Prints a line at once, so it interleaves in order with the function's own log lines.
func say(_ line: String) {
    print(line)
    fflush(nil)
}

/// An executable built into the same folder as this one.
func siblingExecutable(_ name: String) -> String {
    var path = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &path, path.count - 1)
    let me = length > 0 ? String(decoding: path[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        : CommandLine.arguments[0]
    let directory = me.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    return directory + "/" + name
}
